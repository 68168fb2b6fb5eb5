"""The prompt: a token-budgeted window around the cursor, in a KV-friendly layout.

Layout (llama.vim's): the lines above the cursor line are the FIM prefix, the
rest of the cursor line and the lines below are the FIM suffix, and the part
of the cursor line already typed goes after the FIM middle token as the start
of the answer. While the user types on a line, prefix and suffix stay
identical, so a keystroke costs only the characters typed since the line
began. The window's first line moves in steps of :data:`WINDOW_STEP` lines,
not line by line, so moving down a few lines keeps the prefix too.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

from smalllsp.context.global_section import EMPTY, MAX_TOKEN_CHARS, GlobalSection
from smalllsp.engine.fim import FimTokens
from smalllsp.syntax.scope import Scope

WINDOW_STEP = 32


@dataclasses.dataclass(frozen=True)
class Cursor:
    """What the prompt is built from: the document's lines and the cursor in code points."""

    lines: Sequence[str]
    line: int
    column: int

    @property
    def before(self) -> str:
        """The cursor line up to the cursor (already typed)."""
        return self.lines[self.line][: self.column]

    @property
    def after(self) -> str:
        """The cursor line after the cursor."""
        return self.lines[self.line][self.column :]

    def text_before(self) -> str:
        """The whole document up to the cursor."""
        return "".join(line + "\n" for line in self.lines[: self.line]) + self.before

    def text_after(self) -> str:
        """The whole document after the cursor."""
        return self.after + "".join("\n" + line for line in self.lines[self.line + 1 :])


@dataclasses.dataclass(frozen=True)
class Window:
    """Where the local window lies in the document, and the scopes around the cursor.

    :func:`place_window` finds the lines; the request's plan adds the
    enclosing scopes (document lines) once it has parsed them. Everything
    after reads this one value: the global section, the prompt, the checks.
    """

    lines: Sequence[str]  # the document's lines (the prompt's copy of the cursor line)
    cursor_line: int
    first_line: int  # first document line in the prefix window
    last_line: int  # last document line in the suffix window
    prefix_text: str = ""  # lines first_line .. cursor line - 1, each with its "\n"
    suffix_text: str = ""  # cursor.after + "\n" + lines below, up to last_line
    chain: tuple[Scope, ...] = ()  # enclosing scopes, outermost first, in document lines
    column: int | None = None  # the cursor's column on its line; None: the end of the line


@dataclasses.dataclass(frozen=True)
class Prompt:
    tokens: list[int]
    first_line: int
    last_line: int
    prefix_text: str
    suffix_text: str
    n_prefix: int
    n_suffix: int
    section: GlobalSection = EMPTY

    def describe(self) -> dict[str, object]:
        """What went in, for logs and tests."""
        return {
            "tokens": len(self.tokens),
            "global_tokens": self.section.n_tokens,
            "global_blocks": self.section.describe(),
            "window_lines": [self.first_line, self.last_line],
            "prefix_tokens": self.n_prefix,
            "suffix_tokens": self.n_suffix,
        }


def _fit_lines(
    lines: Sequence[str], indices: range, budget: int, count: Callable[[str], int]
) -> int:
    """How many of ``lines`` (in the order of ``indices``) fit in ``budget`` tokens.

    A line longer than the budget left allows is never tokenized: it ends the window.
    """
    used = 0
    fitted = 0
    for i in indices:
        line = lines[i]
        if len(line) >= (budget - used + 1) * MAX_TOKEN_CHARS:
            break
        used += count(line + "\n")
        if used > budget:
            break
        fitted += 1
    return fitted


def clip_tokens(text: str, budget: int, tokenize: Callable[[str], list[int]], *, keep: str) -> str:
    """``text`` cut to at most ``budget`` tokens, keeping its ``"start"`` or its ``"end"``.

    Never tokenizes more than ``budget * MAX_TOKEN_CHARS`` characters (plus a
    few passes over what is left), so an 8 MB minified line costs what its
    budget costs. The cut falls between characters; the result re-tokenized
    fits the budget.
    """
    if budget <= 0:
        return ""
    limit = budget * MAX_TOKEN_CHARS
    if len(text) > limit:
        text = text[:limit] if keep == "start" else text[-limit:]
    n = len(tokenize(text))
    while n > budget and text:
        size = max(0, min(len(text) - 1, len(text) * budget // n * 9 // 10))
        text = text[:size] if keep == "start" else text[len(text) - size :]
        n = len(tokenize(text)) if text else 0
    return text


def place_window(
    cursor: Cursor, tokenize: Callable[[str], list[int]], *, prefix_tokens: int, suffix_tokens: int
) -> Window:
    """The lines around the cursor that fit the two token budgets (no scopes yet).

    Only the lines that fit are read, so a document of any length costs the
    window's size.
    """
    count = lambda text: len(tokenize(text))  # noqa: E731 - tiny adapter

    fitted = _fit_lines(cursor.lines, range(cursor.line - 1, -1, -1), prefix_tokens, count)
    first = cursor.line - fitted
    if first > 0:
        # Round the start up to a step boundary: it stays put while the cursor
        # moves within the step, and rounding up keeps it within budget. A
        # window shorter than two steps uses a smaller step, so at most half
        # of it is given up.
        step = max(1, min(WINDOW_STEP, fitted // 2))
        first = -(-first // step) * step
    prefix_text = "".join(line + "\n" for line in cursor.lines[first : cursor.line])

    below = range(cursor.line + 1, len(cursor.lines))
    whole_after = cursor.after
    after = clip_tokens(whole_after, max(suffix_tokens, 0), tokenize, keep="start")
    after_tokens = count(after)
    clipped = len(after) < len(whole_after)  # the line alone fills the suffix
    fitted_below = (
        0
        if clipped
        else _fit_lines(cursor.lines, below, max(suffix_tokens - after_tokens, 0), count)
    )
    last = cursor.line + fitted_below
    suffix_text = after + "".join("\n" + line for line in cursor.lines[cursor.line + 1 : last + 1])
    return Window(
        cursor.lines, cursor.line, first, last, prefix_text, suffix_text, column=cursor.column
    )


def assemble(
    cursor: Cursor,
    window: Window,
    fim: FimTokens,
    tokenize: Callable[[str], list[int]],
    section: GlobalSection = EMPTY,
) -> Prompt:
    """The prompt's tokens: the global section, then the window in llama.vim's layout."""
    prefix_ids = tokenize(window.prefix_text)
    suffix_ids = tokenize(window.suffix_text)
    tokens = fim.layout(
        [*section.prefix_lead, *prefix_ids], suffix_ids, tokenize(cursor.before), lead=section.lead
    )
    return Prompt(
        tokens,
        window.first_line,
        window.last_line,
        window.prefix_text,
        window.suffix_text,
        len(prefix_ids),
        len(suffix_ids),
        section,
    )


def build_prompt(
    cursor: Cursor,
    fim: FimTokens,
    tokenize: Callable[[str], list[int]],
    *,
    prefix_tokens: int,
    suffix_tokens: int,
) -> Prompt:
    """The FIM prompt for ``cursor`` within the two token budgets, without a global section."""
    window = place_window(
        cursor, tokenize, prefix_tokens=prefix_tokens, suffix_tokens=suffix_tokens
    )
    return assemble(cursor, window, fim, tokenize)
