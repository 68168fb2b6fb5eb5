"""One completion, from a document and a cursor to ranked suggestions (on the engine's worker).

:func:`generate` plans the request once (:func:`smalllsp.pipeline.context.plan`),
gives the engine the request's one stop predicate, runs the filters on each
candidate, asks the cross-file guard for a verdict on each, and ranks them;
when the best calls a workspace function with arguments that do not bind, it
spends what is left of the budget on more candidates. :func:`warm` only reads
a prompt into the KV cache.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from typing import Callable

from smalllsp import cold_hint, guard
from smalllsp.guard import partial
from smalllsp.config import MAX_SAMPLES, Config
from smalllsp.context.global_section import NO_SOURCES, Sources
from smalllsp.context.window import Cursor
from smalllsp.engine.runtime import Generation, Runtime, Sampling, StopAt
from smalllsp.pipeline import filters, rank, repair
from smalllsp.pipeline.context import RequestContext, plan
from smalllsp.pipeline.cutters import (
    healed,
    stop_at_call_close,
    stop_predicate,
    stop_when_hopeless,
)
from smalllsp.pipeline.rank import Suggestion
from smalllsp.syntax import uses

log = logging.getLogger(__name__)

Ranked = list[rank.Ranked[guard.Verdict]]
# A resampled candidate may write this many times the first candidates' longest
# answer (at least RESAMPLE_MIN_TOKENS): an argument list that binds is about as
# long as the one that did not, and four candidates decoded to max_tokens made
# a resampled request ten times slower than a greedy one on real call sites.
RESAMPLE_TOKENS_FACTOR = 2
RESAMPLE_MIN_TOKENS = 16
Finished = list[
    tuple[str, str | None]
]  # each candidate's text after the filters, and what emptied it
# Filters that leave nothing of an answer that left the call at the cursor unwritten: the model
# wrote nothing on the line (or only a line break), only a comment after `(`, or a counting run.
UNWRITTEN = ("apply_cutters", "drop_comment_in_open_call", "drop_counting_run")


@dataclasses.dataclass(frozen=True)
class Completion:
    """What one request produced: the suggestions worth showing, best first, and what it cost."""

    suggestions: tuple[Suggestion, ...]
    generations: tuple[Generation, ...]  # every candidate drawn, in order
    finished: tuple[str, ...]  # each candidate after the filters ("" when dropped), in that order
    prompt: dict[str, object]  # what went into the prompt
    dropped: dict[str, int]  # candidates left out, by reason (a filter's name, "withheld")
    resampled: dict[str, int] | None = None  # drawn again for a call that did not bind
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


def judge(ctx: RequestContext, text: str) -> guard.Verdict:
    """The guard's verdict on ``text``, from the inputs the plan gathered (one parse, shared)."""
    if ctx.guard is None or ctx.syntax is None:
        return guard.LOCAL_VERDICT
    return guard.judge(ctx.guard, text, ctx.syntax.tree(text))


def finish(ctx: RequestContext, generation: Generation) -> tuple[str, str | None]:
    """A candidate through the filters: its text, and the filter that emptied it (or None)."""
    return filters.finish_explained(healed(generation.text, ctx), ctx)


def _sampling(config: Config, n: int, budget_s: float, *, include_greedy: bool) -> Sampling:
    return Sampling(
        n=min(n, MAX_SAMPLES),
        temperature=config.temperature,
        top_p=config.top_p,
        seed=None if config.seed < 0 else config.seed,
        include_greedy=include_greedy,
        budget_s=budget_s,
    )


def draw(
    runtime: Runtime,
    ctx: RequestContext,
    stop_at: StopAt,
    cancelled: Callable[[], bool],
) -> list[Generation]:
    """The model's candidates: one greedy answer, or ``samples`` drawn from one reading of the prompt."""
    config, tokens = ctx.config, ctx.prompt.tokens
    budget_s = config.time_budget_ms / 1000
    if config.samples <= 1:
        return [
            runtime.generate(
                tokens,
                max_tokens=config.max_tokens,
                stop_at=stop_at,
                time_budget_s=budget_s,
                cancelled=cancelled,
                avoid_start=partial.COMMENT if _one_line_in_open_call(ctx) else "",
            )
        ]
    return runtime.sample(
        tokens,
        _sampling(config, config.samples, budget_s, include_greedy=True),
        max_tokens=config.max_tokens,
        stop_at=stop_at,
        time_budget_s=budget_s,
        cancelled=cancelled,
    )


def generate(
    runtime: Runtime,
    config: Config,
    language_id: str,
    cursor: Cursor,
    cancelled: Callable[[], bool],
    sources: Sources = NO_SOURCES,
) -> Completion:
    """Run the model for ``cursor``: draw the candidates, filter, judge and rank them (worker thread).

    ``samples = 1`` decodes greedily. More draws that many from one reading of
    the prompt (the first one greedy), fewer when the latency budget would
    not allow them (:class:`smalllsp.engine.runtime.StepCosts`).
    """
    started = time.monotonic()
    ctx = plan(runtime, config, language_id, cursor, sources)
    ctx, config, cold = cold_hint.plan_within_target(  # a fast first hint where nothing is warm
        config,
        runtime,
        ctx,
        lambda c: c.prompt.tokens,
        lambda c: c.prompt.first_line,
        lambda c: plan(runtime, c, language_id, cursor, sources),
    )
    stop_at = stop_predicate(ctx)
    generations = draw(runtime, ctx, _first_stop(ctx, stop_at, started), cancelled)
    finished = [finish(ctx, g) for g in generations]
    candidates, dropped = rank.sift(
        generations, finished, lambda text: judge(ctx, text), config.cross_file_policy
    )
    ranked = rank.rank(candidates)
    # A call that does not bind: spend what is left of the budget on candidates that may.
    longest = max(len(g.tokens) for g in generations)
    again = resample_unbound(
        runtime, ctx, stop_at, cancelled, finished, ranked, started, longest_tokens=longest
    )
    resampled = None
    if again is not None:
        more, more_finished, ranked, more_dropped, resampled = again
        generations, finished = [*generations, *more], [*finished, *more_finished]
        dropped = dict(Counter(dropped) + Counter(more_dropped))
    result = Completion(
        rank.suggestions(ranked),
        tuple(generations),
        tuple(text for text, _ in finished),
        ctx.prompt.describe(),
        dropped,
        resampled,
        cold,
    )
    _log(ctx, result)
    return result


def _resampling(config: Config) -> bool:
    return config.resample_unbound > 0 and config.cross_file_policy != "allow"


def _first_stop(ctx: RequestContext, stop_at: StopAt, started: float) -> StopAt:
    """The first answer's stop rule. At an open call's ``(``, an answer that starts with a comment
    on a line of its own is dropped by the filters whatever follows, so it ends there (on real
    call sites such comments ran to 21 tokens). With resampling on, it also ends at the ``)`` of
    the call at the cursor when that call does not bind (while time is left to draw again):
    resampling replaces it, and the rest of its line would be decoded for nothing. When none
    binds, the answer flagged is the call as the model wrote it, up to that ``)``."""
    stop_at = stop_when_hopeless(ctx, stop_at, lambda text: _leaves_call_open(ctx, text))
    if not _resampling(ctx.config):
        return stop_at
    budget_s = ctx.config.time_budget_ms / 1000

    def replaced(text: str) -> bool:
        return time.monotonic() - started < budget_s and judge(ctx, text).unbound

    return stop_at_call_close(ctx, stop_at, when=replaced)


def _leaves_call_open(ctx: RequestContext, text: str) -> bool:
    """Only a comment after the ``(`` of the call at the cursor, where the answer is one line:
    it leaves the call open (``drop_comment_in_open_call`` drops it)."""
    return _one_line_in_open_call(ctx) and partial.comment_only(text)


def _one_line_in_open_call(ctx: RequestContext) -> bool:
    """A one-line answer inside the call at the cursor: one that begins with a comment leaves the
    call open and is dropped, so the greedy answer is asked not to begin so (``avoid_start``)."""
    return (ctx.max_lines == 1 or ctx.single_line) and _in_open_call(ctx)


def _log(ctx: RequestContext, result: Completion) -> None:
    first, best, generations = result.generations[0], result.best, result.generations
    log.info(
        "completion: %d prompt tokens (%d global, %d reused, %d evaluated), %d candidate(s), %d generated tokens, "
        "%.0f ms, %d suggestion(s)%s; best: %d chars, %s%s",
        first.n_prompt,
        ctx.prompt.section.n_tokens,
        first.n_reused,
        first.n_evaluated,
        len(generations),
        sum(len(g.tokens) for g in generations),
        first.seconds * 1000,
        len(result.suggestions),
        "".join(f", {n} {why}" for why, n in result.dropped.items()),
        len(best.text) if best else 0,
        best.verdict.kind if best else "-",
        "".join(f"; {r}" for r in best.verdict.reasons) if best else "",
    )


def resample_unbound(
    runtime: Runtime,
    ctx: RequestContext,
    stop_at: StopAt,
    cancelled: Callable[[], bool],
    drawn: Finished,
    ranked: Ranked,
    started: float,
    longest_tokens: int | None = None,
) -> tuple[list[Generation], Finished, Ranked, dict[str, int], dict[str, int]] | None:
    """More candidates when the best one calls into the workspace with arguments that do not bind.

    The guard's binding check is exact and free, so spare budget goes to
    candidates drawn from the same reading of the prompt (the KV cache holds
    it: only the new tokens cost). The best candidate that binds, and is
    local, is shown first, its verdict marked ``resampled`` with the calls it
    bound; the first candidates follow. When none binds, nothing changes: the
    first stays flagged (or withheld). None when there was no call to fix,
    no time left, or ``resample_unbound = 0``. ``longest_tokens``, the first
    candidates' longest answer, bounds what the new ones may write.

    Drawing stops at the first candidate that binds (the engine asks
    ``binds`` as each one ends: ``Sampling.enough``), so the rest of the
    ``resample_unbound`` candidates are drawn only while none has; the
    engine picks how many to decode side by side from its step costs. Each
    new candidate starts with another token than the greedy answer and the
    others did (``distinct_starts``): on real call sites the greedy answer's
    first token was mostly where its call went wrong (a keyword the callee
    does not take), and samples that began the same way repeated it. A
    candidate is given up (ended where it is) as soon as what it wrote can no
    longer bind (:mod:`smalllsp.guard.partial`). The bare ``)`` costs no model
    step: when the callee takes no argument at all it is the answer, drawn
    nothing; when it binds otherwise, it is shown if no drawn candidate binds.
    A callee whose parameters are not known cannot be checked: there a local
    candidate is good enough (as a first answer that wrote it would have been).
    """
    config = ctx.config
    if not _resampling(config):
        return None
    best = ranked[0].candidate.payload if ranked else None
    if best is not None and not best.unbound:
        return None
    if best is None and not _call_left_unwritten(ctx, drawn):
        return None  # nothing to show, but not for a call that did not bind
    verdicts: dict[str, guard.Verdict] = {}  # each text judged once: by `binds`, then by sift

    def judged(text: str) -> guard.Verdict:
        if text not in verdicts:
            verdicts[text] = judge(ctx, text)
        return verdicts[text]

    closed = judged(")") if _bare_call(ctx) else None
    if closed is not None and closed.cross_file and not closed.unbound:
        log.info("resampling: the call is cross-file whatever its arguments: %s", closed.reasons)
        return None  # its callee was not shown (global section off): no candidate can be local
    bare = _bare_close(closed)
    if bare is not None and bare.candidate.payload.takes_nothing:
        log.info("resampling: the callee takes no argument, ')' is the call that binds")
        return [], [], [bare, *ranked], {}, _report(0, 0, 0, bare=True)
    fixed = _repaired(ctx, [text for text, _ in drawn if text], judged)
    if fixed is not None:
        return [], [], [fixed, *ranked], {}, _report(0, 0, 0, bare=False, repaired=True)
    left = _time_left(config, started)
    if left <= 0:
        log.info("resampling: no time left (time_budget_ms, resample_latency_factor)")
        if bare is None:
            return None
        return [], [], [bare, *ranked], {}, _report(0, 0, 0, bare=True)
    out_of_time = _out_of_time(time.monotonic() + left)
    given_up: set[str] = set()  # the texts of candidates ended because they could not bind

    def hopeless(text: str) -> bool:
        """What it wrote cannot bind, even with its unknown keywords renamed, or its time is up."""
        written = partial.probe(text) if ctx.language_id == "python" else None
        if (
            out_of_time()
            or _leaves_call_open(ctx, text)
            or (
                written is not None
                and judged(written).cross_file
                and repair.repaired([written], judged) is None
            )
        ):
            given_up.add(text)
            return True
        return False

    def binds(generation: Generation) -> bool:
        """The engine's early exit: this candidate, filtered, is local and its calls bind."""
        if healed(generation.text, ctx) in given_up:
            return False
        text, _emptied_by = finish(ctx, generation)
        return bool(text) and judged(text).checks_out

    sampling = dataclasses.replace(
        _sampling(config, config.resample_unbound, left, include_greedy=False),
        enough=binds,
        distinct_starts=True,
    )
    max_tokens = config.max_tokens
    if longest_tokens is not None:
        max_tokens = min(
            max_tokens, max(RESAMPLE_MIN_TOKENS, RESAMPLE_TOKENS_FACTOR * longest_tokens)
        )
    more = runtime.sample(
        ctx.prompt.tokens,
        sampling,
        max_tokens=max_tokens,
        stop_at=stop_when_hopeless(ctx, stop_at_call_close(ctx, stop_at), hopeless),
        time_budget_s=left,
        cancelled=cancelled,
    )
    finished = [finish(ctx, g) for g in more]
    candidates, dropped = rank.sift(more, finished, judged, config.cross_file_policy, len(drawn))
    # a candidate given up is cut short: read as if closed, it may bind, but it is not whole
    cut_short = {len(drawn) + i for i, g in enumerate(more) if healed(g.text, ctx) in given_up}
    binding = [c for c in candidates if c.payload.checks_out and c.index not in cut_short]
    n_given_up = len(cut_short)
    log.info(
        "resampling: %d more candidate(s) drawn, %d bind, %d given up",
        len(more),
        len(binding),
        n_given_up,
    )
    if not binding:
        whole = [t for i, (t, _) in enumerate(finished) if t and len(drawn) + i not in cut_short]
        fixed = _repaired(ctx, whole, judged)
        if fixed is not None:
            report = _report(len(more), 0, n_given_up, bare=False, repaired=True)
            return more, finished, [fixed, *ranked], dropped, report
        shown = [bare] if bare is not None else []
        return (
            more,
            finished,
            [*shown, *ranked],
            dropped,
            _report(len(more), 0, n_given_up, bare=bool(shown)),
        )
    marked = [
        dataclasses.replace(c, payload=dataclasses.replace(c.payload, resampled=True))
        for c in binding
    ]
    report = _report(len(more), len(binding), n_given_up, bare=False)
    return more, finished, [*rank.rank(marked), *ranked], dropped, report


def _time_left(config: Config, started: float) -> float:
    """What resampling may spend: the rest of ``time_budget_ms``, and at most
    ``resample_latency_factor - 1`` times what the request has taken so far (to its first
    answer), so that a resampled request takes at most that factor times a greedy one."""
    elapsed = time.monotonic() - started
    left = config.time_budget_ms / 1000 - elapsed
    if config.resample_latency_factor > 0:
        left = min(left, (config.resample_latency_factor - 1) * elapsed)
    return left


def _out_of_time(deadline: float) -> Callable[[], bool]:
    """Asked after each token: True once the next step would end past ``deadline`` (a step
    takes as long as the time since the last asking), so a request overruns it by no step."""
    last: list[float] = []

    def out() -> bool:
        now = time.monotonic()
        step = now - last[0] if last else 0.0
        last[:] = [now]
        return now + step > deadline

    return out


def _report(
    drawn: int, bound: int, given_up: int, *, bare: bool, repaired: bool = False
) -> dict[str, int]:
    """What resampling did: candidates drawn, those that bind, those given up early, whether
    the bare ``)`` was shown, and whether a candidate with its keywords renamed was."""
    return {
        "drawn": drawn,
        "bound": bound,
        "given_up": given_up,
        "bare": int(bare),
        "repaired": int(repaired),
    }


def _repaired(
    ctx: RequestContext, texts: list[str], judged: Callable[[str], guard.Verdict]
) -> rank.Ranked[guard.Verdict] | None:
    """The first of ``texts`` that binds with its unknown keywords renamed (no model step), as a
    candidate ranked first; None when none does (:mod:`smalllsp.pipeline.repair`)."""
    if ctx.language_id != "python":
        return None  # keywords are Python's
    found = repair.repaired(texts, judged)
    if found is None:
        return None
    text, verdict = found
    log.info("resampling: renamed %s, the call binds", ", ".join(verdict.repaired))
    return rank.Ranked(rank.Candidate(text, 0.0, -1, verdict), support=1, agreement=1)


def _in_open_call(ctx: RequestContext) -> bool:
    """The innermost bracket open at the cursor is a call's ``(``."""
    opened = uses.open_brackets(ctx.language_id, ctx.before)
    return bool(opened) and ctx.before[opened[-1]] == "("


def _bare_call(ctx: RequestContext) -> bool:
    """The cursor is just inside a call's ``(`` with nothing after it on the line (no ``)`` an
    editor typed), so ``)`` there closes the call with no argument."""
    return not ctx.after.strip() and _in_open_call(ctx)


def _bare_close(verdict: guard.Verdict | None) -> rank.Ranked[guard.Verdict] | None:
    """The call at the cursor closed with no argument, when that binds (``Session()``): a
    candidate the guard checks without the model (``verdict``: the guard's on ``)``, None where
    :func:`_bare_call` is not so). None when it does not bind."""
    if verdict is None or verdict.cross_file or not verdict.bound:
        return None
    candidate = rank.Candidate(")", 0.0, -1, dataclasses.replace(verdict, resampled=True))
    return rank.Ranked(candidate, support=1, agreement=1)


def _call_left_unwritten(ctx: RequestContext, drawn: Finished) -> bool:
    """Nothing to show because of the call at the cursor: its arguments did not bind, or the
    model left them unwritten after its ``(``: only a comment (``Syntax(  # type: ignore``),
    nothing on the line, or a counting run, each dropped by a filter (:data:`UNWRITTEN`)."""
    return (_in_open_call(ctx) and any(reason in UNWRITTEN for _, reason in drawn)) or any(
        judge(ctx, text).unbound for text, _ in drawn if text
    )


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
    runtime.use_region(prompt.first_line)  # the state a request's full window will find
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
