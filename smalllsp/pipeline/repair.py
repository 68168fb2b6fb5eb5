"""A keyword the callee does not take, renamed to the parameter it nearly names (no model step).

On real call sites the 0.5B model's calls that did not bind were most often
a made-up keyword with the right value: ``terminal_color=color)`` where the
callee takes ``color``. Resampling found calls that bind there, but they
were seldom what the code had (``200)``, ``1)``). The guard knows the
callee's parameters and offers the rename (:func:`smalllsp.guard.binder.renames`);
this module writes it into the candidate's text, and the guard judges the
result like any candidate: it is shown only when its calls then bind.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Iterable, Sequence

from smalllsp import guard
from smalllsp.syntax import uses

Rename = tuple[str, str]  # (the keyword written, the parameter meant)


def renamed(text: str, renames: Sequence[Rename]) -> str | None:
    """``text`` with each keyword argument ``written=`` renamed ``meant=`` (outside strings, where
    an argument begins: at the start, or after ``(`` or ``,``); None when none is written there."""
    found = _rewritten(text, renames)
    return found[0] if found is not None else None


def _rewritten(text: str, renames: Sequence[Rename]) -> tuple[str, list[Rename]] | None:
    """:func:`renamed`'s text, and the renames it applied (those written in ``text``)."""
    assigns = {index for index, _ in uses.outside_strings(text, "=")}
    edits: list[tuple[int, int, str]] = []
    applied: list[Rename] = []
    for written, meant in renames:
        pattern = re.compile(rf"(?:^|(?<=[(,]))(\s*)({re.escape(written)})(\s*)=(?!=)")
        spans = [m.span(2) for m in pattern.finditer(text) if m.end() - 1 in assigns]
        edits.extend((start, end, meant) for start, end in spans)
        if spans:
            applied.append((written, meant))
    if not edits:
        return None
    for start, end, meant in sorted(edits, reverse=True):
        text = text[:start] + meant + text[end:]
    return text, applied


def repaired(
    texts: Iterable[str], judged: Callable[[str], guard.Verdict]
) -> tuple[str, guard.Verdict] | None:
    """The first of ``texts`` whose calls bind once the keywords the guard named are renamed: the
    renamed text and its verdict, marked ``resampled`` and ``repaired``; None when none does."""
    for text in texts:
        verdict = judged(text)
        if not (verdict.unbound and verdict.renames):
            continue
        found = _rewritten(text, verdict.renames)
        if found is None:
            continue
        fixed, applied = found
        new = judged(fixed)
        if new.checks_out:
            notes = tuple(f"{written}= → {meant}=" for written, meant in applied)
            return fixed, dataclasses.replace(new, resampled=True, repaired=notes)
    return None
