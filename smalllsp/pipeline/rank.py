"""Ranking several candidates for one cursor (budget reallocation).

Candidates arrive already cut and filtered; :func:`sift` drops the empty
ones and, under the ``withhold`` policy, the cross-file ones, and keeps each
with the guard's verdict. What is left is ranked the way self-consistency works for code: an answer several
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
import logging
from collections import Counter
from typing import Callable, Generic, Sequence, TypeVar

from smalllsp import guard
from smalllsp.config import CrossFilePolicy
from smalllsp.engine.runtime import Generation

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A suggestion and its verdict: what the client is shown, and what the cache keeps."""

    text: str  # to insert at the cursor
    verdict: guard.Verdict = guard.LOCAL_VERDICT
    support: int = 1  # candidates that wrote this text (up to whitespace)
    agreement: int = 1  # candidates that start with its first line


@dataclasses.dataclass(frozen=True)
class Candidate(Generic[T]):
    text: str
    mean_logprob: float
    index: int  # the order it was drawn in
    payload: T  # what the caller keeps with it (the guard's verdict)


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


def sift(
    generations: Sequence[Generation],
    finished: Sequence[tuple[str, str | None]],
    judge: Callable[[str], guard.Verdict],
    policy: CrossFilePolicy,
    offset: int = 0,
) -> tuple[list[Candidate[guard.Verdict]], dict[str, int]]:
    """The candidates worth ranking, each with its verdict, and how many were dropped and why.

    ``finished`` holds each generation's filtered text and the filter that
    left nothing of it. Under the ``withhold`` policy a cross-file candidate
    is dropped here, so a local one can take its place; under ``allow`` every
    verdict is local. ``offset``: the index of the first generation among all
    drawn for the request.
    """
    dropped: Counter[str] = Counter()
    candidates = []
    for index, (generation, (text, emptied_by)) in enumerate(zip(generations, finished)):
        if not text:
            dropped[emptied_by or "empty"] += 1
            continue
        verdict = judge(text)
        if verdict.cross_file and policy == "withhold":
            dropped["withheld"] += 1
            log.info("withheld a cross-file candidate: %s", "; ".join(verdict.reasons))
            continue
        if policy == "allow":
            verdict = guard.LOCAL_VERDICT
        candidates.append(Candidate(text, generation.mean_logprob, offset + index, verdict))
    return candidates, dict(dropped)


def suggestions(ranked: Sequence[Ranked[guard.Verdict]]) -> tuple[Suggestion, ...]:
    return tuple(Suggestion(r.text, r.candidate.payload, r.support, r.agreement) for r in ranked)
