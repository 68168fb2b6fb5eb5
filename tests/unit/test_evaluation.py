"""The eval harness: pass@k, the HumanEval infilling tasks, the sandbox, the scores."""

import math
from itertools import combinations

import pytest

from smalllsp.evaluation import humaneval, metrics, sandbox
from smalllsp.evaluation.runner import document_for


def brute_pass_at_k(n, c, k):
    """The definition: the share of k-subsets of the n samples holding at least one of the c correct ones."""
    subsets = list(combinations(range(n), k))
    return sum(any(i < c for i in subset) for subset in subsets) / len(subsets)


@pytest.mark.parametrize(
    "n,c,k",
    [
        (1, 0, 1),
        (1, 1, 1),
        (4, 1, 1),
        (4, 1, 2),
        (5, 2, 3),
        (8, 3, 4),
        (10, 0, 5),
        (10, 9, 2),
        (6, 6, 6),
    ],
)
def test_pass_at_k_is_the_unbiased_estimator(n, c, k):
    assert math.isclose(metrics.pass_at_k(n, c, k), brute_pass_at_k(n, c, k))


def test_pass_at_k_refuses_impossible_counts():
    for n, c, k in ((3, 4, 1), (3, 1, 0), (3, 1, 4), (3, -1, 1)):
        with pytest.raises(ValueError):
            metrics.pass_at_k(n, c, k)


def test_exact_match_and_edit_similarity():
    assert metrics.exact_match("    return x\n", "    return x  \n\n")
    assert not metrics.exact_match("    return x", "        return x")  # indentation matters
    assert metrics.edit_similarity("return x", "return x") == 1.0
    assert metrics.edit_similarity("", "") == 1.0 and metrics.edit_similarity("", "abc") == 0.0
    assert math.isclose(metrics.edit_similarity("return y", "return x"), 1 - 1 / 8)
    assert metrics.levenshtein("kitten", "sitting") == 3
    assert metrics.percentile([5, 1, 3, 2, 4], 50) == 3 and metrics.percentile([], 50) is None


@pytest.fixture(scope="module")
def problems():
    return humaneval.load_problems()


def test_the_published_task_counts(problems):
    assert len(problems) == 164
    assert len(humaneval.derive(problems, "single-line")) == 1033  # Bavarian et al. 2022
    assert len(humaneval.derive(problems, "multi-line")) == 5815


@pytest.mark.parametrize("kind", humaneval.KINDS)
def test_every_task_is_its_problem_with_a_hole(problems, kind):
    for task in humaneval.derive(problems, kind):
        assert (
            task.prefix + task.middle + task.suffix
            == task.problem.prompt + task.problem.canonical_solution
        )
        assert task.middle.strip() and task.middle.endswith("\n") and task.prefix.endswith("\n")
        assert (
            task.middle.split("\n")[0].strip() and task.middle.rstrip("\n").split("\n")[-1].strip()
        )  # starts and ends on code
        if kind == "single-line":
            assert task.middle.count("\n") == 1


def test_the_editor_document_has_an_empty_line_at_the_hole(problems):
    task = humaneval.derive(problems, "single-line")[5]
    text, cursor = document_for(task)
    assert cursor.lines[cursor.line] == "" and cursor.column == 0
    assert "\n".join(cursor.lines[: cursor.line]) + "\n" == task.prefix
    assert "\n".join(cursor.lines[cursor.line + 1 :]) == task.suffix


def test_selection_is_seeded_and_keeps_benchmark_order(problems):
    tasks = humaneval.derive(problems, "single-line")
    chosen = humaneval.select(tasks, 50, seed=3)
    assert len(chosen) == 50 and chosen == humaneval.select(tasks, 50, seed=3) != humaneval.select(
        tasks, 50, seed=4
    )
    order = {task.task_id: i for i, task in enumerate(tasks)}
    assert [order[t.task_id] for t in chosen] == sorted(order[t.task_id] for t in chosen)
    per_problem = {}
    for task in chosen:
        per_problem[task.problem.task_id] = per_problem.get(task.problem.task_id, 0) + 1
    assert (
        max(per_problem.values()) <= 4 and len(per_problem) >= 50 // 4
    )  # a few tasks from each of many problems
    assert humaneval.select(tasks, None, 0) == tasks


def test_the_canonical_answer_passes_and_a_wrong_one_fails(problems):
    tasks = humaneval.select(humaneval.derive(problems, "single-line"), 6, seed=1)
    right = sandbox.run_programs([t.program(t.middle) for t in tasks])
    assert all(o.passed for o in right), [o.detail for o in right]
    wrong = sandbox.run_program(tasks[0].program("    raise ValueError('not the answer')\n"))
    assert not wrong.passed and wrong.reason == "failed" and "ValueError" in wrong.detail


def test_a_program_that_loops_for_ever_is_killed_and_fails():
    outcome = sandbox.run_program("while True:\n    pass\n", sandbox.Limits(timeout_s=1.5))
    assert not outcome.passed and outcome.reason == "timeout"


def test_a_program_that_allocates_too_much_fails():
    outcome = sandbox.run_program("hog = bytearray(2 * 2**30)\n", sandbox.Limits(memory_mb=256))
    assert not outcome.passed and outcome.reason == "memory"


def test_a_program_cannot_reach_the_network():
    outcome = sandbox.run_program(
        "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)\n"
    )
    assert not outcome.passed and "network is off" in outcome.detail


def test_a_program_runs_in_an_empty_directory_without_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SMALLLSP_SECRET", "do-not-leak")
    outcome = sandbox.run_program(
        "import os, sys\n"
        "assert 'SMALLLSP_SECRET' not in os.environ\n"
        "assert os.listdir('.') == ['program.py'], os.listdir('.')\n"
        "assert sys.flags.isolated\n"
    )
    assert outcome.passed, outcome.detail
