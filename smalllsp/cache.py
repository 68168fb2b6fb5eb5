"""The suggestion cache: typing along a shown suggestion costs no model call.

Per document it keeps the last request's suggestions (best first, each with
its verdict) and the text before and after the cursor they were made for. A request whose text after the cursor
is the same, and whose text before the cursor is the old one plus characters
some suggestions start with (the user typed along), gets the rest of those
suggestions at once, in the same order. One entry per document, so it
cannot grow with a session.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from smalllsp.documents import Document
from smalllsp.pipeline.rank import Suggestion


@dataclasses.dataclass(frozen=True)
class _Entry:
    before: str
    after: str
    suggestions: tuple[Suggestion, ...]


class SuggestionCache:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self.hits = 0

    def store(self, uri: str, before: str, after: str, suggestions: Sequence[Suggestion]) -> None:
        """Keep the document's suggestions, best first; nothing to keep forgets it."""
        kept = tuple(s for s in suggestions if s.text)
        if kept:
            self._entries[uri] = _Entry(before, after, kept)
        else:
            self._entries.pop(uri, None)

    def lookup(self, uri: str, before: str, after: str) -> list[Suggestion]:
        """The rest of each cached suggestion the user typed along (its verdict kept);
        empty when they went another way."""
        entry = self._entries.get(uri)
        if entry is None or after != entry.after or not before.startswith(entry.before):
            return []
        typed = before[len(entry.before) :]
        rests = [
            dataclasses.replace(s, text=s.text[len(typed) :])
            for s in entry.suggestions
            if s.text.startswith(typed)
            and len(typed) < len(s.text)
            and s.text[len(typed) :].strip()
        ]
        if rests:
            self.hits += 1
        return rests

    def forget(self, uri: str) -> None:
        self._entries.pop(uri, None)

    def clear(self) -> None:
        """Forget every document's suggestions (the settings they were made under changed)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# How much of the document a request's cache key reads: the text before the
# cursor from the start of its block of KEY_LINES lines (at most KEY_CHARS
# characters back, from a point aligned to KEY_CHARS so it stays put while the
# user types), and KEY_CHARS characters after it plus how many characters
# follow. The key never grows with the document; typing along a suggestion
# keeps its start, so ``lookup`` still sees "the old text plus what was typed".
KEY_LINES = 32
KEY_CHARS = 16_384


def bounded_key(text: str, block_start: int, offset: int) -> tuple[str, str]:
    """``(before, after)`` for :class:`SuggestionCache`, from ``text`` with the
    cursor at ``offset`` and its block of lines starting at ``block_start``.

    >>> bounded_key("a\\nbc\\nd", 0, 4)
    ('0:a\\nbc', '\\nd\\x002')
    """
    anchor = max(block_start, (offset // KEY_CHARS - 1) * KEY_CHARS)
    after = text[offset : offset + KEY_CHARS]
    return f"{anchor}:" + text[anchor:offset], f"{after}\x00{len(text) - offset}"


def cursor_key(document: Document, line: int, column: int) -> tuple[str, str]:
    """The cache's key for a cursor at ``line``:``column`` (code points) in ``document``: bounded,
    whatever the document's size (the request's, and a speculation's after an accept)."""
    block = line - line % KEY_LINES
    block_start = document.line_start(block) or 0
    start = block_start if block == line else (document.line_start(line) or 0)
    return bounded_key(document.text, block_start, start + column)
