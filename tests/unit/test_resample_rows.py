"""How many resampled candidates go side by side (smalllsp.engine.sampling.rows_side_by_side).

Drawing stops at the first candidate that binds, so the question is which
number of rows reaches one soonest, from the measured cost of a step with
k rows and how often a candidate was good so far. The costs below are the
ones measured on this project's 2-core CPU (0.5B model, one thread, load
7-8: 63 ms a step with one row, 221 ms with two, 297 ms with four) and a
GPU-like flat cost.
"""

from __future__ import annotations

from smalllsp.engine.runtime import StepCosts
from smalllsp.engine.sampling import Acceptance, rows_side_by_side

CPU = {1: 0.063, 2: 0.221, 4: 0.297}
GPU = {1: 0.010, 2: 0.0102, 4: 0.0105}


def costs(measured: dict[int, float]) -> StepCosts:
    learned = StepCosts()
    for k, seconds in measured.items():
        learned.record(k, seconds, 8)
    return learned


def test_on_this_cpu_one_row_at_a_time_whatever_the_odds():
    for p in (0.9, 0.5, 0.2, 0.05):
        assert rows_side_by_side(costs(CPU).estimate, 4, p) == 1


def test_on_a_gpu_all_rows_side_by_side_unless_the_first_is_nearly_sure():
    assert rows_side_by_side(costs(GPU).estimate, 4, 0.5) == 4
    assert rows_side_by_side(costs(GPU).estimate, 4, 0.2) == 4
    assert rows_side_by_side(costs(GPU).estimate, 2, 0.5) == 2  # never more than wanted
    assert rows_side_by_side(costs(GPU).estimate, 4, 0.999) == 1


def test_before_any_measurement_each_row_costs_0_6_of_one():
    nothing = StepCosts().estimate
    # 1 row: 1/p; 2 rows: 1.6/(1-(1-p)^2)
    assert rows_side_by_side(nothing, 4, 0.5) == 1  # 2.0 against 2.13
    assert rows_side_by_side(nothing, 4, 0.3) == 2  # 3.33 against 3.14 (4 rows: 3.49)
    assert rows_side_by_side(nothing, 4, 0.05) == 4
    assert rows_side_by_side(nothing, 1, 0.05) == 1


def test_only_one_row_measured_extends_it_with_the_default_slope():
    one = costs({1: 0.05}).estimate
    assert rows_side_by_side(one, 4, 0.5) == 1 and rows_side_by_side(one, 4, 0.05) == 4


def test_acceptance_starts_at_one_in_two_and_follows_the_checks():
    acceptance = Acceptance()
    assert acceptance.rate() == 0.5
    assert acceptance.note(False) is False and acceptance.note(False) is False
    assert acceptance.note(True) is True
    assert (acceptance.asked, acceptance.passed) == (3, 1)
    assert acceptance.rate() == 2 / 5
