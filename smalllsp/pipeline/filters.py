"""Filters: the finished text cleaned up, as ``(text, context) -> text``, each tested alone.

As in Tabby's post-processing, each filter reads the request context and
returns what is left ("" drops the candidate). They run in order on each
candidate once the model has finished: the cutters' cut first, then the
scope, the repeats, the whitespace, the run-ons, and last the syntax check,
which drops the lines that would leave the document with more syntax errors
than it had.
"""

from __future__ import annotations

import re
from typing import Callable

from smalllsp.pipeline.context import RequestContext
from smalllsp.pipeline.cutters import CLOSERS, first_cut

OPENER_OF = {")": "(", "]": "[", "}": "{"}


def apply_cutters(text: str, ctx: RequestContext) -> str:
    """The cutters once more on the finished text: an answer that ended on its own
    (end of generation, max_tokens) has not been cut yet."""
    cut = first_cut(text, ctx)
    return text if cut is None else text[:cut]


def trim_to_scope(text: str, ctx: RequestContext) -> str:
    """The finished text, cut where it leaves its enclosing class or function, its last
    line too (the stop predicate checks complete lines only)."""
    cut = ctx.syntax.scope_cut(text) if ctx.syntax is not None and text else None
    return text if cut is None else text[:cut]


def drop_repeated_suffix(text: str, ctx: RequestContext) -> str:
    """The model often writes out the code that already follows the cursor."""
    if ctx.single_line:
        closers = ctx.after.lstrip()
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
    following = next((line.strip() for line in ctx.below if line.strip()), None)
    if following is None:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip() == following and (i > 0 or not ctx.before.strip()):
            return "\n".join(lines[:i])
    return text


def drop_repetition(text: str, ctx: RequestContext) -> str:
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


def drop_comment_in_open_call(text: str, ctx: RequestContext) -> str:
    """Nothing but a comment after an open ``(`` (``foo(  # type: ignore``)
    leaves the call open and adds nothing: no suggestion."""
    if _open_parentheses(ctx.before) == 0:
        return text
    lines = [line for line in text.split("\n") if line.strip()]
    if lines and all(_COMMENT_LINE.match(line) for line in lines):
        return ""
    return text


def drop_counting_run(text: str, ctx: RequestContext) -> str:
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


def trim_trailing_whitespace(text: str, ctx: RequestContext) -> str:
    """No trailing blank lines or spaces; a whitespace-only answer is no answer."""
    trimmed = text.rstrip()
    return trimmed if trimmed.strip() else ""


def trim_to_valid_syntax(text: str, ctx: RequestContext) -> str:
    """Keep the most lines that add no syntax error to the document.

    Nothing is kept when even the first line breaks the document: a broken
    suggestion is worse than none.
    """
    if ctx.syntax is None or not text:
        return text
    baseline = ctx.syntax.errors_with("")
    lines = text.split("\n")
    for keep in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:keep]).rstrip()
        if not candidate.strip():
            continue
        if ctx.syntax.errors_with(candidate) <= baseline:
            return candidate
    return ""


FILTERS: tuple[Callable[[str, RequestContext], str], ...] = (
    apply_cutters,
    trim_to_scope,
    drop_repeated_suffix,
    drop_repetition,
    trim_trailing_whitespace,
    drop_comment_in_open_call,
    drop_counting_run,
    trim_to_valid_syntax,
)


def finish(text: str, ctx: RequestContext) -> str:
    """Run every filter in order."""
    return finish_explained(text, ctx)[0]


def finish_explained(text: str, ctx: RequestContext) -> tuple[str, str | None]:
    """Run every filter in order; the text, and the name of the filter that left nothing (None if one is left)."""
    for step in FILTERS:
        text = step(text, ctx)
        if not text:
            return "", step.__name__
    return text, None
