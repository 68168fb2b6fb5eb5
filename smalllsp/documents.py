"""The text of every open document, kept in step with the client.

LSP positions count lines split at ``\\n``, ``\\r\\n`` and ``\\r`` only (not at
the other characters ``str.splitlines`` splits at), and columns in the code
units of the negotiated encoding: UTF-16 unless the client asked for UTF-8
(Neovim does) or UTF-32. Everything inside the server works on Python string
indices (code points); conversion happens here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable

from lsprotocol import types

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """``text`` with each lone UTF-16 surrogate (JSON lets a client send
    ``"\\ud800"``) replaced by U+FFFD.

    Such a string cannot be encoded for the model or the parser. The
    replacement is one code unit in UTF-16 and UTF-32 and as many UTF-8 bytes
    as the surrogate, so every position the client sends keeps its meaning.
    """
    return _LONE_SURROGATE.sub("\ufffd", text) if _LONE_SURROGATE.search(text) else text


def split_lines(text: str) -> list[str]:
    """Lines of ``text`` without their line breaks, split the LSP way."""
    return _LINE_BREAK.split(text)


def _units(char: str, encoding: str) -> int:
    code = ord(char)
    if encoding == types.PositionEncodingKind.Utf8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    if encoding == types.PositionEncodingKind.Utf32:
        return 1
    return 2 if code > 0xFFFF else 1


def column_to_index(line: str, column: int, encoding: str) -> int:
    """Code-point index in ``line`` of a column in client code units.

    A column past the end of the line means the end of the line (as the LSP
    specification asks); a column inside a multi-unit character rounds down.
    """
    if encoding == types.PositionEncodingKind.Utf32:
        return min(max(column, 0), len(line))
    units = 0
    for index, char in enumerate(line):
        width = _units(char, encoding)
        if units + width > column:
            return index
        units += width
    return len(line)


def index_to_column(line: str, index: int, encoding: str) -> int:
    """Column in client code units of a code-point index in ``line``."""
    return sum(_units(c, encoding) for c in line[:index])


class PositionError(ValueError):
    """A position that does not exist in the document."""


@dataclasses.dataclass
class Document:
    uri: str
    language_id: str
    version: int
    text: str

    def lines(self) -> list[str]:
        return split_lines(self.text)

    def offset(self, position: types.Position, encoding: str, *, clamp: bool = False) -> int:
        """Code-point offset in :attr:`text` of an LSP position.

        A line past the end is an error unless ``clamp`` (edits past the end
        append, as clients expect); a column past the end of its line is the
        end of the line.
        """
        if position.line < 0 or position.character < 0:
            raise PositionError(f"negative position {position.line}:{position.character}")
        start = _line_start(self.text, position.line)
        if start is None:
            if clamp:
                return len(self.text)
            raise PositionError(
                f"line {position.line} is past the end of {self.uri} ({self.text.count(chr(10)) + 1} lines)"
            )
        brk = _LINE_BREAK.search(self.text, start)
        line = self.text[start : brk.start() if brk else len(self.text)]
        return start + column_to_index(line, position.character, encoding)

    def position(self, offset: int, encoding: str) -> types.Position:
        """LSP position of a code-point offset in :attr:`text`."""
        start = 0
        for number, (line, brk) in enumerate(_iter_lines_with_breaks(self.text)):
            end = start + len(line)
            if offset <= end or not brk:
                return types.Position(number, index_to_column(line, min(offset - start, len(line)), encoding))
            start = end + len(brk)
        raise AssertionError("unreachable: the last line has no break")

    def apply(self, change: types.TextDocumentContentChangeEvent, encoding: str) -> None:
        """Apply one change event (incremental or whole-document)."""
        if isinstance(change, types.TextDocumentContentChangePartial):
            start = self.offset(change.range.start, encoding, clamp=True)
            end = self.offset(change.range.end, encoding, clamp=True)
            if end < start:
                raise PositionError(f"change range ends before it starts in {self.uri}")
            self.text = self.text[:start] + valid_text(change.text) + self.text[end:]
        else:
            self.text = valid_text(change.text)


# Line breaks are counted a block at a time at C speed: finding a line near
# the end of a 10 MB document costs milliseconds, not a Python loop per line.
_BLOCK = 1 << 16


def _line_start(text: str, line: int) -> int | None:
    """Offset at which ``line`` starts in ``text``; None when it has fewer lines."""
    if line == 0:
        return 0
    pos, remaining, size = 0, line, len(text)
    while pos < size:
        end = min(pos + _BLOCK, size)
        while end < size and text[end - 1] == "\r":  # a \r\n stays in one block
            end += 1
        breaks = text.count("\n", pos, end) + text.count("\r", pos, end) - text.count("\r\n", pos, end)
        if breaks >= remaining:
            for match in _LINE_BREAK.finditer(text, pos, end):
                remaining -= 1
                if remaining == 0:
                    return match.end()
        remaining -= breaks
        pos = end
    return None


def _iter_lines_with_breaks(text: str) -> Iterable[tuple[str, str]]:
    start = 0
    for match in _LINE_BREAK.finditer(text):
        yield text[start : match.start()], match.group()
        start = match.end()
    yield text[start:], ""


class DocumentStore:
    """Open documents by URI."""

    def __init__(self) -> None:
        self._documents: dict[str, Document] = {}

    def open(self, item: types.TextDocumentItem) -> Document:
        doc = Document(item.uri, item.language_id, item.version, valid_text(item.text))
        self._documents[item.uri] = doc
        return doc

    def change(self, params: types.DidChangeTextDocumentParams, encoding: str) -> Document:
        doc = self.get(params.text_document.uri)
        # Apply to a copy so a bad event in the middle of a batch loses nothing.
        updated = dataclasses.replace(doc)
        for change in params.content_changes:
            updated.apply(change, encoding)
        doc.text = updated.text
        doc.version = params.text_document.version
        return doc

    def close(self, uri: str) -> None:
        self._documents.pop(uri, None)

    def get(self, uri: str) -> Document:
        try:
            return self._documents[uri]
        except KeyError:
            raise KeyError(f"document not open: {uri}") from None

    def __contains__(self, uri: str) -> bool:
        return uri in self._documents

    def __len__(self) -> int:
        return len(self._documents)
