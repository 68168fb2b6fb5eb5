"""One completion, from a document and a cursor to a suggestion.

The pipeline a newcomer can follow, all on the engine's worker thread:
:func:`plan` places the window around the cursor, finds the enclosing scopes,
builds the global section and the prompt; :func:`shape_for` says what the
post-processing needs to know (the line around the cursor, its scope, the
syntax checks); :func:`generate` runs the model with the cutters as its stop
predicate, post-processes what it wrote and asks the cross-file guard for a
verdict; :func:`warm` only reads a prompt.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from typing import Callable

from smalllsp import cold_hint, guard, postprocess, ranking
from smalllsp.config import MAX_SAMPLES, Config
from smalllsp.context.global_section import NO_SOURCES, Sources, Window, build_global
from smalllsp.context.window import Cursor, Placement, Prompt, assemble, clip_tokens, place_window
from smalllsp.documents import WithLine
from smalllsp.engine.runtime import Generation, Runtime, Sampling
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
    text: str  # to insert at the cursor
    raw: str  # what the model wrote
    generation: Generation
    verdict: guard.Verdict = guard.LOCAL_VERDICT
    support: int = 1  # candidates that wrote this text (up to whitespace)
    agreement: int = 1  # candidates that start with its first line


@dataclasses.dataclass(frozen=True)
class Completion:
    """What one request produced: the suggestions worth showing, best first, and what it cost."""

    suggestions: tuple[Suggestion, ...]
    generations: tuple[Generation, ...]  # every candidate drawn, in order
    finished: tuple[
        str, ...
    ]  # each candidate after post-processing ("" when it was dropped), in the same order
    prompt: dict[str, object]  # what went into the prompt
    dropped: dict[str, int]  # candidates left out, by reason (a filter's name, "withheld")
    resampled: dict[str, int] | None = (
        None  # drawn again because a call did not bind: {"drawn", "bound"}
    )
    cold_hint: bool = False  # planned small to fit cold_latency_ms: warm the full window next

    @property
    def best(self) -> Suggestion | None:
        return self.suggestions[0] if self.suggestions else None

    @property
    def text(self) -> str:
        """The best suggestion's text; "" when there is nothing worth showing."""
        return self.suggestions[0].text if self.suggestions else ""

    def stats(self) -> dict[str, object]:
        """What the request cost (the first candidate's prompt figures; all candidates' tokens)."""
        first = self.generations[0]
        return {
            **first.stats(),
            "n_generated": sum(len(g.tokens) for g in self.generations),
            "samples": len(self.generations),
            "suggestions": len(self.suggestions),
            "dropped": dict(self.dropped),
            **({"resampled": dict(self.resampled)} if self.resampled is not None else {}),
            **({"cold_hint": True} if self.cold_hint else {}),
        }


@dataclasses.dataclass(frozen=True)
class Plan:
    """Everything one request works from, built before the model runs."""

    prompt: Prompt
    whitespace: str  # left out of the prompt at the cursor (see split_trailing_whitespace)
    head: str  # the text before the cursor the syntax checks parse
    head_first_line: int  # the document line ``head`` starts on
    tail: str  # the text after the cursor they parse
    chain: (
        tuple[scope.Scope, ...] | None
    )  # enclosing scopes (lines relative to ``head``); None without a grammar
    spliced: languages.SplicedParser  # parses of head + candidate + tail, shared by the checks


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


def syntax_head(cursor: Cursor, placement: Placement, typed: str | None = None) -> tuple[int, str]:
    """The text the syntax checks parse before the cursor, and the line it starts
    on: the prefix window, reaching back to the top-level line its enclosing
    definition starts on.

    A window that starts inside a function would hide the function's header
    from tree-sitter, and with it the scope to stay in.
    """
    start = placement.first_line
    floor = max(0, start - SYNTAX_LOOKBACK_LINES)
    while start > floor and not (
        cursor.lines[start].strip() and not cursor.lines[start][:1].isspace()
    ):
        start -= 1
    extra = "".join(line + "\n" for line in cursor.lines[start : placement.first_line])
    return start, extra + placement.prefix_text + (cursor.before if typed is None else typed)


def scope_of(language_id: str, head: str, tail: str) -> tuple[scope.Scope, ...] | None:
    """The scopes enclosing the cursor, read from the window (not the whole document)."""
    before_lines = head.split("\n")
    window = head + tail
    return scope.scope_chain(
        language_id, window.split("\n"), len(before_lines) - 1, len(before_lines[-1])
    )


class PromptTooLong(ValueError):
    """The prompt would not fit the model's context (the request is answered empty, with this reason)."""


def typed_budget(config: Config, n_ctx: int) -> int:
    """Tokens the typed part of the cursor line may take: it is code before the cursor, so at most
    ``prefix_tokens``, and at most half of what the context leaves after the answer."""
    return max(0, min(config.prefix_tokens, (n_ctx - config.max_tokens - FIM_OVERHEAD) // 2))


def plan(
    runtime: Runtime,
    config: Config,
    language_id: str,
    cursor: Cursor,
    sources: Sources = NO_SOURCES,
) -> Plan:
    """The window, the enclosing scopes, the global section and the prompt for ``cursor``.

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
    placement = place_window(
        prompt_cursor, runtime.tokenize, prefix_tokens=prefix_tokens, suffix_tokens=suffix_tokens
    )
    head_first_line, head = syntax_head(prompt_cursor, placement, code + whitespace)
    tail = placement.suffix_text
    chain = scope_of(language_id, head, tail)
    in_document = tuple(
        dataclasses.replace(
            s, start_line=s.start_line + head_first_line, end_line=s.end_line + head_first_line
        )
        for s in chain or ()
    )
    window = Window(
        cursor.lines,
        cursor.line,
        placement.first_line,
        placement.last_line,
        in_document,
        cursor.column,
    )
    section = build_global(
        sources, window, language_id, runtime.fim, runtime.tokenize, global_tokens
    )
    prompt = assemble(prompt_cursor, placement, runtime.fim, runtime.tokenize, section)
    if len(prompt.tokens) + config.max_tokens > runtime.n_ctx:
        raise PromptTooLong(
            f"a prompt of {len(prompt.tokens)} tokens plus max_tokens {config.max_tokens} exceeds the context of {runtime.n_ctx}"
        )
    if chain:
        log.debug("scope: %s", " > ".join(s.kind for s in chain))
    return Plan(
        prompt,
        whitespace,
        head,
        head_first_line,
        tail,
        chain,
        languages.SplicedParser(language_id, head, tail),
    )


# The post-processing reads the cursor line's start (its indentation) and the
# characters next to the cursor; a longer line is shortened in its middle.
SHAPE_LINE_CHARS = 4096


def _shortened(text: str, keep: str) -> str:
    """``text`` at most about SHAPE_LINE_CHARS long: its start and the end next to the cursor (``keep``)."""
    if len(text) <= SHAPE_LINE_CHARS:
        return text
    quarter = SHAPE_LINE_CHARS // 4
    if keep == "end":
        return text[:quarter] + text[-(SHAPE_LINE_CHARS - quarter) :]
    return text[: SHAPE_LINE_CHARS - quarter] + text[-quarter:]


def shape_for(config: Config, language_id: str, cursor: Cursor, planned: Plan) -> postprocess.Shape:
    """What the post-processing needs to know: the line around the cursor, its scope, the syntax checks."""
    below = [
        _shortened(line, "start")
        for line in cursor.lines[cursor.line + 1 : cursor.line + 1 + LOOKAHEAD_LINES]
    ]
    before, after = _shortened(cursor.before, "end"), _shortened(cursor.after, "start")
    head, tail, chain, spliced = planned.head, planned.tail, planned.chain, planned.spliced
    if spliced.parser is None:
        return postprocess.Shape(before, after, below, config.max_lines)
    return postprocess.Shape(
        before=before,
        after=after,
        below=below,
        max_lines=config.max_lines,
        errors_with=lambda candidate: languages.count_errors(spliced.tree(candidate).root_node),
        scope_end=(
            (
                lambda candidate: scope.scope_cut(
                    language_id, head, candidate, tail, spliced.tree(candidate)
                )
            )
            if chain is not None
            else None
        ),
        in_string_or_comment=scope.inside_string_or_comment(chain),
    )


def guard_context(language_id: str, planned: Plan, sources: Sources) -> guard.GuardContext:
    """What the cross-file guard needs: the window, the document's own names, what the model saw."""
    outline = sources.outline
    prompt = planned.prompt
    return guard.GuardContext(
        language_id=language_id,
        path=sources.path,
        head=planned.head,
        tail=planned.tail,
        head_first_line=planned.head_first_line,
        document_names=frozenset(d.name for d in outline.definitions)
        if outline is not None
        else frozenset(),
        imports="\n".join(outline.imports) if outline is not None else "",
        prompt_text=prompt.section.text() + prompt.prefix_text + prompt.suffix_text,
        index=sources.index,
    )


def draw(
    runtime: Runtime,
    config: Config,
    tokens: list[int],
    stop_at: Callable[[str], int | None],
    cancelled: Callable[[], bool],
) -> list[Generation]:
    """The model's candidates for the prompt: one greedy answer, or ``samples`` drawn from one reading of it."""
    limits = dict(
        max_tokens=config.max_tokens,
        stop_at=stop_at,
        time_budget_s=config.time_budget_ms / 1000,
        cancelled=cancelled,
    )
    if config.samples <= 1:
        return [runtime.generate(tokens, **limits)]
    sampling = Sampling(
        n=min(config.samples, MAX_SAMPLES),
        temperature=config.temperature,
        top_p=config.top_p,
        seed=None if config.seed < 0 else config.seed,
        budget_s=config.time_budget_ms / 1000,
    )
    return runtime.sample(tokens, sampling, **limits)


def sift(
    generations: list[Generation],
    finished: list[tuple[str, str | None]],
    judge: Callable[[str], guard.Verdict],
    policy: str,
) -> tuple[list[ranking.Candidate[tuple[Generation, guard.Verdict]]], dict[str, int]]:
    """The candidates worth ranking, each with its verdict, and how many were dropped and why.

    ``finished`` holds each generation's post-processed text and the filter
    that left nothing of it. Under the ``withhold`` policy a cross-file
    candidate is dropped here, so a local one can take its place.
    """
    dropped: Counter[str] = Counter()
    candidates = []
    for index, (generation, (text, emptied_by)) in enumerate(zip(generations, finished)):
        if not text:
            dropped[emptied_by or "empty"] += 1
            continue
        verdict = judge(text)
        if verdict.cross_file and policy == "withhold":
            dropped["withheld"] += 1
            log.info("withheld a cross-file candidate: %s", "; ".join(verdict.reasons))
            continue
        if policy == "allow":
            verdict = guard.LOCAL_VERDICT
        candidates.append(
            ranking.Candidate(text, generation.mean_logprob, index, (generation, verdict))
        )
    return candidates, dict(dropped)


def generate(
    runtime: Runtime,
    config: Config,
    language_id: str,
    cursor: Cursor,
    cancelled: Callable[[], bool],
    sources: Sources = NO_SOURCES,
) -> Completion:
    """Run the model for ``cursor``: draw the candidates, post-process, judge and rank them (worker thread).

    ``samples = 1`` decodes greedily. More draws that many from one reading of
    the prompt (the first one greedy), fewer when the latency budget would
    not allow them (:class:`smalllsp.engine.runtime.StepCosts`).
    """
    started = time.monotonic()
    planned = plan(runtime, config, language_id, cursor, sources)
    planned, config, cold = cold_hint.plan_within_target(  # a fast first hint where nothing is warm
        config,
        runtime,
        planned,
        lambda p: p.prompt.tokens,
        lambda c: plan(runtime, c, language_id, cursor, sources),
    )
    shape = shape_for(config, language_id, cursor, planned)
    whitespace = planned.whitespace
    blank_line = not cursor.lines[cursor.line].strip()

    def stop_at(raw: str) -> int | None:
        visible = heal(raw, whitespace, blank_line=blank_line)
        cut = postprocess.first_cut(visible, shape)
        return None if cut is None else cut + len(raw) - len(visible)

    generations = draw(runtime, config, planned.prompt.tokens, stop_at, cancelled)

    def judge(text: str) -> guard.Verdict:
        if planned.spliced.parser is None:
            return guard.LOCAL_VERDICT
        return guard.judge(
            guard_context(language_id, planned, sources), text, planned.spliced.tree(text)
        )

    def finish(generation: Generation) -> tuple[str, str | None]:
        return postprocess.finish_explained(
            heal(generation.text, whitespace, blank_line=blank_line), shape
        )

    finished = [finish(g) for g in generations]
    candidates, dropped = sift(generations, finished, judge, config.cross_file_policy)
    ranked = ranking.rank(candidates)
    # A call that does not bind: spend what is left of the budget on candidates that may (see resample_unbound).
    again = resample_unbound(
        runtime,
        config,
        planned.prompt.tokens,
        stop_at,
        cancelled,
        finish,
        judge,
        finished,
        ranked,
        started,
    )
    resampled = None
    if again is not None:
        more, more_finished, ranked, more_dropped, resampled = again
        generations, finished = [*generations, *more], [*finished, *more_finished]
        dropped = dict(Counter(dropped) + Counter(more_dropped))
    suggestions = tuple(
        Suggestion(
            r.text,
            r.candidate.payload[0].text,
            r.candidate.payload[0],
            r.candidate.payload[1],
            r.support,
            r.agreement,
        )
        for r in ranked
    )
    result = Completion(
        suggestions,
        tuple(generations),
        tuple(text for text, _ in finished),
        planned.prompt.describe(),
        dropped,
        resampled,
        cold,
    )
    first, best = generations[0], result.best
    log.info(
        "completion: %d prompt tokens (%d global, %d reused, %d evaluated), %d candidate(s), %d generated tokens, "
        "%.0f ms, %d suggestion(s)%s; best: %d chars, %s%s",
        first.n_prompt,
        planned.prompt.section.n_tokens,
        first.n_reused,
        first.n_evaluated,
        len(generations),
        sum(len(g.tokens) for g in generations),
        first.seconds * 1000,
        len(suggestions),
        "".join(f", {n} {why}" for why, n in dropped.items()),
        len(best.text) if best else 0,
        best.verdict.kind if best else "-",
        "".join(f"; {r}" for r in best.verdict.reasons) if best else "",
    )
    return result


def resample_unbound(
    runtime: Runtime,
    config: Config,
    tokens: list[int],
    stop_at: Callable[[str], int | None],
    cancelled: Callable[[], bool],
    finish: Callable[[Generation], tuple[str, str | None]],
    judge: Callable[[str], guard.Verdict],
    drawn: list[tuple[str, str | None]],
    ranked: list[ranking.Ranked[tuple[Generation, guard.Verdict]]],
    started: float,
) -> (
    tuple[list[Generation], list[tuple[str, str | None]], list, dict[str, int], dict[str, int]]
    | None
):
    """More candidates when the best one calls into the workspace with arguments that do not bind.

    The guard's binding check is exact and free, so spare budget goes to
    candidates drawn from the same reading of the prompt (the KV cache holds
    it: only the new tokens cost). The best candidate that binds, and is
    local, is shown first, its verdict marked ``resampled`` with the calls it
    bound; the first candidates follow. When none binds, nothing changes: the
    first stays flagged (or withheld). None when there was no call to fix,
    no time left, or ``resample_unbound = 0``.
    """
    if config.resample_unbound <= 0 or config.cross_file_policy == "allow":
        return None
    best = ranked[0].candidate.payload[1] if ranked else None
    if best is not None and not best.unbound:
        return None
    if best is None and not any(judge(text).unbound for text, _ in drawn if text):
        return None  # nothing to show, but not for a call that did not bind
    left = config.time_budget_ms / 1000 - (time.monotonic() - started)
    if left <= 0:
        log.info("resampling: no time left in the budget")
        return None
    sampling = Sampling(
        n=min(config.resample_unbound, MAX_SAMPLES),
        temperature=config.temperature,
        top_p=config.top_p,
        seed=None if config.seed < 0 else config.seed,
        include_greedy=False,
        budget_s=left,
    )
    more = runtime.sample(
        tokens,
        sampling,
        max_tokens=config.max_tokens,
        stop_at=stop_at,
        time_budget_s=left,
        cancelled=cancelled,
    )
    finished = [finish(g) for g in more]
    candidates, dropped = sift(more, finished, judge, config.cross_file_policy)
    offset = len(drawn)
    candidates = [dataclasses.replace(c, index=c.index + offset) for c in candidates]
    binding = [c for c in candidates if not c.payload[1].cross_file and c.payload[1].bound]
    report = {"drawn": len(more), "bound": len(binding)}
    log.info("resampling: %d more candidate(s) drawn, %d bind", len(more), len(binding))
    if not binding:
        return more, finished, ranked, dropped, report
    marked = [
        dataclasses.replace(
            c, payload=(c.payload[0], dataclasses.replace(c.payload[1], resampled=True))
        )
        for c in binding
    ]
    return more, finished, [*ranking.rank(marked), *ranked], dropped, report


def warm(
    runtime: Runtime,
    config: Config,
    language_id: str,
    cursor: Cursor,
    cancelled: Callable[[], bool],
    sources: Sources = NO_SOURCES,
) -> Generation:
    """Read the prompt for ``cursor`` into the KV cache without generating (worker thread).

    A later request nearby reuses it: the global section and the prefix
    window are the same, and for a document that fits the window, the prompt
    with the cursor at its end starts with the prompt for any cursor in it,
    line for line.
    """
    prompt = plan(runtime, config, language_id, cursor, sources).prompt
    generation = runtime.generate(prompt.tokens, max_tokens=0, cancelled=cancelled)
    log.info(
        "warm-up: %d prompt tokens (%d global, %d reused, %d evaluated), %.0f ms",
        generation.n_prompt,
        prompt.section.n_tokens,
        generation.n_reused,
        generation.n_evaluated,
        generation.seconds * 1000,
    )
    return generation
