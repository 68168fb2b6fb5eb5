"""The request context: everything one completion works from, built once by :func:`plan`.

Data flows one way: the window is placed around the cursor, the scopes
enclosing the cursor are parsed once (and kept in document lines), the global
section is built from the window and the workspace, the prompt is assembled,
and the guard's inputs are gathered. Every later stage (the cutters while the
model writes, the filters, the guard, the ranking) reads this one frozen
value; none of them rebuilds a part of it.
"""

from __future__ import annotations

import dataclasses
import logging

from tree_sitter import Tree

from smalllsp import guard
from smalllsp.config import Config
from smalllsp.context.global_section import NO_SOURCES, Sources, build_global
from smalllsp.context.window import Cursor, Prompt, Window, assemble, clip_tokens, place_window
from smalllsp.documents import WithLine
from smalllsp.engine.runtime import Runtime
from smalllsp.syntax import languages, scope

log = logging.getLogger(__name__)

# Lines after the cursor line the filters look at for repeated code.
LOOKAHEAD_LINES = 4
# FIM tokens around the parts, with room to spare.
FIM_OVERHEAD = 8
# How far above the window the syntax checks look for the enclosing definition's first line.
SYNTAX_LOOKBACK_LINES = 2000
# The filters read the cursor line's start (its indentation) and the characters
# next to the cursor; a longer line is shortened in its middle.
SHAPE_LINE_CHARS = 4096


class SplicedSyntax:
    """The one syntax tree of a request: the window with a candidate spliced in at the cursor.

    The scope cut, the syntax check and the guard all read the same parse of
    the same candidate (:class:`smalllsp.syntax.languages.SplicedParser`
    remembers the last few), and each scope cut is worked out once per text:
    the stop predicate asks for it as each line completes, the cut at the end
    asks again for the same text.
    """

    KEEP_CUTS = 64  # scope cuts remembered (a candidate has at most max_tokens lines)

    def __init__(
        self, language_id: str, head: str, head_first_line: int, tail: str, *, scoped: bool
    ) -> None:
        self.language_id = language_id
        self.head = head  # the text before the cursor that is parsed (from a top-level line)
        self.head_first_line = head_first_line  # the document line ``head`` starts on
        self.tail = tail  # the text after the cursor that is parsed
        self.scoped = scoped  # the language has scope kinds: the scope cut applies
        self._spliced = languages.SplicedParser(language_id, head, tail)
        self._cuts: dict[str, int | None] = {}

    @classmethod
    def of(
        cls, language_id: str, head: str, head_first_line: int, tail: str, *, scoped: bool
    ) -> SplicedSyntax | None:
        """The request's syntax view; None when the language has no grammar."""
        if languages.parser(language_id) is None:
            return None
        return cls(language_id, head, head_first_line, tail, scoped=scoped)

    def tree(self, candidate: str) -> Tree:
        return self._spliced.tree(candidate)

    def errors_with(self, candidate: str) -> int:
        """Syntax errors of the window with ``candidate`` at the cursor."""
        return languages.count_errors(self.tree(candidate).root_node)

    def scope_cut(self, candidate: str) -> int | None:
        """Where ``candidate`` leaves the class or function enclosing the cursor (None: it stays in)."""
        if not self.scoped:
            return None
        if candidate not in self._cuts:
            if len(self._cuts) >= self.KEEP_CUTS:
                self._cuts.pop(next(iter(self._cuts)))
            self._cuts[candidate] = scope.scope_cut(
                self.language_id, self.head, candidate, self.tail, self.tree(candidate)
            )
        return self._cuts[candidate]


class PromptTooLong(ValueError):
    """The prompt would not fit the model's context (the request is answered empty, with this reason)."""


@dataclasses.dataclass(frozen=True)
class RequestContext:
    """One request, as every stage after :func:`plan` reads it (Tabby's ``CompletionContext``)."""

    config: Config
    language_id: str
    cursor: Cursor  # the document's lines and the cursor, in code points
    window: Window  # the local window, with the enclosing scopes in document lines
    prompt: Prompt  # the tokens the model reads: the global section, then the window
    whitespace: str  # left out of the prompt at the cursor (see split_trailing_whitespace)
    before: str  # the cursor line up to the cursor (shortened past SHAPE_LINE_CHARS)
    after: str  # the cursor line after the cursor (shortened likewise)
    below: tuple[str, ...]  # a few lines after the cursor line
    in_string_or_comment: bool  # the innermost scope is a string or a comment
    syntax: SplicedSyntax | None  # the window's tree with a candidate spliced in; None: no grammar
    guard: guard.GuardContext | None  # the cross-file guard's inputs; None: no grammar

    @property
    def single_line(self) -> bool:
        """Mid-line (code after the cursor), or in a string or comment: complete this line only."""
        return self.after.strip() != "" or self.in_string_or_comment

    @property
    def blank_line(self) -> bool:
        """The cursor's line is blank (the model may start its answer with a line break)."""
        return not self.cursor.lines[self.cursor.line].strip()

    @property
    def max_lines(self) -> int:
        return self.config.max_lines


def split_trailing_whitespace(before: str) -> tuple[str, str]:
    """``"    x = "`` -> ``("    x =", " ")``.

    Trailing whitespace stays out of the prompt: BPE vocabularies merge
    spaces with the word after them (``" return"``), so a prompt that ends in
    spaces makes the model add one space too many. The model writes the
    whitespace itself, and :func:`smalllsp.pipeline.cutters.heal` takes it off again.
    """
    code = before.rstrip(" \t")
    return code, before[len(code) :]


def fit_budgets(config: Config, room: int) -> tuple[int, int, int]:
    """Global, prefix and suffix budgets, shrunk in proportion when they and the
    answer would not fit in the context (``room``: context left after the typed line)."""
    room -= config.max_tokens
    wanted = (config.global_tokens, config.prefix_tokens, config.suffix_tokens)
    if sum(wanted) <= room:
        return wanted
    if room <= 0:
        return 0, 0, 0
    global_, prefix = (part * room // sum(wanted) for part in wanted[:2])
    return global_, prefix, room - global_ - prefix


def typed_budget(config: Config, n_ctx: int) -> int:
    """Tokens the typed part of the cursor line may take: it is code before the cursor, so at most
    ``prefix_tokens``, and at most half of what the context leaves after the answer."""
    return max(0, min(config.prefix_tokens, (n_ctx - config.max_tokens - FIM_OVERHEAD) // 2))


def syntax_head(cursor: Cursor, window: Window, typed: str) -> tuple[int, str]:
    """The text the syntax checks parse before the cursor, and the line it starts
    on: the prefix window, reaching back to the top-level line its enclosing
    definition starts on.

    A window that starts inside a function would hide the function's header
    from tree-sitter, and with it the scope to stay in.
    """
    start = window.first_line
    floor = max(0, start - SYNTAX_LOOKBACK_LINES)
    while start > floor and not (
        cursor.lines[start].strip() and not cursor.lines[start][:1].isspace()
    ):
        start -= 1
    extra = "".join(line + "\n" for line in cursor.lines[start : window.first_line])
    return start, extra + window.prefix_text + typed


def scope_of(language_id: str, head: str, tail: str) -> tuple[scope.Scope, ...] | None:
    """The scopes enclosing the cursor, read from the window (not the whole document),
    their lines relative to ``head``."""
    before_lines = head.split("\n")
    return scope.scope_chain(
        language_id, (head + tail).split("\n"), len(before_lines) - 1, len(before_lines[-1])
    )


def _shortened(text: str, keep: str) -> str:
    """``text`` at most about SHAPE_LINE_CHARS long: its start and the end next to the cursor (``keep``)."""
    if len(text) <= SHAPE_LINE_CHARS:
        return text
    quarter = SHAPE_LINE_CHARS // 4
    if keep == "end":
        return text[:quarter] + text[-(SHAPE_LINE_CHARS - quarter) :]
    return text[: SHAPE_LINE_CHARS - quarter] + text[-quarter:]


def _guard_inputs(
    language_id: str, syntax: SplicedSyntax, prompt: Prompt, sources: Sources
) -> guard.GuardContext:
    """What the cross-file guard needs: the window, the document's own names, what the model saw."""
    outline = sources.outline
    return guard.GuardContext(
        language_id=language_id,
        path=sources.path,
        head=syntax.head,
        tail=syntax.tail,
        head_first_line=syntax.head_first_line,
        document_names=frozenset(d.name for d in outline.definitions)
        if outline is not None
        else frozenset(),
        imports="\n".join(outline.imports) if outline is not None else "",
        prompt_text=prompt.section.text() + prompt.prefix_text + prompt.suffix_text,
        index=sources.index,
    )


def plan(
    runtime: Runtime,
    config: Config,
    language_id: str,
    cursor: Cursor,
    sources: Sources = NO_SOURCES,
) -> RequestContext:
    """The request context for ``cursor``: window, scopes, global section, prompt, guard inputs.

    The typed part of the cursor line is clipped at its start to
    :func:`typed_budget` tokens (a minified line of megabytes is never
    tokenized whole), and the prompt is checked against the context: one that
    would not fit raises :class:`PromptTooLong`.
    """
    code, whitespace = split_trailing_whitespace(cursor.before)
    code = clip_tokens(code, typed_budget(config, runtime.n_ctx), runtime.tokenize, keep="end")
    line_text = cursor.lines[cursor.line]
    prompt_cursor = dataclasses.replace(
        cursor,
        lines=WithLine(cursor.lines, cursor.line, code + line_text[cursor.column :]),
        column=len(code),
    )
    global_tokens, prefix_tokens, suffix_tokens = fit_budgets(
        config, runtime.n_ctx - len(runtime.tokenize(code)) - FIM_OVERHEAD
    )
    placed = place_window(
        prompt_cursor, runtime.tokenize, prefix_tokens=prefix_tokens, suffix_tokens=suffix_tokens
    )
    head_first_line, head = syntax_head(prompt_cursor, placed, code + whitespace)
    tail = placed.suffix_text
    chain = scope_of(language_id, head, tail)
    in_document = tuple(
        dataclasses.replace(
            s, start_line=s.start_line + head_first_line, end_line=s.end_line + head_first_line
        )
        for s in chain or ()
    )
    # The window as the document has it: its lines, the cursor's column, the scopes.
    window = dataclasses.replace(
        placed, lines=cursor.lines, column=cursor.column, chain=in_document
    )
    section = build_global(
        sources, window, language_id, runtime.fim, runtime.tokenize, global_tokens
    )
    prompt = assemble(prompt_cursor, placed, runtime.fim, runtime.tokenize, section)
    if len(prompt.tokens) + config.max_tokens > runtime.n_ctx:
        raise PromptTooLong(
            f"a prompt of {len(prompt.tokens)} tokens plus max_tokens {config.max_tokens} exceeds the context of {runtime.n_ctx}"
        )
    if chain:
        log.debug("scope: %s", " > ".join(s.kind for s in chain))
    syntax = SplicedSyntax.of(language_id, head, head_first_line, tail, scoped=chain is not None)
    below = cursor.lines[cursor.line + 1 : cursor.line + 1 + LOOKAHEAD_LINES]
    return RequestContext(
        config=config,
        language_id=language_id,
        cursor=cursor,
        window=window,
        prompt=prompt,
        whitespace=whitespace,
        before=_shortened(cursor.before, "end"),
        after=_shortened(cursor.after, "start"),
        below=tuple(_shortened(line, "start") for line in below),
        in_string_or_comment=syntax is not None and scope.inside_string_or_comment(chain),
        syntax=syntax,
        guard=_guard_inputs(language_id, syntax, prompt, sources) if syntax is not None else None,
    )
