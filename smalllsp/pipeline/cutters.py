"""Cutters: where a completion must end, as ``(text, context) -> index | None``.

A small model runs on: past the end of the function, into
``if __name__ == "__main__":``, then a code fence and prose. The cutters keep
a suggestion inside the block the cursor is in. They run while the model
writes, as the one stop predicate the engine gets (:func:`stop_predicate`),
so generation stops early, and once more on the finished text
(:func:`smalllsp.pipeline.filters.apply_cutters`).
"""

from __future__ import annotations

import re
from typing import Callable, Iterator

from smalllsp.engine.runtime import StopAt
from smalllsp.pipeline.context import RequestContext
from smalllsp.syntax import uses

CLOSERS = ")]}"
_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.MULTILINE)


def indent_width(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


# -- cutters ----------------------------------------------------------------------------


def cut_single_line(text: str, ctx: RequestContext) -> int | None:
    if ctx.single_line and "\n" in text:
        return text.index("\n")
    return None


def cut_fence(text: str, ctx: RequestContext) -> int | None:
    """A Markdown code fence starts prose: end before it."""
    full = ctx.before + text
    match = _FENCE.search(full)
    if match is None:
        return None
    # End before the line break that leads to the fence.
    return max(match.start() - 1 - len(ctx.before), 0)


def cut_max_lines(text: str, ctx: RequestContext) -> int | None:
    start = 0
    for _ in range(ctx.max_lines):
        newline = text.find("\n", start)
        if newline < 0:
            return None
        start = newline + 1
    return start - 1


def _lines_with_offsets(text: str) -> Iterator[tuple[int, str]]:
    """(offset in ``text`` of the line's preceding newline, line) for lines after the first."""
    offset = text.find("\n")
    while offset >= 0:
        end = text.find("\n", offset + 1)
        yield offset, text[offset + 1 : end if end >= 0 else len(text)]
        offset = end


def _block_indent(text: str, ctx: RequestContext) -> int | None:
    """Indentation of the first line with code: the block the completion is in."""
    first = ctx.before + text.split("\n", 1)[0]
    if first.strip():
        return indent_width(first)
    for _offset, line in _lines_with_offsets(text):
        if line.strip():
            return indent_width(line)
    return None


def cut_dedent(text: str, ctx: RequestContext) -> int | None:
    """A line indented less than the completion's block closes the block: end before it
    (llama.cpp's ``n_indent`` rule)."""
    block = _block_indent(text, ctx)
    if block is None:
        return None
    for offset, line in _lines_with_offsets(text):
        if line.strip() and indent_width(line) < block:
            return offset
    return None


def cut_next_top_level(text: str, ctx: RequestContext) -> int | None:
    """At the top level, a blank line then a new top-level statement starts the
    next definition (``if __name__ == ...``): end at the blank line."""
    if _block_indent(text, ctx) != 0:
        return None
    seen_code = bool(ctx.before.strip())
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


def cut_scope_end(text: str, ctx: RequestContext) -> int | None:
    """Where the completion leaves its enclosing class or function (tree-sitter),
    checked each time a line is complete."""
    if ctx.syntax is None or not text.endswith("\n"):
        return None
    return ctx.syntax.scope_cut(text)


CUTTERS: tuple[Callable[[str, RequestContext], int | None], ...] = (
    cut_single_line,
    cut_fence,
    cut_max_lines,
    cut_dedent,
    cut_next_top_level,
    cut_scope_end,
)


def first_cut(text: str, ctx: RequestContext) -> int | None:
    """The earliest cut any cutter asks for."""
    cuts = [c for c in (cutter(text, ctx) for cutter in CUTTERS) if c is not None]
    return min(cuts) if cuts else None


def heal(raw: str, whitespace: str, *, blank_line: bool = False) -> str:
    """The model's text as it goes after the cursor, given the whitespace left out of the prompt.

    On a blank line the model sometimes starts with a line break (it leaves
    the line empty and writes below it); the suggestion belongs on the
    cursor's line, so leading line breaks go.
    """
    if blank_line:
        raw = raw.lstrip("\n")
    if not whitespace:
        return raw
    if raw.startswith(whitespace):
        return raw[len(whitespace) :]
    stripped = raw.lstrip(" \t")
    return stripped if not stripped.startswith("\n") else raw


def healed(raw: str, ctx: RequestContext) -> str:
    """What the model wrote, as it goes after the cursor in this request."""
    return heal(raw, ctx.whitespace, blank_line=ctx.blank_line)


def stop_predicate(ctx: RequestContext) -> StopAt:
    """The engine's one stop rule for this request: where the raw text so far must be cut.

    A pure function of the text: the engine calls it as it writes and knows
    nothing of the cutters behind it.
    """

    def stop_at(raw: str) -> int | None:
        visible = healed(raw, ctx)
        cut = first_cut(visible, ctx)
        return None if cut is None else cut + len(raw) - len(visible)

    return stop_at


def stop_at_call_close(
    ctx: RequestContext, stop_at: StopAt, when: Callable[[str], bool] | None = None
) -> StopAt:
    """``stop_at``, and a candidate also ends with the ``)`` that closes the call the cursor is in
    (``when`` given: only where ``when(text up to it)``, asked once per such text).

    A resampled candidate always ends there: that call is what resampling fixes, and the rest
    of the line (``1) if color is None else False``) cost more steps than the arguments on real
    call sites. The first answer ends there when its call does not bind and resampling will
    replace it (``when``): the rest of its line would be thrown away with it."""
    opened = uses.open_brackets(ctx.language_id, ctx.before)
    if not opened or ctx.before[opened[-1]] != "(":
        return stop_at
    asked: dict[str, bool] = {}

    def stop(raw: str) -> int | None:
        cut = stop_at(raw)
        visible = healed(raw, ctx)
        closed = _closing(visible)
        if closed is None:
            return cut
        if when is not None:
            if visible[:closed] not in asked:
                asked[visible[:closed]] = when(visible[:closed])
            if not asked[visible[:closed]]:
                return cut
        closed += len(raw) - len(visible)
        return closed if cut is None else min(cut, closed)

    return stop


def stop_when_hopeless(
    ctx: RequestContext, stop_at: StopAt, hopeless: Callable[[str], bool]
) -> StopAt:
    """``stop_at``, and a candidate ends where it is (nothing cut) once ``hopeless(text so far)``:
    resampling then gives up on it (a call that can no longer bind, :mod:`smalllsp.guard.partial`)."""

    def stop(raw: str) -> int | None:
        cut = stop_at(raw)
        if cut is None and hopeless(healed(raw, ctx)):
            return len(raw)
        return cut

    return stop


def _closing(text: str) -> int | None:
    """Just after the ``)`` that closes a ``(`` opened before ``text``; None when it does not."""
    depth = 0
    for index, char in uses.outside_strings(text, "()[]{}"):
        depth += 1 if char in "([{" else -1
        if depth < 0:
            return index + 1 if char == ")" else None
    return None
