"""One completion, from a document and a cursor to a suggestion.

The pipeline a newcomer can follow, all on the engine's worker thread:
:func:`plan` builds the prompt and the completion's shape (what the
post-processing needs to know: the line around the cursor, its scope, the
syntax checks); :func:`generate` runs the model with the cutters as its stop
predicate and post-processes what it wrote; :func:`warm` only reads a prompt.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable

from smalllsp import postprocess
from smalllsp.config import Config
from smalllsp.context.window import Cursor, Prompt, build_prompt
from smalllsp.engine.llama import Generation, LlamaRuntime
from smalllsp.syntax import languages, scope

log = logging.getLogger(__name__)

# Lines after the cursor line the post-processing looks at for repeated code.
LOOKAHEAD_LINES = 4
# FIM tokens around the parts, with room to spare.
FIM_OVERHEAD = 8
# How far above the window the syntax checks look for the enclosing definition's first line.
SYNTAX_LOOKBACK_LINES = 2000


@dataclasses.dataclass(frozen=True)
class Suggestion:
    text: str  # to insert at the cursor; "" when there is nothing worth showing
    raw: str  # what the model wrote
    generation: Generation


def split_trailing_whitespace(before: str) -> tuple[str, str]:
    """``"    x = "`` -> ``("    x =", " ")``.

    Trailing whitespace stays out of the prompt: BPE vocabularies merge
    spaces with the word after them (``" return"``), so a prompt that ends in
    spaces makes the model add one space too many. The model writes the
    whitespace itself, and :func:`heal` takes it off again.
    """
    code = before.rstrip(" \t")
    return code, before[len(code) :]


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


def fit_budgets(config: Config, room: int) -> tuple[int, int]:
    """Prefix and suffix budgets, shrunk in proportion when they and the answer
    would not fit in the context (``room``: context left after the typed line)."""
    room -= config.max_tokens
    wanted = config.prefix_tokens + config.suffix_tokens
    if wanted <= room:
        return config.prefix_tokens, config.suffix_tokens
    if room <= 0:
        return 0, 0
    prefix = config.prefix_tokens * room // wanted
    return prefix, room - prefix


def syntax_head(cursor: Cursor, prompt: Prompt) -> str:
    """The text the syntax checks parse before the cursor: the prompt window,
    reaching back to the top-level line its enclosing definition starts on.

    A window that starts inside a function would hide the function's header
    from tree-sitter, and with it the scope to stay in.
    """
    start = prompt.first_line
    floor = max(0, start - SYNTAX_LOOKBACK_LINES)
    while start > floor and not (cursor.lines[start].strip() and not cursor.lines[start][:1].isspace()):
        start -= 1
    extra = "".join(line + "\n" for line in cursor.lines[start : prompt.first_line])
    return extra + prompt.prefix_text + cursor.before


def errors_counter(language_id: str, head: str, tail: str) -> Callable[[str], int | None] | None:
    """Syntax errors of the window with a candidate spliced in at the cursor."""
    if languages.language(language_id) is None:
        return None
    return lambda candidate: languages.syntax_errors(language_id, head + candidate + tail)


def scope_of(language_id: str, head: str, tail: str) -> tuple[scope.Scope, ...] | None:
    """The scopes enclosing the cursor, read from the window (not the whole document)."""
    before_lines = head.split("\n")
    window = head + tail
    return scope.scope_chain(language_id, window.split("\n"), len(before_lines) - 1, len(before_lines[-1]))


def plan(runtime: LlamaRuntime, config: Config, language_id: str, cursor: Cursor) -> tuple[Prompt, postprocess.Shape, str]:
    """The prompt, the shape of the completion, and the whitespace left out of the prompt."""
    prompt, whitespace = prompt_for(runtime, config, cursor)
    return prompt, shape_for(config, language_id, cursor, prompt), whitespace


def prompt_for(runtime: LlamaRuntime, config: Config, cursor: Cursor) -> tuple[Prompt, str]:
    """The prompt for ``cursor``, and the whitespace left out of it."""
    code, whitespace = split_trailing_whitespace(cursor.before)
    prompt_cursor = dataclasses.replace(cursor, lines=_with_line(cursor, code), column=len(code))
    prefix_tokens, suffix_tokens = fit_budgets(config, runtime.n_ctx - len(runtime.tokenize(code)) - FIM_OVERHEAD)
    prompt = build_prompt(
        prompt_cursor,
        runtime.fim,
        runtime.tokenize,
        prefix_tokens=prefix_tokens,
        suffix_tokens=suffix_tokens,
    )
    return prompt, whitespace


def shape_for(config: Config, language_id: str, cursor: Cursor, prompt: Prompt) -> postprocess.Shape:
    """What the post-processing needs to know: the line around the cursor, its scope, the syntax checks."""
    below = cursor.lines[cursor.line + 1 : cursor.line + 1 + LOOKAHEAD_LINES]
    head, tail = syntax_head(cursor, prompt), prompt.suffix_text
    chain = scope_of(language_id, head, tail)
    shape = postprocess.Shape(
        before=cursor.before,
        after=cursor.after,
        below=below,
        max_lines=config.max_lines,
        errors_with=errors_counter(language_id, head, tail),
        scope_end=(lambda candidate: scope.scope_cut(language_id, head, candidate, tail)) if chain is not None else None,
        in_string_or_comment=scope.inside_string_or_comment(chain),
    )
    if chain:
        log.debug("scope: %s", " > ".join(s.kind for s in chain))
    return shape


def _with_line(cursor: Cursor, code: str) -> list[str]:
    """The document's lines with the cursor line's typed part replaced by ``code``."""
    replaced = list(cursor.lines)
    replaced[cursor.line] = code + cursor.after
    return replaced


def generate(
    runtime: LlamaRuntime,
    config: Config,
    language_id: str,
    cursor: Cursor,
    cancelled: Callable[[], bool],
) -> Suggestion:
    """Run the model for ``cursor`` and post-process what it wrote (worker thread)."""
    prompt, shape, whitespace = plan(runtime, config, language_id, cursor)

    blank_line = not cursor.lines[cursor.line].strip()

    def stop_at(raw: str) -> int | None:
        visible = heal(raw, whitespace, blank_line=blank_line)
        cut = postprocess.first_cut(visible, shape)
        return None if cut is None else cut + len(raw) - len(visible)

    generation = runtime.generate(
        prompt.tokens,
        max_tokens=config.max_tokens,
        stop_at=stop_at,
        time_budget_s=config.time_budget_ms / 1000,
        cancelled=cancelled,
    )
    text = postprocess.finish(heal(generation.text, whitespace, blank_line=blank_line), shape)
    log.info(
        "completion: %d prompt tokens (%d reused, %d evaluated), %d generated, stop %s, %.0f ms, %d chars kept",
        generation.n_prompt, generation.n_reused, generation.n_evaluated, len(generation.tokens),
        generation.stop_reason, generation.seconds * 1000, len(text),
    )
    return Suggestion(text, generation.text, generation)


def warm(runtime: LlamaRuntime, config: Config, cursor: Cursor, cancelled: Callable[[], bool]) -> Generation:
    """Read the prompt for ``cursor`` into the KV cache without generating (worker thread).

    A later request nearby reuses it: the prefix window is the same, and for a
    document that fits the window, the prompt with the cursor at its end
    starts with the prompt for any cursor in it, line for line.
    """
    prompt, _whitespace = prompt_for(runtime, config, cursor)  # no shape: nothing is generated
    generation = runtime.generate(prompt.tokens, max_tokens=0, cancelled=cancelled)
    log.info("warm-up: %d prompt tokens (%d reused, %d evaluated), %.0f ms",
             generation.n_prompt, generation.n_reused, generation.n_evaluated, generation.seconds * 1000)
    return generation
