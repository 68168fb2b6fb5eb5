"""Lines of an immutable text, found outward from a cursor: nothing is split or copied.

A document's text is one string; the pipeline reads only the lines around
the cursor (the window, a few lines below), so :class:`Lines` finds each
line's start by counting line breaks a block at a time from the nearest
start it knows. :class:`WithLine` is the same lines with one line replaced
(the prompt's copy of the cursor line).
"""

from __future__ import annotations

import re
import threading
from array import array
from typing import Sequence

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# Line breaks are counted a block at a time at C speed: finding a line near
# the end of a 10 MB document costs milliseconds, not a Python loop per line.
_BLOCK = 1 << 16


def count_breaks(text: str, start: int, end: int) -> int:
    """LSP line breaks in ``text[start:end]`` (a ``\r\n`` cut by ``end`` counts as its ``\r``)."""
    n = text.count("\n", start, end)
    if "\r" in text:
        n += text.count("\r", start, end) - text.count("\r\n", start, end)
    return n


def line_start(text: str, line: int, *, cr: bool | None = None) -> int | None:
    """Offset at which ``line`` starts in ``text``; None when it has fewer lines.

    ``cr``: whether ``text`` may hold a ``\r`` (None: look).
    """
    if line == 0:
        return 0
    pos, remaining, size = 0, line, len(text)
    plain = (
        not cr if cr is not None else "\r" not in text
    )  # only \n: one count per block, then a find per line
    while pos < size:
        end = min(pos + _BLOCK, size)
        while end < size and text[end - 1] == "\r":  # a \r\n stays in one block
            end += 1
        breaks = text.count("\n", pos, end) if plain else count_breaks(text, pos, end)
        if breaks >= remaining:
            if plain:
                at = pos - 1
                for _ in range(remaining):
                    at = text.find("\n", at + 1, end)
                return at + 1
            for match in _LINE_BREAK.finditer(text, pos, end):
                remaining -= 1
                if remaining == 0:
                    return match.end()
        remaining -= breaks
        pos = end
    return None


class Lines(Sequence[str]):
    """The lines of one text (a snapshot: str is immutable), split the LSP way, without copying it.

    Nothing is split or indexed up front: line starts are found outward from
    an anchor (the cursor's line) with ``str.find``/``rfind`` and kept, so a
    request that reads the lines around its cursor pays for those lines only,
    whatever the document's length. A line far from them is found at C
    speed (:func:`_line_start`); ``len`` counts line breaks at C speed, once.
    """

    FAR = 8192  # lines: farther from the kept ones, a line is looked up on its own

    def __init__(
        self, text: str, anchor_line: int = 0, anchor_start: int = 0, *, cr: bool | None = None
    ) -> None:
        self.text = text
        self._cr = ("\r" in text) if cr is None else cr
        self._count: int | None = None
        self._lo = anchor_line
        self._down = array("q", [anchor_start])  # starts of lines lo, lo + 1, ...
        self._up = array("q")  # starts of lines lo - 1, lo - 2, ...
        self._lock = threading.Lock()

    def __len__(self) -> int:
        if self._count is None:
            self._count = (
                self.text.count("\n")
                if not self._cr
                else count_breaks(self.text, 0, len(self.text))
            ) + 1
        return self._count

    def near(self, line: int) -> bool:
        """Whether ``line`` is within reach of the lines found so far (else a new view, anchored there, is cheaper)."""
        return self._lo - len(self._up) - self.FAR <= line <= self._lo + len(self._down) + self.FAR

    def _next_start(self, start: int) -> int | None:
        """Start of the line after the one starting at ``start``; None if that is the last."""
        if not self._cr:
            end = self.text.find("\n", start)
            return None if end < 0 else end + 1
        match = _LINE_BREAK.search(self.text, start)
        return None if match is None else match.end()

    def _previous_start(self, start: int) -> int:
        """Start of the line before the one starting at ``start`` (> 0)."""
        text = self.text
        brk = start - 2 if start >= 2 and text[start - 2 : start] == "\r\n" else start - 1
        if not self._cr:
            return text.rfind("\n", 0, brk) + 1
        return max(text.rfind("\n", 0, brk), text.rfind("\r", 0, brk)) + 1

    def _start(self, item: int) -> int | None:
        """Start of line ``item`` (0 <= item); None past the end."""
        lo = self._lo
        with self._lock:
            if lo <= item < lo + len(self._down):
                return self._down[item - lo]
            if lo - len(self._up) <= item < lo:
                return self._up[lo - 1 - item]
            if lo + len(self._down) <= item <= lo + len(self._down) + self.FAR:
                while lo + len(self._down) <= item:
                    following = self._next_start(self._down[-1])
                    if following is None:
                        return None
                    self._down.append(following)
                return self._down[-1]
            if lo - len(self._up) - self.FAR <= item < lo:
                while lo - len(self._up) > item:
                    self._up.append(
                        self._previous_start(self._up[-1] if self._up else self._down[0])
                    )
                return self._up[-1]
        return line_start(self.text, item, cr=self._cr)

    def _end(self, start: int) -> int:
        if not self._cr:
            end = self.text.find("\n", start)
            return len(self.text) if end < 0 else end
        match = _LINE_BREAK.search(self.text, start)
        return len(self.text) if match is None else match.start()

    def __getitem__(self, item):
        if isinstance(item, slice):
            first, last, step = item.indices(len(self))
            if step != 1:
                return [self[i] for i in range(first, last, step)]
            return list(self._range(first, last))
        if item < 0:
            item += len(self)
        start = self._start(item) if item >= 0 else None
        if start is None:
            raise IndexError(item)
        return self.text[start : self._end(start)]

    def _range(self, first: int, last: int):
        """Lines ``first`` to ``last`` - 1, walked forward from the first one's start."""
        if first >= last:
            return
        start = self._start(first)
        for _ in range(first, last):
            if start is None:
                return
            following = self._next_start(start)
            end = (
                self._end(start)
                if following is None
                else following - (2 if self.text[following - 2 : following] == "\r\n" else 1)
            )
            yield self.text[start:end]
            start = following

    def __iter__(self):
        return self._range(0, len(self))


class WithLine(Sequence[str]):
    """``lines`` with line ``number`` replaced by ``text``, without copying the others."""

    def __init__(self, lines: Sequence[str], number: int, text: str) -> None:
        self._lines, self._number, self._text = lines, number, text

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, item):
        if isinstance(item, slice):
            return [self[i] for i in range(*item.indices(len(self)))]
        if item < 0:
            item += len(self)
        return self._text if item == self._number else self._lines[item]
