"""Resampling when the best candidate's call does not bind (smalllsp.pipeline.generate.resample_unbound).

The layers above the engine run for real (window, global section with the
callee, workspace index, post-processing, guard, ranking); the engine is a
scripted stand-in that answers greedy and sampled draws from lists, so what
is drawn and what must be shown are exact. The real engine's sampling is
tested in test_llama_runtime; the whole path with the real model in
tests/e2e/test_call_site.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from smalllsp import guard, pipeline
from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.context.window import Cursor
from smalllsp.engine.runtime import Generation, Sampling
from smalllsp.workspace.index import WorkspaceIndex
from tests.support.fake_runtime import FakeRuntime
from tests.unit.test_global_section import QWEN, tokenize

ROOT = Path(__file__).parent.parent / "fixtures" / "callee_workspace" / "richlike"
DOCUMENT = ROOT / "table.py"
SYNTAX_REASON = "calls Syntax() with no argument for code; syntax.py defines class Syntax: (code, lexer, *, theme=…, line_numbers=…)"


def generation(text: str, logprob: float = -0.5) -> Generation:
    return Generation(
        text,
        [1] * max(1, len(text) // 4),
        [logprob] * max(1, len(text) // 4),
        100,
        90,
        10,
        "eog",
        0.01,
    )


@dataclasses.dataclass
class ScriptedRuntime:
    greedy: str
    sampled: list[str]
    n_ctx: int = 4096
    fim = QWEN
    samplings: list[Sampling] = dataclasses.field(default_factory=list)
    prompts: list[list[int]] = dataclasses.field(default_factory=list)
    sample_max_tokens: list[int] = dataclasses.field(default_factory=list)

    def tokenize(self, text: str) -> list[int]:
        return tokenize(text)

    def use_region(self, first_line: int) -> None:
        pass  # one prompt state here

    def prompt_tokens_per_s(self) -> float | None:
        return None  # not measured: no cold hint is planned

    def generate(
        self,
        prompt,
        *,
        max_tokens,
        stop_at=None,
        time_budget_s=None,
        cancelled=lambda: False,
        avoid_start="",
    ):
        self.prompts.append(list(prompt))
        return generation(self.greedy, -0.1)

    def sample(
        self,
        prompt,
        sampling,
        *,
        max_tokens,
        stop_at=None,
        time_budget_s=None,
        cancelled=lambda: False,
    ):
        self.prompts.append(list(prompt))
        self.samplings.append(sampling)
        self.sample_max_tokens.append(max_tokens)
        drawn = []
        for i, text in enumerate(self.sampled[: sampling.n]):
            drawn.append(generation(text, -0.8 - i / 10))
            if sampling.enough is not None and sampling.enough(drawn[-1]):
                break  # drawn one at a time, as the in-process engine does on a CPU
        return drawn


@pytest.fixture(scope="module")
def index() -> WorkspaceIndex:
    built = WorkspaceIndex([ROOT])
    built.build()
    return built


def complete(
    index,
    runtime,
    config=Config(time_budget_ms=60_000, resample_latency_factor=0),
    typed="syntax = Syntax(",
):
    lines = DOCUMENT.read_text().split("\n")
    row = next(i for i, line in enumerate(lines) if line.strip() == "return width")
    lines[row] = "        " + typed
    cursor = Cursor(lines, row, len(lines[row]))
    sources = Sources(str(DOCUMENT), "table.py", ROOT.name, index.outline_of(str(DOCUMENT)), index)
    return pipeline.generate(runtime, config, "python", cursor, lambda: False, sources)


def test_a_call_that_does_not_bind_is_drawn_again_and_the_one_that_binds_is_shown_first(index):
    runtime = ScriptedRuntime(
        'lexer="python")', ['theme="x")', 'code, "python")', "never drawn: the second binds"]
    )
    result = complete(index, runtime)
    assert [s.text for s in result.suggestions] == ['code, "python")', 'lexer="python")']
    shown = result.suggestions[0].verdict
    assert shown == guard.Verdict(guard.LOCAL, bound=("Syntax()",), resampled=True)
    assert shown.as_dict() == {
        "verdict": "local",
        "reasons": [],
        "resampled": True,
        "bound": ["Syntax()"],
    }
    assert (
        result.suggestions[1].verdict.reasons == (SYNTAX_REASON,)
        and result.suggestions[1].verdict.unbound
    )
    # drawing stopped at the first candidate that binds: the third was never drawn
    assert result.resampled == {"drawn": 2, "bound": 1, "given_up": 0, "bare": 0, "repaired": 0}
    assert (
        result.stats()["resampled"]
        == {"drawn": 2, "bound": 1, "given_up": 0, "bare": 0, "repaired": 0}
        and result.stats()["samples"] == 3
    )
    assert [g.text for g in result.generations] == [
        'lexer="python")',
        'theme="x")',
        'code, "python")',
    ]
    # more candidates from the same prompt, not counting the greedy one again
    sampling = runtime.samplings[0]
    assert (sampling.n, sampling.include_greedy) == (Config().resample_unbound, False)
    assert runtime.prompts[0] == runtime.prompts[1]


def test_when_none_binds_the_greedy_one_stays_flagged_with_its_reason(index):
    runtime = ScriptedRuntime('lexer="python")', ['theme="x")', "1, 2, 3)"])
    result = complete(index, runtime)
    assert result.suggestions[0].text == 'lexer="python")'
    assert result.suggestions[0].verdict.reasons == (SYNTAX_REASON,)
    assert result.resampled == {"drawn": 2, "bound": 0, "given_up": 0, "bare": 0, "repaired": 0}


def test_under_withhold_the_greedy_one_is_held_back_and_the_one_that_binds_takes_its_place(index):
    runtime = ScriptedRuntime('lexer="python")', ['code, "python")'])
    result = complete(
        index,
        runtime,
        Config(time_budget_ms=60_000, resample_latency_factor=0, cross_file_policy="withhold"),
    )
    assert [s.text for s in result.suggestions] == ['code, "python")']
    assert result.dropped == {"withheld": 1}
    none_binds = complete(
        index,
        ScriptedRuntime('lexer="python")', ['theme="x")']),
        Config(time_budget_ms=60_000, resample_latency_factor=0, cross_file_policy="withhold"),
    )
    assert none_binds.suggestions == () and none_binds.dropped == {"withheld": 2}


def test_a_call_that_binds_or_a_setting_of_0_draws_nothing_more(index):
    binds = ScriptedRuntime('code, "python")', ["never drawn"])
    assert complete(index, binds).resampled is None and binds.samplings == []
    off = ScriptedRuntime('lexer="python")', ["never drawn"])
    result = complete(
        index, off, Config(time_budget_ms=60_000, resample_latency_factor=0, resample_unbound=0)
    )
    assert off.samplings == [] and result.resampled is None
    assert result.suggestions[0].verdict.reasons == (SYNTAX_REASON,)
    # a model that was not shown the callee (global section off) is flagged for that, not resampled
    unseen = ScriptedRuntime('lexer="python")', ["never drawn"])
    blind = complete(
        index, unseen, Config(time_budget_ms=60_000, resample_latency_factor=0, global_tokens=0)
    )
    assert unseen.samplings == [] and blind.suggestions[0].verdict.reasons == (
        "uses Syntax() from syntax.py, not seen by the model",
    )


def test_no_time_left_in_the_budget_draws_nothing_more(index):
    runtime = ScriptedRuntime('lexer="python")', ["never drawn"])
    result = complete(index, runtime, Config(time_budget_ms=0))
    assert runtime.samplings == [] and result.resampled is None


def test_closing_a_call_without_its_required_arguments_does_not_bind(index):
    result = complete(
        index,
        ScriptedRuntime(")", []),
        Config(time_budget_ms=60_000, resample_latency_factor=0, resample_unbound=0),
    )
    assert result.suggestions[0].verdict.reasons == (
        "calls Syntax() with no argument for code; syntax.py defines class Syntax: (code, lexer, *, theme=…, line_numbers=…)",
    )


def test_resampled_candidates_write_at_most_twice_the_first_answer(index):
    """Four candidates decoded to max_tokens made resampling 10x slower than greedy on real code."""
    greedy = 'lexer="python", theme="monokai", line_numbers=True, word_wrap=False)'
    runtime = ScriptedRuntime(greedy, ['code, "python")'])
    complete(
        index, runtime, Config(time_budget_ms=60_000, resample_latency_factor=0, max_tokens=128)
    )
    longest = len(generation(greedy).tokens)  # 17 tokens in this scripted runtime
    assert runtime.sample_max_tokens == [2 * longest] and 2 * longest < 128
    short = ScriptedRuntime("x=1)", ['code, "python")'])
    complete(index, short, Config(time_budget_ms=60_000, resample_latency_factor=0, max_tokens=128))
    assert short.sample_max_tokens == [16]  # never fewer than a short argument list needs
    tight = ScriptedRuntime(greedy, ['code, "python")'])
    complete(index, tight, Config(time_budget_ms=60_000, resample_latency_factor=0, max_tokens=20))
    assert tight.sample_max_tokens == [20]  # max_tokens still bounds it


def test_a_comment_in_the_open_call_is_drawn_again_for_arguments_that_bind(index):
    """4 of 24 real call sites got nothing: the model wrote only `  # type: ignore` after `(`."""
    runtime = ScriptedRuntime("  # type: ignore", ['code, "python")'])
    result = complete(index, runtime)
    assert [s.text for s in result.suggestions] == ['code, "python")']
    assert result.suggestions[0].verdict == guard.Verdict(
        guard.LOCAL, bound=("Syntax()",), resampled=True
    )
    assert result.dropped == {"drop_comment_in_open_call": 1}
    assert result.resampled == {"drawn": 1, "bound": 1, "given_up": 0, "bare": 0, "repaired": 0}


def test_drawing_stops_at_the_first_candidate_whose_call_binds(index):
    """Issue 18: resampled requests cost many greedy ones while every candidate ran to its end."""
    runtime = FakeRuntime(
        greedy='lexer="python")',
        sampled=["theme=1)", 'code, "python")', "code, lexer)", 'code, "c")'],
    )
    result = complete(index, runtime)
    # the greedy answer, then two drawn: the second binds, the third and fourth are never written
    assert len(runtime.pieces) == 3 and runtime.pieces[1:] == [3, 5]
    assert [g.text for g in result.generations[1:]] == ["theme=1)", 'code, "python")']
    assert result.resampled == {"drawn": 2, "bound": 1, "given_up": 0, "bare": 0, "repaired": 0}
    assert [s.text for s in result.suggestions] == ['code, "python")', 'lexer="python")']
    assert result.suggestions[0].verdict == guard.Verdict(
        guard.LOCAL, bound=("Syntax()",), resampled=True
    )


def test_the_early_exit_asks_about_the_filtered_candidate_and_only_a_binding_one_ends_it(index):
    # a comment after "(" is dropped by the filters: not a call that binds, so drawing goes on
    runtime = FakeRuntime(
        greedy='lexer="python")', sampled=["  # type: ignore", "1, 2, 3)", 'code, "python")']
    )
    result = complete(index, runtime)
    assert len(runtime.pieces) == 4
    assert result.resampled == {"drawn": 3, "bound": 1, "given_up": 0, "bare": 0, "repaired": 0}
    assert result.dropped == {"drop_comment_in_open_call": 1}
    assert result.suggestions[0].text == 'code, "python")'
    # none binds: every one of resample_unbound is drawn, the greedy one stays flagged
    none = FakeRuntime(greedy='lexer="python")', sampled=["theme=1)"] * 4)
    flagged = complete(index, none)
    assert len(none.pieces) == 1 + Config().resample_unbound
    assert flagged.resampled == {"drawn": 4, "bound": 0, "given_up": 0, "bare": 0, "repaired": 0}
    assert [s.text for s in flagged.suggestions] == ['lexer="python")']
    assert flagged.suggestions[0].verdict.reasons == (SYNTAX_REASON,)


def test_the_check_handed_to_the_engine_is_the_guards_binding_of_that_candidate(index):
    runtime = FakeRuntime(greedy='lexer="python")', sampled=["theme=1)"])
    complete(index, runtime)
    enough = runtime.samplings[0].enough
    assert enough is not None and runtime.samplings[0].distinct_starts
    assert enough(generation('code, "python")')) is True
    assert enough(generation('lexer="python")')) is False  # does not bind
    assert enough(generation("  # type: ignore")) is False  # nothing left after the filters
    assert enough(generation("width)")) is False  # binds, but width is unseen here: not local


def test_a_resampled_candidate_ends_with_the_parenthesis_that_closes_the_call(index):
    """What resampling fixes is the call at the cursor; the rest of the line only cost steps."""
    runtime = FakeRuntime(
        greedy='lexer="python") or None',
        sampled=["theme=1) if code else None", '"x)", "python") + 1'],
    )
    result = complete(index, runtime)
    # the drawn ones stop at the call's ")" (one inside a string does not count), and the one
    # that binds is shown as it ended; the greedy answer, whose call does not bind, too
    # (test_resample_giving_up: it keeps its line when its call binds or resampling is off)
    assert [g.text for g in result.generations] == [
        'lexer="python")',
        "theme=1)",
        '"x)", "python")',
    ]
    assert [g.stop_reason for g in result.generations] == ["stop_rule"] * 3
    assert [s.text for s in result.suggestions] == ['"x)", "python")', 'lexer="python")']
    assert result.suggestions[0].verdict.resampled


def test_with_the_cursor_inside_a_list_the_resampled_candidates_keep_their_line(index):
    # the innermost bracket open at the cursor is "[", not the call's "(": no cut at a ")"
    runtime = FakeRuntime(greedy="1, 2])", sampled=['1], "python") + 1'])
    result = complete(index, runtime, typed="syntax = Syntax([")
    assert [g.text for g in result.generations] == ["1, 2])", '1], "python") + 1']
    assert result.resampled == {"drawn": 1, "bound": 1, "given_up": 0, "bare": 0, "repaired": 0}
