"""The in-process engine's early exit with the real default model (Sampling.enough).

Resampling asks the engine for up to ``resample_unbound`` candidates and a
check of each finished one ("its call binds"); the engine stops drawing at
the first one that passes, and decodes as many rows side by side as the
measured step costs make worth it. The costs are set by hand here (a CPU
where a second row costs more than a step of its own, a GPU where rows are
nearly free), so the tests say which rows were decoded, not how fast.
"""

from __future__ import annotations

import pytest

from smalllsp.config import Config
from smalllsp.engine.llama import LlamaRuntime
from smalllsp.engine.runtime import Generation, Sampling, StepCosts
from smalllsp.engine.sampling import Acceptance

CPU = {1: 0.063, 2: 0.221, 4: 0.297}  # measured: 2-core CPU, one thread, load 7-8
GPU = {1: 0.010, 2: 0.0102, 4: 0.0105}
TWO = {1: 1.0, 2: 1.0, 4: 10.0}  # two rows as cheap as one: two side by side

CODE = (
    "def quicksort(items):\n    if len(items) <= 1:\n        return items\n    pivot = items[0]\n"
)


@pytest.fixture(scope="module")
def runtime(default_model):
    rt = LlamaRuntime(default_model, Config(n_ctx=1024, n_threads=1))  # a shared, loaded CPU
    yield rt
    rt.close()


def costs(rt: LlamaRuntime, measured: dict[int, float]) -> None:
    rt.step_costs = StepCosts()
    for k, seconds in measured.items():
        rt.step_costs.record(k, seconds, 12)
    rt.acceptance = Acceptance()


def prompt(rt: LlamaRuntime) -> list[int]:
    return rt.fim.layout(rt.tokenize(CODE), rt.tokenize("\n"), rt.tokenize("    "))


def first_line(text: str) -> int | None:
    return text.index("\n") if "\n" in text else None


def test_on_a_cpu_candidates_are_drawn_one_at_a_time_until_one_is_enough(runtime):
    p = prompt(runtime)
    greedy = runtime.generate(p, max_tokens=24, stop_at=first_line)
    costs(runtime, CPU)
    asked: list[str] = []

    def second_is_enough(generation: Generation) -> bool:
        asked.append(generation.text)
        return len(asked) == 2

    sampling = Sampling(4, 1.0, 0.95, seed=5, include_greedy=False, enough=second_is_enough)
    drawn = runtime.sample(p, sampling, max_tokens=24, stop_at=first_line)
    assert [g.text for g in drawn] == asked and len(drawn) == 2  # the third was never started
    assert all(g.tokens and g.stop_reason in ("stop_rule", "eog") for g in drawn)
    assert runtime.step_costs.estimate(2) == CPU[2] and runtime.step_costs.estimate(4) == CPU[4]
    assert (runtime.acceptance.asked, runtime.acceptance.passed) == (2, 1)
    after = runtime.generate(p, max_tokens=24, stop_at=first_line)
    assert after.n_evaluated == 1 and after.text == greedy.text  # the cache holds the prompt only


def test_on_a_gpu_all_go_side_by_side_and_the_first_enough_one_ends_the_batch(runtime):
    p = prompt(runtime)
    greedy = runtime.generate(p, max_tokens=24, stop_at=first_line)
    costs(runtime, GPU)
    asked: list[Generation] = []

    def never(generation: Generation) -> bool:
        asked.append(generation)
        return False

    sampling = Sampling(4, 1.0, 0.95, seed=5, include_greedy=False, enough=never)
    drawn = runtime.sample(p, sampling, max_tokens=24, stop_at=first_line)
    assert len(drawn) == 4 and sorted(g.text for g in asked) == sorted(g.text for g in drawn)
    costs(runtime, GPU)
    sampling = Sampling(4, 1.0, 0.95, seed=5, include_greedy=False, enough=lambda g: True)
    drawn = runtime.sample(p, sampling, max_tokens=24, stop_at=first_line)
    # four rows decoded together (a step with 4 rows was measured anew); the first to end
    # was enough, the three others were dropped unfinished
    assert len(drawn) == 1 and runtime.step_costs.estimate(4) != GPU[4]
    after = runtime.generate(p, max_tokens=24, stop_at=first_line)
    assert after.n_evaluated == 1 and after.text == greedy.text


def test_a_row_freed_by_an_ended_candidate_starts_the_next_from_the_prompt(runtime):
    p = prompt(runtime)
    costs(runtime, TWO)
    # near-greedy sampling: every candidate writes the same line unless a reused row still
    # held the previous candidate's cells
    sampling = Sampling(4, 0.01, 0.95, seed=5, include_greedy=False, enough=lambda g: False)
    drawn = runtime.sample(p, sampling, max_tokens=24, stop_at=first_line)
    assert len(drawn) == 4 and len({g.text for g in drawn}) == 1 and drawn[0].text.strip()
    assert runtime.step_costs.estimate(2) != TWO[2] and runtime.step_costs.estimate(4) == TWO[4]


def test_distinct_starts_give_every_candidate_another_first_token_than_the_greedy_one(runtime):
    p = prompt(runtime)
    greedy = runtime.generate(p, max_tokens=24, stop_at=first_line)
    costs(runtime, CPU)
    sampling = Sampling(
        4, 0.6, 0.95, seed=5, include_greedy=False, enough=lambda g: False, distinct_starts=True
    )
    drawn = runtime.sample(p, sampling, max_tokens=24, stop_at=first_line)
    firsts = [g.tokens[0] for g in drawn]
    assert len(drawn) == 4 and len({greedy.tokens[0], *firsts}) == 5
    # without it, near-greedy sampling starts every candidate as the greedy answer did
    plain = Sampling(4, 0.01, 0.95, seed=5, include_greedy=False, enough=lambda g: False)
    assert {g.tokens[0] for g in runtime.sample(p, plain, max_tokens=24, stop_at=first_line)} == {
        greedy.tokens[0]
    }


def test_a_draw_right_after_the_greedy_answer_starts_from_its_logits_and_reads_nothing(runtime):
    """Resampling used to read the prompt's last token again (one step of the ~10 it cost)."""
    p = prompt(runtime)
    greedy = runtime.generate(p, max_tokens=24, stop_at=first_line)
    costs(runtime, CPU)
    reused = runtime.prompt_end.reused
    # the greedy candidate of a draw from the kept logits is the greedy answer, token for
    # token: the answer's cells after the prompt were dropped before the rows were decoded
    again = runtime.sample(p, Sampling(1, 1.0, 0.95, seed=5), max_tokens=24, stop_at=first_line)
    assert again[0].n_evaluated == 0 and again[0].n_reused == len(p)
    assert again[0].tokens == greedy.tokens and again[0].text == greedy.text
    assert runtime.prompt_end.reused == reused + 1
    after = runtime.generate(p, max_tokens=24, stop_at=first_line)
    assert after.n_evaluated == 1 and after.text == greedy.text  # the cache holds the prompt only
    # another prompt read since: the kept logits are not that prompt's, it is read as before
    runtime.generate(p[:-2], max_tokens=4)
    read = runtime.sample(p, Sampling(1, 1.0, 0.95, seed=5), max_tokens=24, stop_at=first_line)
    assert read[0].n_evaluated == 2 and runtime.prompt_end.reused == reused + 1
    assert read[0].tokens == greedy.tokens
