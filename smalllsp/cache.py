"""The suggestion cache: typing along a shown suggestion costs no model call.

Per document it keeps the last suggestion with the text before and after the
cursor it was made for. A request whose text after the cursor is the same,
and whose text before the cursor is the old one plus characters the
suggestion starts with (the user typed along), gets the rest of the
suggestion at once. One entry per document, so it cannot grow with a session.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class _Entry:
    before: str
    after: str
    suggestion: str
    note: object  # what the server keeps with it (the guard's verdict)


class SuggestionCache:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self.hits = 0

    def store(self, uri: str, before: str, after: str, suggestion: str, note: object = None) -> None:
        if suggestion:
            self._entries[uri] = _Entry(before, after, suggestion, note)
        else:
            self._entries.pop(uri, None)

    def lookup(self, uri: str, before: str, after: str) -> str | None:
        """The rest of the cached suggestion, or None when the user went another way."""
        entry = self._entries.get(uri)
        if entry is None or after != entry.after or not before.startswith(entry.before):
            return None
        typed = before[len(entry.before) :]
        if not entry.suggestion.startswith(typed) or len(typed) >= len(entry.suggestion):
            return None
        rest = entry.suggestion[len(typed) :]
        if not rest.strip():
            return None
        self.hits += 1
        return rest

    def note(self, uri: str) -> object:
        """What was stored with the document's suggestion (None if nothing is)."""
        entry = self._entries.get(uri)
        return entry.note if entry is not None else None

    def forget(self, uri: str) -> None:
        self._entries.pop(uri, None)

    def __len__(self) -> int:
        return len(self._entries)
