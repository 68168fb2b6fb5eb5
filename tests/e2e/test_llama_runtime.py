"""The in-process runtime with the real default model: KV reuse accounting, log-probabilities, cancellation."""

import math

import pytest

from smalllsp.config import Config
from smalllsp.engine.llama import LlamaRuntime, ModelError, check_model_file
from smalllsp.engine.worker import Cancelled


@pytest.fixture(scope="module")
def runtime(default_model):
    rt = LlamaRuntime(default_model, Config(n_ctx=1024))
    yield rt
    rt.close()


def prompt(rt, prefix, suffix="", middle=""):
    return rt.fim.layout(rt.tokenize(prefix), rt.tokenize(suffix), rt.tokenize(middle))


def test_only_the_tokens_after_the_cached_prefix_are_evaluated(runtime):
    first = prompt(runtime, "def add(a, b):\n", "\n", "    ")
    cold = runtime.generate(first, max_tokens=4)
    assert cold.n_reused == 0 and cold.n_evaluated == len(first)
    again = runtime.generate(first, max_tokens=4)
    assert (
        again.n_reused == len(first) - 1 and again.n_evaluated == 1
    )  # the last token gives the logits
    assert again.text == cold.text  # greedy: the same answer
    typed = prompt(runtime, "def add(a, b):\n", "\n", "    return")
    warm = runtime.generate(typed, max_tokens=4)
    assert warm.n_evaluated == len(typed) - warm.n_reused <= 3


def test_log_probabilities_of_the_sampled_tokens(runtime):
    g = runtime.generate(
        prompt(runtime, "import math\n\ndef area(r):\n    return ", "\n"), max_tokens=6
    )
    assert len(g.logprobs) == len(g.tokens) > 0
    assert all(-50 < lp <= 0 and math.isfinite(lp) for lp in g.logprobs)


def test_a_warm_up_evaluates_without_generating(runtime):
    g = runtime.generate(prompt(runtime, "class Point:\n", "\n"), max_tokens=0)
    assert g.tokens == [] and g.stop_reason == "warmup" and g.n_evaluated > 0


def test_the_stop_predicate_cuts_and_stops(runtime):
    g = runtime.generate(
        prompt(runtime, "def f():\n", "\n", "    "),
        max_tokens=32,
        stop_at=lambda text: 3 if len(text) >= 3 else None,
    )
    assert g.stop_reason == "stop_rule" and len(g.text) == 3


def test_cancelled_between_tokens_and_the_next_call_still_works(runtime):
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        runtime.generate(
            prompt(runtime, "def fib(n):\n", "\n", "    "), max_tokens=32, cancelled=cancelled
        )
    g = runtime.generate(prompt(runtime, "def fib(n):\n", "\n", "    "), max_tokens=4)
    assert g.tokens


def test_a_prompt_too_long_for_the_context_is_refused(runtime):
    with pytest.raises(ValueError, match="exceeds the context"):
        runtime.generate([1] * 1000, max_tokens=100)


def test_bad_model_files_are_refused_by_name(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        check_model_file(tmp_path / "missing.gguf")
    text = tmp_path / "text.gguf"
    text.write_text("hello")
    with pytest.raises(ModelError, match="not a GGUF file"):
        check_model_file(text)


def test_a_bad_cache_type_is_refused_before_loading(default_model):
    with pytest.raises(ModelError, match="flash_attn"):
        LlamaRuntime(default_model, Config(cache_type="q8_0"))
    with pytest.raises(ModelError, match="not one of"):
        LlamaRuntime(default_model, Config(cache_type="q2"))


DEMO = '''import math


def circle_area(radius):
    """Return the area of a circle with the given radius."""
    


def main():
    print(circle_area(2.0))
'''


def test_the_model_runs_past_the_function_and_the_pipeline_stops_it_there(runtime):
    from smalllsp import pipeline
    from smalllsp.context.window import Cursor

    config = Config(n_ctx=1024, time_budget_ms=60_000)
    cursor = Cursor(DEMO.split("\n"), 5, 4)
    prompt = pipeline.plan(runtime, config, "python", cursor).prompt
    raw = runtime.generate(prompt.tokens, max_tokens=96)  # no stop predicate
    assert "\ndef " in raw.text or "__main__" in raw.text, raw.text  # the 0.5B model runs on

    result = pipeline.generate(runtime, config, "python", cursor, lambda: False)
    (generation,) = result.generations
    suggestion = result.best
    assert suggestion is not None and generation.stop_reason == "stop_rule"
    assert (
        suggestion.text.strip()
        and "def " not in suggestion.text
        and "__main__" not in suggestion.text
    )
    assert len(generation.tokens) < len(raw.tokens)  # stopped early, not trimmed afterwards


QUICKSORT = (
    "def quicksort(items):\n    if len(items) <= 1:\n        return items\n    pivot = items[0]\n"
)


def test_sampling_reads_the_prompt_once_and_candidate_0_is_the_greedy_answer(runtime):
    from smalllsp.engine.runtime import Sampling

    p = prompt(runtime, QUICKSORT, "\n", "    ")
    greedy = runtime.generate(p, max_tokens=24)
    drawn = runtime.sample(p, Sampling(4, temperature=1.0, top_p=0.95, seed=7), max_tokens=24)
    assert len(drawn) == 4
    assert drawn[0].text == greedy.text  # decoded side by side, the greedy sequence writes the same
    # the prompt came from the cache, once for all four, and right after the greedy answer its
    # last token is not read again either: the draw starts from the logits that answer did
    assert {g.n_evaluated for g in drawn} == {0}
    assert all(len(g.logprobs) == len(g.tokens) > 0 for g in drawn)
    assert len({g.text for g in drawn}) > 1  # temperature 1: the samples differ
    again = runtime.sample(p, Sampling(4, temperature=1.0, top_p=0.95, seed=7), max_tokens=24)
    assert [g.text for g in again] == [g.text for g in drawn]  # same seed, same candidates
    after = runtime.generate(p, max_tokens=24)
    assert (
        after.n_evaluated == 1 and after.text == greedy.text
    )  # the cache holds the prompt, nothing else


def test_each_candidate_stops_on_its_own_and_a_cancel_leaves_the_cache_usable(runtime):
    from smalllsp.engine.runtime import Sampling

    p = prompt(runtime, QUICKSORT, "\n", "    ")
    cut_at_first_line = lambda text: text.index("\n") if "\n" in text else None  # noqa: E731
    drawn = runtime.sample(
        p, Sampling(3, 1.0, 0.95, seed=1), max_tokens=48, stop_at=cut_at_first_line
    )
    assert all("\n" not in g.text and g.stop_reason in ("stop_rule", "eog") for g in drawn)
    polls = []
    with pytest.raises(Cancelled):
        runtime.sample(
            p,
            Sampling(3, 1.0, 0.95),
            max_tokens=48,
            cancelled=lambda: polls.append(1) or len(polls) > 4,
        )
    greedy = runtime.generate(p, max_tokens=24)
    assert (
        greedy.n_evaluated == 1
        and greedy.text == runtime.sample(p, Sampling(2, 1.0, 0.95), max_tokens=24)[0].text
    )


def test_the_latency_budget_draws_fewer_candidates(runtime):
    from smalllsp.engine.runtime import Sampling

    p = prompt(runtime, QUICKSORT, "\n", "    ")
    runtime.sample(
        p, Sampling(4, 1.0, 0.95, seed=3), max_tokens=16
    )  # measures what a step with 4 costs
    assert len(runtime.sample(p, Sampling(4, 1.0, 0.95, budget_s=0.001), max_tokens=16)) == 1
    assert len(runtime.sample(p, Sampling(4, 1.0, 0.95, budget_s=600), max_tokens=16)) == 4


def test_candidates_that_would_not_fit_the_context_are_not_drawn(runtime):
    from smalllsp.engine.runtime import Sampling

    p = prompt(runtime, QUICKSORT, "\n", "    ")
    room = runtime.n_ctx - len(p)
    first_token_only = lambda text: len(text)  # noqa: E731
    drawn = runtime.sample(
        p, Sampling(4, 1.0, 0.95, seed=2), max_tokens=room // 2, stop_at=first_token_only
    )
    # two answers of room // 2 tokens fit after the prompt, four would not
    assert len(drawn) == 2


def test_an_answer_asked_not_to_begin_with_a_comment_writes_the_arguments(runtime):
    """After a call's ``(`` the model's best answer here is the comment the lines above repeat;
    with ``avoid_start`` it is the best answer that begins with code: the arguments."""
    call = prompt(
        runtime,
        "x = dict(  # type: ignore\n    a=1)\ny = dict(  # type: ignore\n    b=2)\nz = dict(",
        "\n",
    )
    assert runtime.generate(call, max_tokens=8).text.startswith("  # type: ignore")
    assert runtime.generate(call, max_tokens=8, avoid_start="#").text.startswith("c=3)")
