"""The greedy token that does not begin an answer with a comment (``Runtime.generate``'s avoid_start)."""

from __future__ import annotations

import numpy as np
import pytest

from smalllsp.engine.sampling import best_not_starting

PIECES = ["  #", "  ", " type", "code", ")", "", "#"]


def logits(*order: int) -> np.ndarray:
    """Logits ranking PIECES' indices in ``order``, best first."""
    values = np.full(len(PIECES), -10.0, dtype=np.float32)
    for rank, token in enumerate(order):
        values[token] = 5.0 - rank
    return values


@pytest.mark.parametrize(
    ("written", "order", "expected"),
    [
        ("", (0, 3), 3),  # "  #" begins a comment: the next best
        ("", (1, 3), 3),  # "  " leaves it blank, and "  " then "#" is a comment all the same
        ("", (5, 4), 4),  # the empty piece (an end) leaves it blank too
        ("  ", (6, 2), 2),  # after whitespace, "#" still begins it with a comment
        ("", (3, 0), 3),  # the best one is taken when it begins with code
    ],
)
def test_the_best_token_that_begins_the_answer_with_code(written, order, expected):
    assert best_not_starting(logits(*order), written, "#", PIECES.__getitem__) == expected


def test_when_no_token_begins_it_with_code_the_best_one_is_taken():
    blank_or_comment = ["  #", "  ", "", "#"]
    values = np.array([1.0, 4.0, 2.0, 3.0], dtype=np.float32)
    assert best_not_starting(values, "", "#", blank_or_comment.__getitem__) == 1
