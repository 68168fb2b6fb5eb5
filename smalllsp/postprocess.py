"""Turn what the model wrote into a suggestion: small filters, each tested alone.

Two kinds, as in Tabby's post-processing:

* **cutters** ``(text, shape) -> index | None`` say where a completion must
  end. They run while the model generates (the engine's stop predicate, so
  generation stops early) and once more at the end;
* **filters** ``(text, shape) -> text`` clean up the finished text.

A small model runs on: past the end of the function, into
``if __name__ == "__main__":``, then a code fence and prose. The cutters keep
a suggestion inside the block the cursor is in; the syntax filter drops the
lines that would leave the document with more syntax errors than it had.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Sequence

CLOSERS = ")]}"
OPENER_OF = {")": "(", "]": "[", "}": "{"}
_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Shape:
    """Where the completion goes, as the filters need to know it."""

    before: str  # cursor line up to the cursor (typed)
    after: str  # cursor line after the cursor
    below: Sequence[str] = ()  # a few lines after the cursor line
    max_lines: int = 8
    # Syntax errors of the window with ``text`` spliced in at the cursor, or
    # None when the language has no grammar.
    errors_with: Callable[[str], int | None] | None = None
    # Where ``text`` leaves the class or function enclosing the cursor
    # (syntax.scope.scope_cut), or None when the language has no grammar.
    scope_end: Callable[[str], int | None] | None = None
    # The cursor is in a string or a comment.
    in_string_or_comment: bool = False

    @property
    def single_line(self) -> bool:
        """Mid-line (code after the cursor), or in a string or comment: complete this line only."""
        return self.after.strip() != "" or self.in_string_or_comment


def indent_width(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


# -- cutters ----------------------------------------------------------------------------


def cut_single_line(text: str, shape: Shape) -> int | None:
    if shape.single_line and "\n" in text:
        return text.index("\n")
    return None


def cut_fence(text: str, shape: Shape) -> int | None:
    """A Markdown code fence starts prose: end before it."""
    full = shape.before + text
    match = _FENCE.search(full)
    if match is None:
        return None
    # End before the line break that leads to the fence.
    return max(match.start() - 1 - len(shape.before), 0)


def cut_max_lines(text: str, shape: Shape) -> int | None:
    start = 0
    for _ in range(shape.max_lines):
        newline = text.find("\n", start)
        if newline < 0:
            return None
        start = newline + 1
    return start - 1


def _lines_with_offsets(text: str):
    """(offset in ``text`` of the line's preceding newline, line) for lines after the first."""
    offset = text.find("\n")
    while offset >= 0:
        end = text.find("\n", offset + 1)
        yield offset, text[offset + 1 : end if end >= 0 else len(text)]
        offset = end


def _block_indent(text: str, shape: Shape) -> int | None:
    """Indentation of the first line with code: the block the completion is in."""
    first = shape.before + text.split("\n", 1)[0]
    if first.strip():
        return indent_width(first)
    for _offset, line in _lines_with_offsets(text):
        if line.strip():
            return indent_width(line)
    return None


def cut_dedent(text: str, shape: Shape) -> int | None:
    """A line indented less than the completion's block closes the block: end before it
    (llama.cpp's ``n_indent`` rule)."""
    block = _block_indent(text, shape)
    if block is None:
        return None
    for offset, line in _lines_with_offsets(text):
        if line.strip() and indent_width(line) < block:
            return offset
    return None


def cut_next_top_level(text: str, shape: Shape) -> int | None:
    """At the top level, a blank line then a new top-level statement starts the
    next definition (``if __name__ == ...``): end at the blank line."""
    if _block_indent(text, shape) != 0:
        return None
    seen_code = bool(shape.before.strip())
    blank_at: int | None = None
    first = text.split("\n", 1)[0]
    seen_code = seen_code or bool(first.strip())
    for offset, line in _lines_with_offsets(text):
        if not line.strip():
            if blank_at is None and seen_code:
                blank_at = offset
            continue
        if blank_at is not None and indent_width(line) == 0 and line.lstrip()[0] not in CLOSERS:
            return blank_at
        blank_at = None
        seen_code = True
    return None


def cut_scope_end(text: str, shape: Shape) -> int | None:
    """Where the completion leaves its enclosing class or function (tree-sitter),
    checked each time a line is complete."""
    if shape.scope_end is None or not text.endswith("\n"):
        return None
    return shape.scope_end(text)


CUTTERS: tuple[Callable[[str, Shape], int | None], ...] = (
    cut_single_line,
    cut_fence,
    cut_max_lines,
    cut_dedent,
    cut_next_top_level,
    cut_scope_end,
)


def first_cut(text: str, shape: Shape) -> int | None:
    """The earliest cut any cutter asks for (the engine's stop predicate)."""
    cuts = [c for c in (cutter(text, shape) for cutter in CUTTERS) if c is not None]
    return min(cuts) if cuts else None


# -- filters ----------------------------------------------------------------------------


def apply_cutters(text: str, shape: Shape) -> str:
    cut = first_cut(text, shape)
    return text if cut is None else text[:cut]


def trim_to_scope(text: str, shape: Shape) -> str:
    """The finished text, cut where it leaves its enclosing class or function."""
    cut = shape.scope_end(text) if shape.scope_end is not None and text else None
    return text if cut is None else text[:cut]


def drop_repeated_suffix(text: str, shape: Shape) -> str:
    """The model often writes out the code that already follows the cursor."""
    if shape.single_line:
        closers = shape.after.lstrip()
        n = 0
        while n < len(closers) and closers[n] in CLOSERS:
            n += 1
        # Drop trailing closers the text has no opener for: the line has them already.
        end = len(text)
        for closer in reversed(closers[:n]):
            stripped = text[:end].rstrip()
            if stripped.endswith(closer) and stripped.count(closer) > stripped.count(
                OPENER_OF[closer]
            ):
                end = len(stripped) - 1
            else:
                break
        return text[:end]
    following = next((line.strip() for line in shape.below if line.strip()), None)
    if following is None:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == following and (i > 0 or not shape.before.strip()):
            return "\n".join(lines[:i])
    return text


def drop_repetition(text: str, shape: Shape) -> str:
    """Keep one copy of a line the model repeats three times in a row."""
    lines = text.split("\n")
    for i in range(len(lines) - 2):
        if lines[i].strip() and lines[i] == lines[i + 1] == lines[i + 2]:
            return "\n".join(lines[: i + 1])
    return text


_COMMENT_LINE = re.compile(r"^[ \t]*(?:#|//|/\*|\*|--)")
_INTEGER = re.compile(r"-?\d+")
# A run of this many integers in arithmetic progression is the model counting on, not code.
COUNTING_RUN = 8


def _open_parentheses(text: str) -> int:
    """How many ``(`` the text leaves open (strings are not told apart: a rough count)."""
    depth = 0
    for c in text:
        if c == "(":
            depth += 1
        elif c == ")" and depth:
            depth -= 1
    return depth


def drop_comment_in_open_call(text: str, shape: Shape) -> str:
    """Nothing but a comment after an open ``(`` (``foo(  # type: ignore``)
    leaves the call open and adds nothing: no suggestion."""
    if _open_parentheses(shape.before) == 0:
        return text
    lines = [line for line in text.split("\n") if line.strip()]
    if lines and all(_COMMENT_LINE.match(line) for line in lines):
        return ""
    return text


def drop_counting_run(text: str, shape: Shape) -> str:
    """The model counting on (``1, 2, 3, … 35``): no suggestion when the
    candidate writes a run of ``COUNTING_RUN`` integers in arithmetic progression."""
    numbers: list[int] = []
    last_end = None
    for match in _INTEGER.finditer(text):
        between = text[last_end : match.start()] if last_end is not None else ""
        joined = last_end is not None and between.strip(" \t\n,") == "" and between.count(",") <= 1
        if not joined or (
            len(numbers) >= 2 and int(match.group()) - numbers[-1] != numbers[-1] - numbers[-2]
        ):
            numbers = numbers[-1:] if joined else []
        if numbers and int(match.group()) == numbers[-1]:
            numbers = []
        numbers.append(int(match.group()))
        last_end = match.end()
        if len(numbers) >= COUNTING_RUN:
            return ""
    return text


def trim_trailing_whitespace(text: str, shape: Shape) -> str:
    """No trailing blank lines or spaces; a whitespace-only answer is no answer."""
    trimmed = text.rstrip()
    return trimmed if trimmed.strip() else ""


def trim_to_valid_syntax(text: str, shape: Shape) -> str:
    """Keep the most lines that add no syntax error to the document.

    Nothing is kept when even the first line breaks the document: a broken
    suggestion is worse than none.
    """
    if shape.errors_with is None or not text:
        return text
    baseline = shape.errors_with("")
    if baseline is None:
        return text
    lines = text.split("\n")
    for keep in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:keep]).rstrip()
        if not candidate.strip():
            continue
        errors = shape.errors_with(candidate)
        if errors is not None and errors <= baseline:
            return candidate
    return ""


FILTERS: tuple[Callable[[str, Shape], str], ...] = (
    apply_cutters,
    trim_to_scope,
    drop_repeated_suffix,
    drop_repetition,
    trim_trailing_whitespace,
    drop_comment_in_open_call,
    drop_counting_run,
    trim_to_valid_syntax,
)


def finish(text: str, shape: Shape) -> str:
    """Run every filter in order."""
    return finish_explained(text, shape)[0]


def finish_explained(text: str, shape: Shape) -> tuple[str, str | None]:
    """Run every filter in order; the text, and the name of the filter that left nothing (None if one is left)."""
    for step in FILTERS:
        text = step(text, shape)
        if not text:
            return "", step.__name__
    return text, None
