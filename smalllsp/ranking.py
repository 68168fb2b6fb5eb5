"""Ranking several candidates for one cursor (budget reallocation).

Candidates arrive already cut and filtered (post-processing dropped the
empty and the syntax-breaking ones, the guard the withheld ones). What is
left is ranked the way self-consistency works for code: an answer several
independent samples agree on is more likely right than one a single sample
wrote, however confident. So, in order:

1. duplicates merge (same text up to spacing inside lines; indentation
   counts): one item, the support of all;
2. agreement: how many candidates start with the same first line;
3. support: how many candidates wrote exactly this text;
4. mean log-probability of the candidate's tokens under the model;
5. the order drawn (candidate 0 is the greedy one when it is included).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Generic, Sequence, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Candidate(Generic[T]):
    text: str
    mean_logprob: float
    index: int  # the order it was drawn in
    payload: T  # what the caller keeps with it (the generation and the guard's verdict)


@dataclasses.dataclass(frozen=True)
class Ranked(Generic[T]):
    candidate: Candidate[T]
    support: int  # candidates with this text (up to whitespace)
    agreement: int  # candidates with this first line (up to whitespace)

    @property
    def text(self) -> str:
        return self.candidate.text


def normalized(text: str) -> str:
    """The text with spacing inside lines made single spaces and blank lines dropped.

    Formatting does not make answers differ; indentation does (it changes
    what the code means), so it is kept.
    """
    lines = []
    for line in text.split("\n"):
        if line.strip():
            lines.append(line[: len(line) - len(line.lstrip())] + " ".join(line.split()))
    return "\n".join(lines)


def first_line(text: str) -> str:
    """The first line with code on it, normalized (its indentation kept)."""
    return normalized(text).split("\n", 1)[0]


def rank(candidates: Sequence[Candidate[T]]) -> list[Ranked[T]]:
    """Unique candidates, best first."""
    by_text: dict[str, list[Candidate[T]]] = {}
    for candidate in candidates:
        by_text.setdefault(normalized(candidate.text), []).append(candidate)
    lines = Counter(first_line(c.text) for c in candidates)
    ranked = []
    for group in by_text.values():
        best = max(group, key=lambda c: (c.mean_logprob, -c.index))
        ranked.append(Ranked(best, support=len(group), agreement=lines[first_line(best.text)]))
    ranked.sort(
        key=lambda r: (-r.agreement, -r.support, -r.candidate.mean_logprob, r.candidate.index)
    )
    return ranked
