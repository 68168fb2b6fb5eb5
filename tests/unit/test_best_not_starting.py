"""The greedy token that does not begin an answer with a comment (``Runtime.generate``'s avoid_start)."""

from __future__ import annotations

import numpy as np
import pytest

from smalllsp.engine.sampling import best_not_starting

PIECES = ["  #", "  ", " type", "code", ")", "", "#", "\n"]


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
        ("", (1, 3), 3),  # "  " adds only spaces, and "  " then "#" is a comment all the same
        ("", (5, 4), 5),  # an end (the empty piece): nothing goes here, kept
        ("  ", (7, 3), 7),  # a line break after spaces: the same
        ("", (1, 0, 7), 7),  # spaces, then spaces and "#": the line break
        ("  ", (6, 2), 2),  # after whitespace, "#" still begins it with a comment
        ("", (3, 0), 3),  # the best one is taken when it begins with code
    ],
)
def test_the_best_token_that_begins_the_answer_with_code(written, order, expected):
    assert best_not_starting(logits(*order), written, "#", PIECES.__getitem__) == expected


def test_when_no_token_begins_it_with_code_the_best_one_is_taken():
    spaces_or_comment = ["  #", "  ", "\t", "#"]
    values = np.array([1.0, 4.0, 2.0, 3.0], dtype=np.float32)
    assert best_not_starting(values, "", "#", spaces_or_comment.__getitem__) == 1
