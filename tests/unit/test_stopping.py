"""The one answer/stop-rule class both engines use."""

from smalllsp.engine.stopping import Answer

EOG = 0


def answer(max_tokens=10, stop_at=None, budget=None, started=0.0, is_end=None):
    return Answer(is_end or (lambda t: t == EOG), max_tokens, stop_at, budget, started)


def test_an_end_token_ends_the_answer_and_is_not_part_of_it():
    a = answer()
    assert a.take(5, "x", -0.5) is False
    assert a.take(EOG, "", -0.1) is True
    assert (a.text, a.tokens, a.logprobs, a.reason) == ("x", [5], [-0.5], "eog")


def test_the_stop_predicate_cuts_the_text():
    a = answer(stop_at=lambda text: text.index("\n") if "\n" in text else None)
    a.take(1, "ab", -1.0)
    assert a.take(2, "c\nd", -1.0) is True
    assert (a.text, a.reason) == ("abc", "stop_rule")


def test_past_the_time_budget_the_answer_ends_at_the_next_line_break():
    a = answer(budget=0.0, started=0.0)  # over budget from the start
    assert a.take(1, "ab", -1.0) is False  # no line break yet: go on
    assert a.take(2, "c\nd", -1.0) is True
    assert (a.text, a.reason) == ("abc", "time_budget")


def test_max_tokens_bounds_the_answer():
    a = answer(max_tokens=2)
    a.take(1, "a", -1.0)
    assert a.take(2, "b", -1.0) is True and a.reason == "max_tokens"


def test_bytes_of_one_character_split_over_two_tokens_decode_once():
    a = answer()
    data = "é".encode()
    a.take_bytes(1, data[:1], -1.0)
    a.take_bytes(2, data[1:], -1.0)
    assert a.text == "é" and a.tokens == [1, 2]


def test_an_unknown_empty_last_token_before_the_servers_end_is_dropped():
    a = answer(is_end=lambda t: None)  # a remote engine without the vocabulary here
    a.take(7, "x", -1.0)
    a.take(8, "", None)  # the end-of-generation token, as an empty piece
    a.finish("eog")
    assert (a.tokens, a.text, a.reason) == ([7], "x", "eog")


def test_a_non_finite_logprob_counts_as_zero_and_a_warmup_reads_only_the_prompt():
    a = answer()
    a.take(3, "y", float("nan"))
    assert a.logprobs == [0.0]
    w = answer(max_tokens=0)
    w.finish("warmup")
    g = w.generation(10, 4, 6, 0.5)
    assert (g.stop_reason, g.n_prompt, g.n_reused, g.n_evaluated, g.tokens) == (
        "warmup",
        10,
        4,
        6,
        [],
    )
