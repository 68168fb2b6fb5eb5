"""The typing trace: a real source file typed back key by key, as an editor would send it.

The lines from ``type_from`` on are taken out of the document, then typed
back one character at a time (a line break brings the next line's
indentation, as an editor's auto-indent does). The default trace ships with
the package (``traces/``), so ``smalllsp bench`` works from an installed wheel.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lsprotocol import types

from smalllsp.documents import split_lines

TRACES = Path(__file__).resolve().parent / "traces"
DEFAULT_TRACE = TRACES / "typing_trace.py"


@dataclasses.dataclass(frozen=True)
class Keystroke:
    """The document after one keystroke, and where the cursor is."""

    text: str
    line: int
    column: int  # code points (the bench's traces are ASCII, so also UTF-16 units)
    change: types.TextDocumentContentChangePartial


def keystrokes(source: str, type_from: int, limit: int) -> tuple[str, list[Keystroke]]:
    """The starting document and the keystrokes that type its lines back from ``type_from``."""
    lines = split_lines(source)
    to_type = lines[type_from:]
    head = lines[:type_from]
    text = "\n".join(head + [""])
    line, column = type_from, 0
    strokes: list[Keystroke] = []

    def record(insert: str) -> None:
        nonlocal text, line, column
        lines_now = split_lines(text)
        offset = sum(len(l) + 1 for l in lines_now[:line]) + column
        text = text[:offset] + insert + text[offset:]
        start = types.Position(line, column)
        if "\n" in insert:
            line += insert.count("\n")
            column = len(insert.rsplit("\n", 1)[1])
        else:
            column += len(insert)
        strokes.append(
            Keystroke(
                text,
                line,
                column,
                types.TextDocumentContentChangePartial(
                    range=types.Range(start, start), text=insert
                ),
            )
        )

    for index, target in enumerate(to_type):
        indent = target[: len(target) - len(target.lstrip())]
        if index > 0:
            record("\n" + indent)
        elif indent:
            record(indent)
        for char in target[len(indent) :]:
            record(char)
            if len(strokes) >= limit:
                return "\n".join(head + [""]), strokes
        if len(strokes) >= limit:
            break
    return "\n".join(head + [""]), strokes[:limit]


def typing_trace(trace: Path, n: int, type_from: int | None) -> tuple[int, str, list[Keystroke]]:
    """The line typing starts from (default: two thirds in), the text before it, and ``n`` keystrokes."""
    source = trace.read_text(encoding="utf-8")
    lines = split_lines(source)
    start_line = type_from if type_from is not None else len(lines) * 2 // 3
    if not 0 <= start_line < len(lines):
        raise ValueError(f"--type-from {start_line} is outside {trace} ({len(lines)} lines)")
    start, strokes = keystrokes(source, start_line, n)
    return start_line, start, strokes
