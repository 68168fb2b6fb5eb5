"""Scores: pass@k (the unbiased estimator), exact match, edit similarity, percentiles."""

from __future__ import annotations

import math
from typing import Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of ``k`` of the ``n`` samples passes, ``c`` of them passing.

    Chen et al. (2021): 1 - C(n-c, k) / C(n, k), computed as a product so
    it stays exact for large n.
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@{k} of {c} passing out of {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").split("\n")]


def exact_match(written: str, expected: str) -> bool:
    """Same lines, trailing whitespace and blank lines around them aside."""
    return _lines(written) == _lines(expected)


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def edit_similarity(written: str, expected: str) -> float:
    """1 - Levenshtein distance / the longer length, on the stripped texts (1.0: identical)."""
    a, b = "\n".join(_lines(written)).strip(), "\n".join(_lines(expected)).strip()
    if not a and not b:
        return 1.0
    return 1.0 - levenshtein(a, b) / max(len(a), len(b))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]
