"""Ranking several candidates: duplicates merge, agreement first, then log-probability."""

from smalllsp.engine.runtime import StepCosts
from smalllsp.pipeline.rank import Candidate, first_line, normalized, rank


def candidates(*rows):
    """rows of (text, mean_logprob); the index is the order given."""
    return [
        Candidate(text, logprob, index, f"payload{index}")
        for index, (text, logprob) in enumerate(rows)
    ]


def test_formatting_does_not_make_answers_differ():
    assert normalized("return  a +\n\n    b ") == "return a +\n    b"
    assert (
        normalized("x  =  1") == normalized("x = 1") != normalized("    x = 1")
    )  # indentation is meaning
    assert first_line("\n   \n    x = 1\n    y = 2") == "    x = 1"


def test_duplicates_merge_into_one_item_with_the_support_of_all_and_the_likeliest_copy():
    ranked = rank(candidates(("return a+b", -0.9), ("return  a+b", -0.2), ("return a-b", -0.1)))
    assert [r.text for r in ranked] == ["return  a+b", "return a-b"]
    assert ranked[0].support == 2 and ranked[0].candidate.payload == "payload1"


def test_agreement_beats_a_single_confident_answer():
    ranked = rank(
        candidates(
            ("x = load()", -0.05),
            ("x = parse(raw)", -0.6),
            ("x = parse(raw)", -0.7),
            ("x = parse(raw)\ny = 1", -0.4),
        )
    )
    assert (
        ranked[0].text == "x = parse(raw)" and ranked[0].agreement == 3 and ranked[0].support == 2
    )
    assert ranked[1].text == "x = parse(raw)\ny = 1" and ranked[1].agreement == 3
    assert ranked[-1].text == "x = load()" and ranked[-1].agreement == 1


def test_without_agreement_the_likeliest_wins_and_ties_keep_the_order_drawn():
    ranked = rank(candidates(("a()", -0.5), ("b()", -0.1), ("c()", -0.1)))
    assert [r.text for r in ranked] == ["b()", "c()", "a()"]


def test_nothing_to_rank_is_nothing():
    assert rank([]) == []


def test_step_costs_shrink_the_candidates_to_fit_the_budget():
    costs = StepCosts(initial_steps=10)
    assert costs.affordable(4, elapsed_s=0.9, budget_s=1.0) == 4  # nothing measured yet: as asked
    costs.record(1, 0.03, steps=10)
    assert abs(costs.estimate(4) - 0.03 * (1 + 0.6 * 3)) < 1e-9  # extrapolated from one candidate
    costs.record(4, 0.08, steps=10)
    assert costs.estimate(4) == 0.08
    assert costs.affordable(4, elapsed_s=0.1, budget_s=1.0) == 4  # 0.1 + 10 x 0.08 fits
    assert costs.affordable(4, elapsed_s=0.5, budget_s=1.0) == 2  # 4 and 3 do not, 2 does
    assert costs.affordable(4, elapsed_s=0.95, budget_s=1.0) == 1
    assert costs.affordable(4, elapsed_s=5.0, budget_s=None) == 4  # no budget, no limit


def test_sift_drops_empty_and_withheld_candidates_and_keeps_the_reasons():
    from smalllsp import guard
    from smalllsp.pipeline.rank import sift
    from smalllsp.engine.runtime import Generation

    def generation(text, logprob):
        return Generation(text, [1], [logprob], 10, 9, 1, "eog", 0.1)

    generations = [
        generation("charge(total)", -0.1),
        generation("", -0.2),
        generation("total * 2", -0.3),
        generation("x(", -0.4),
    ]
    finished = [
        ("charge(total)", None),
        ("", "trim_trailing_whitespace"),
        ("total * 2", None),
        ("", "trim_to_valid_syntax"),
    ]
    cross = guard.Verdict(
        guard.CROSS_FILE, ("uses charge() from billing/api.py, not seen by the model",)
    )

    def judge(text):
        return cross if "charge" in text else guard.LOCAL_VERDICT

    kept, dropped = sift(generations, finished, judge, "withhold")
    assert [c.text for c in kept] == ["total * 2"] and kept[0].index == 2
    assert dropped == {"trim_trailing_whitespace": 1, "trim_to_valid_syntax": 1, "withheld": 1}
    kept, _ = sift(generations, finished, judge, "flag")
    assert [(c.text, c.payload.kind) for c in kept] == [
        ("charge(total)", "cross-file"),
        ("total * 2", "local"),
    ]
    kept, _ = sift(generations, finished, judge, "allow")
    assert all(c.payload == guard.LOCAL_VERDICT for c in kept)
