"""The whole pipeline above the engine with the fake runtime: plan, stop, filter, judge, rank.

Fast and model-free; the same path with the real model is tested end to end
in tests/e2e (test_inline_completion, test_best_of_n, test_cross_file).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from smalllsp import pipeline
from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.engine.worker import Cancelled
from smalllsp.syntax import scope
from smalllsp.workspace.index import WorkspaceIndex
from tests.support.fake_runtime import Answer, FakeRuntime, document_at

FUNCTION = "def area(r):\n    █\n"
ROOT = Path(__file__).parent.parent / "fixtures" / "guard_workspace"


def complete(runtime, marked=FUNCTION, config=Config(), sources=None, cancelled=lambda: False):
    args = (runtime, config, "python", document_at(marked), cancelled)
    return pipeline.generate(*args, sources) if sources is not None else pipeline.generate(*args)


def test_greedy_decoding_shows_the_answer_cut_at_the_end_of_the_function():
    runtime = FakeRuntime(greedy="return 3.14 * r * r\n\nprint(area(2))\n")
    result = complete(runtime)
    assert [s.text for s in result.suggestions] == ["return 3.14 * r * r"]
    assert result.finished == ("return 3.14 * r * r",) and result.dropped == {}
    assert result.best is not None and result.best.verdict.kind == "local"
    assert len(runtime.prompts) == 1 and runtime.samplings == []
    assert result.stats()["samples"] == 1 and result.stats()["suggestions"] == 1


def test_samples_agreeing_on_a_first_line_outrank_the_greedy_answer():
    runtime = FakeRuntime(
        greedy=Answer("return r * r", -0.1),
        sampled=[Answer("return 3.14 * r * r", -0.9), Answer("return 3.14 * r  *  r", -0.8)],
    )
    result = complete(runtime, config=Config(samples=3, seed=7))
    assert [(s.text, s.support, s.agreement) for s in result.suggestions] == [
        ("return 3.14 * r  *  r", 2, 2),  # the better log-probability of the two that agree
        ("return r * r", 1, 1),
    ]
    (sampling,) = runtime.samplings
    assert (sampling.n, sampling.seed, sampling.include_greedy) == (3, 7, True)


def test_candidates_the_filters_empty_are_counted_by_the_filter():
    runtime = FakeRuntime(
        greedy="  \n", sampled=["))) ((", "return r"]
    )  # whitespace, broken syntax, an answer
    result = complete(runtime, config=Config(samples=3))
    assert [s.text for s in result.suggestions] == ["return r"]
    assert result.dropped == {"trim_trailing_whitespace": 1, "trim_to_valid_syntax": 1}
    assert result.finished == ("", "", "return r")


@pytest.fixture(scope="module")
def index() -> WorkspaceIndex:
    built = WorkspaceIndex([ROOT])
    built.build()
    return built


def checkout(index: WorkspaceIndex) -> tuple[str, Sources]:
    path = ROOT / "shop" / "checkout.py"
    text = path.read_text()
    row = text.split("\n").index("    return total")
    lines = text.split("\n")
    lines[row] = "    █"
    sources = Sources(str(path), "shop/checkout.py", ROOT.name, index.outline_of(str(path)), index)
    return "\n".join(lines), sources


def test_under_withhold_a_cross_file_candidate_gives_way_to_a_local_one(index):
    marked, sources = checkout(index)
    unseen = (
        'raise PaymentError("declined")'  # from billing/api.py; the prompt has no global section
    )
    runtime = FakeRuntime(greedy=Answer(unseen, -0.1), sampled=[Answer("return total", -0.9)])
    flagged = complete(
        runtime, marked, Config(samples=2, resample_unbound=0, global_tokens=0), sources
    )
    assert [(s.text, s.verdict.kind) for s in flagged.suggestions] == [
        (unseen, "cross-file"),
        ("return total", "local"),
    ]
    withheld = complete(
        runtime,
        marked,
        Config(samples=2, resample_unbound=0, global_tokens=0, cross_file_policy="withhold"),
        sources,
    )
    assert [s.text for s in withheld.suggestions] == ["return total"]
    assert withheld.dropped == {"withheld": 1}
    allowed = complete(
        runtime,
        marked,
        Config(samples=2, resample_unbound=0, global_tokens=0, cross_file_policy="allow"),
        sources,
    )
    assert [s.verdict.kind for s in allowed.suggestions] == ["local", "local"]


def test_each_text_is_cut_at_its_scope_once(monkeypatch):
    """The stop predicate asks as each line completes, the filters at the end: one parse each."""
    seen: Counter[str] = Counter()
    real = scope.scope_cut

    def counting(language_id, head, candidate, tail, tree=None):
        seen[candidate] += 1
        return real(language_id, head, candidate, tail, tree)

    monkeypatch.setattr(scope, "scope_cut", counting)
    answers = ["x = r\n    y = x\n    return y\n", "return r\nprint(1)\n", "return r * r"]
    runtime = FakeRuntime(greedy=answers[0], sampled=answers[1:])
    result = complete(runtime, config=Config(samples=3))
    assert sorted(s.text for s in result.suggestions) == sorted(
        ["x = r\n    y = x\n    return y", "return r", "return r * r"]
    )
    assert seen and set(seen.values()) == {1}


def test_a_cancelled_request_stops_the_engine():
    with pytest.raises(Cancelled):
        complete(FakeRuntime(greedy="return r"), cancelled=lambda: True)


def test_warm_reads_the_prompt_and_writes_nothing():
    runtime = FakeRuntime(greedy="return r")
    generation = pipeline.warm(runtime, Config(), "python", document_at(FUNCTION), lambda: False)
    assert generation.text == "" and generation.stop_reason == "warmup"
    context = pipeline.plan(runtime, Config(), "python", document_at(FUNCTION))
    assert runtime.prompts == [context.prompt.tokens]
