"""Choosing a token from the logits: nucleus sampling for extra candidates, and the log-probability
of the chosen token (read from one row of logits, since ``logits_all`` would cost n_ctx x vocabulary);
and how many candidates to decode side by side when drawing stops at the first good one."""

from __future__ import annotations

from typing import Callable

import numpy as np

from smalllsp.engine.constants import TOP_K

# A step's extra cost for each further row side by side, as a share of one row's, until measured
# (2-core CPU, 0.5B model: ~1.8x for 2 rows, ~2.8x for 4; StepCosts.DEFAULT_SLOPE).
DEFAULT_ROW_COST = 0.6


def sample_token(
    logits: np.ndarray,
    temperature: float,
    top_p: float,
    rng: np.random.Generator,
    avoid: set[int] | None = None,
) -> int:
    """One token drawn from the top-k/top-p nucleus of ``logits`` at ``temperature``, none of ``avoid``."""
    if avoid:
        logits = logits.copy()
        logits[list(avoid)] = -np.inf
    k = min(TOP_K, logits.size)
    top = np.argpartition(logits, -k)[-k:]
    top = top[np.argsort(logits[top])[::-1]]
    scaled = logits[top].astype(np.float64) / max(temperature, 1e-6)
    probs = np.exp(scaled - scaled[0])
    probs /= probs.sum()
    keep = int(np.searchsorted(np.cumsum(probs), top_p)) + 1
    nucleus = probs[:keep] / probs[:keep].sum()
    return int(top[rng.choice(keep, p=nucleus)])


def best_not_starting(
    logits: np.ndarray, written: str, avoid: str, piece: Callable[[int], str]
) -> int:
    """The most likely token after ``written`` (blank so far) that does not begin the answer with
    ``avoid``: passed over are the tokens that do (after spaces) and those that add only spaces
    (``"  "`` then ``#`` is the same comment). An end (an empty piece) or a line break is kept:
    the model saying nothing goes here. Among the top :data:`TOP_K`, else the most likely."""
    k = min(TOP_K, logits.size)
    top = np.argpartition(logits, -k)[-k:]
    for token in top[np.argsort(logits[top])[::-1]]:
        text = piece(int(token))
        begun = (written + text).lstrip(" \t")
        if (begun or not text) and not begun.startswith(avoid):
            return int(token)
    return int(np.argmax(logits))


def token_logprob(logits: np.ndarray, token: int) -> float:
    """log-softmax of ``token`` under the model's own distribution (temperature 1)."""
    peak = float(logits.max())
    return float(logits[token]) - peak - float(np.log(np.sum(np.exp(logits - peak))))


class Acceptance:
    """How often a drawn candidate passed the caller's ``enough`` check, learned per runtime.

    The share starts at one in two (Laplace's rule: one pass and one fail
    assumed) and follows what the checks answered, so the choice of rows
    side by side (:func:`rows_side_by_side`) adapts to how often resampling
    finds a candidate that binds.
    """

    def __init__(self) -> None:
        self.asked = 0
        self.passed = 0

    def note(self, passed: bool) -> bool:
        self.asked += 1
        self.passed += passed
        return passed

    def rate(self) -> float:
        return (self.passed + 1) / (self.asked + 2)


def rows_side_by_side(
    step_seconds: Callable[[int], float | None], wanted: int, acceptance: float
) -> int:
    """How many candidates to decode side by side when drawing stops at the first good one.

    With k rows, one round of steps costs ``cost(k)`` a step and finds a good
    candidate with probability ``1 - (1 - p)^k``; the expected time to the
    first good one is the ratio, and the k that minimizes it wins. On a CPU
    a step with 4 rows costs ~2.8x one, so at p = 1/2 one row at a time with
    an early exit is fastest; on a GPU rows are nearly free, so all of them
    go side by side. ``step_seconds(k)`` is the measured (or extrapolated)
    cost of a step with k rows, None when nothing was measured (then each
    further row is taken to cost DEFAULT_ROW_COST of one).
    """
    p = min(max(acceptance, 1e-3), 1.0)
    one = step_seconds(1)

    def cost(k: int) -> float:
        measured = step_seconds(k)
        if measured is None or one is None:
            return 1 + DEFAULT_ROW_COST * (k - 1)
        return measured / one

    best = min(range(1, wanted + 1), key=lambda k: (cost(k) / (1 - (1 - p) ** k), k))
    return max(1, best)


def generators(seed: int | None, n: int) -> list[np.random.Generator]:
    """One random generator per candidate: candidate i draws from ``seed + i`` (fresh ones for None)."""
    return [np.random.default_rng(None if seed is None else seed + i) for i in range(n)]
