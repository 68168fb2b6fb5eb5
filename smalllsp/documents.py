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
from typing import Iterable, Sequence

from lsprotocol import types

from smalllsp.lines import Lines, WithLine, count_breaks, line_start

__all__ = ["Document", "DocumentStore", "Lines", "PositionError", "WithLine"]

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


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def column_to_index(line: str, column: int, encoding: str, *, astral: bool = True) -> int:
    """Code-point index in ``line`` of a column in client code units.

    A column past the end of the line means the end of the line (as the LSP
    specification asks); a column inside a multi-unit character rounds down.

    Linear in the line's length at C speed (an encode and a decode, or a
    regular-expression scan), and constant for an ASCII line: a ``didChange``
    with 20,000 edits on a 5 MB line must not walk it in Python per edit.
    ``astral=False`` says the caller knows the line has no character beyond
    U+FFFF (then UTF-16 columns are code points, and nothing is scanned).
    """
    column = max(column, 0)
    if encoding == types.PositionEncodingKind.Utf32 or line.isascii():
        return min(column, len(line))
    if encoding == types.PositionEncodingKind.Utf8:
        # The first ``column`` bytes; a character cut in two is dropped (rounds down).
        return len(line[:column].encode("utf-8")[:column].decode("utf-8", errors="ignore"))
    if not astral or not _ASTRAL.search(line, 0, min(column, len(line))):
        return min(column, len(line))  # every code point before the column is one UTF-16 unit
    return len(line.encode("utf-16-le")[: 2 * column].decode("utf-16-le", errors="ignore"))


def index_to_column(line: str, index: int, encoding: str) -> int:
    """Column in client code units of a code-point index in ``line``."""
    index = max(0, min(index, len(line)))
    if encoding == types.PositionEncodingKind.Utf32 or line.isascii():
        return index
    if encoding == types.PositionEncodingKind.Utf8:
        return len(line[:index].encode("utf-8"))
    return index + len(_ASTRAL.findall(line, 0, index))


class PositionError(ValueError):
    """A position that does not exist in the document."""


@dataclasses.dataclass
class Document:
    uri: str
    language_id: str
    version: int
    text: str
    _view: "Lines | None" = dataclasses.field(default=None, repr=False, compare=False)
    # What the text may hold, known once and kept through edits (an edit can
    # only add): a \r (lines then split the slow way) and characters beyond
    # U+FFFF (UTF-16 columns then differ from code points). None: not known yet.
    _cr: "bool | None" = dataclasses.field(default=None, repr=False, compare=False)
    _astral: "bool | None" = dataclasses.field(default=None, repr=False, compare=False)

    def _hints(self) -> tuple[bool, bool]:
        if self._cr is None or self._astral is None:
            self._cr, self._astral = "\r" in self.text, _ASTRAL.search(self.text) is not None
        return self._cr, self._astral

    def _line_bounds(self, number: int) -> tuple[int, int] | None:
        """Start and end (before its break) of line ``number``; None past the end."""
        cr, _ = self._hints()
        start = line_start(self.text, number, cr=cr)
        if start is None:
            return None
        if not cr:
            end = self.text.find("\n", start)
            return start, len(self.text) if end < 0 else end
        brk = _LINE_BREAK.search(self.text, start)
        return start, brk.start() if brk else len(self.text)

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
        bounds = self._line_bounds(position.line)
        if bounds is None:
            if clamp:
                return len(self.text)
            raise PositionError(
                f"line {position.line} is past the end of {self.uri} ({self.line_count()} lines)"
            )
        start, end = bounds
        return start + column_to_index(
            self.text[start:end], position.character, encoding, astral=self._hints()[1]
        )

    def position(self, offset: int, encoding: str) -> types.Position:
        """LSP position of a code-point offset in :attr:`text` (counted at C speed)."""
        offset = max(0, min(offset, len(self.text)))
        number = count_breaks(self.text, 0, offset)
        if offset > 0 and self.text[offset - 1] == "\r" and self.text[offset : offset + 1] == "\n":
            number -= 1  # inside a \r\n: the end of the line the \r ends
            offset -= 1
        start = line_start(self.text, number) or 0
        brk = _LINE_BREAK.search(self.text, start)
        line = self.text[start : brk.start() if brk else len(self.text)]
        return types.Position(number, index_to_column(line, offset - start, encoding))

    def line(self, number: int) -> str | None:
        """Line ``number`` without its break; None past the end. Found at C speed, no split."""
        bounds = self._line_bounds(number) if number >= 0 else None
        return None if bounds is None else self.text[bounds[0] : bounds[1]]

    def line_start(self, number: int) -> int | None:
        """Offset of line ``number``'s first character; None past the end."""
        bounds = self._line_bounds(number) if number >= 0 else None
        return None if bounds is None else bounds[0]

    def line_count(self) -> int:
        return count_breaks(self.text, 0, len(self.text)) + 1

    def lines_view(self, near: int = 0) -> "Lines":
        """The document's lines as a read-only sequence that splits nothing (see
        :class:`Lines`), found outward from line ``near`` (the cursor's)."""
        view = self._view
        if view is None or view.text is not self.text or not view.near(near):
            bounds = self._line_bounds(near) if near > 0 else None
            view = self._view = (
                Lines(self.text, near, bounds[0], cr=self._hints()[0])
                if bounds
                else Lines(self.text, cr=self._hints()[0])
            )
        return view

    def apply(self, change: types.TextDocumentContentChangeEvent, encoding: str) -> None:
        """Apply one change event (incremental or whole-document)."""
        if isinstance(change, types.TextDocumentContentChangePartial):
            start = self.offset(change.range.start, encoding, clamp=True)
            end = self.offset(change.range.end, encoding, clamp=True)
            if end < start:
                raise PositionError(f"change range ends before it starts in {self.uri}")
            self._replace(start, end, valid_text(change.text))
        else:
            self.text = valid_text(change.text)
            self._cr = self._astral = None

    def _replace(self, start: int, end: int, new: str, *, scanned: bool = False) -> None:
        """``text[start:end] = new``; ``scanned``: the hints already account for ``new``."""
        if not scanned:
            cr, astral = self._hints()
            self._cr, self._astral = cr or "\r" in new, astral or _ASTRAL.search(new) is not None
        self.text = self.text[:start] + new + self.text[end:]

    def apply_all(
        self, changes: Sequence[types.TextDocumentContentChangeEvent], encoding: str
    ) -> None:
        """Apply a ``didChange``'s events in order.

        A run of events that stay on one line without adding a line break
        (typing, a replace-all on a minified line) edits that line alone
        (:class:`_LineEditor`) and puts it back once: 20,000 edits on a 5 MB
        line cost the line once plus the edits, not 20,000 copies of it.
        """
        run: tuple[int, int, int, _LineEditor] | None = (
            None  # line number, its start and end, its editor
        )

        def flush() -> None:
            nonlocal run
            if run is not None:
                _number, start, end, editor = run
                run = None
                self._replace(
                    start, end, editor.text(), scanned=True
                )  # each inserted piece was scanned

        for change in changes:
            if (
                isinstance(change, types.TextDocumentContentChangePartial)
                and change.range.start.line == change.range.end.line >= 0
                and change.range.start.character >= 0
                and change.range.end.character >= 0
                and "\n" not in change.text
                and "\r" not in change.text
            ):
                number = change.range.start.line
                if run is None or run[0] != number:
                    flush()
                    bounds = self._line_bounds(number)
                    if bounds is None:  # past the end: the general path appends
                        self.apply(change, encoding)
                        continue
                    run = (
                        number,
                        bounds[0],
                        bounds[1],
                        _LineEditor(self.text[bounds[0] : bounds[1]]),
                    )
                editor = run[3]
                new = valid_text(change.text)
                self._astral = astral = self._hints()[1] or _ASTRAL.search(new) is not None
                start, end = change.range.start.character, change.range.end.character
                if (
                    editor.ascii
                    and new.isascii()
                    or encoding == types.PositionEncodingKind.Utf32
                    or (encoding == types.PositionEncodingKind.Utf16 and not astral)
                ):
                    first, last = (
                        min(start, editor.length),
                        min(end, editor.length),
                    )  # columns are indices
                else:
                    line = editor.text()
                    first = column_to_index(line, start, encoding, astral=astral)
                    last = column_to_index(line, end, encoding, astral=astral)
                if last < first:
                    raise PositionError(f"change range ends before it starts in {self.uri}")
                editor.replace(first, last, new)
                if editor.length == 0 and self._hints()[0]:
                    # An emptied line between "\r" and "\n" leaves one "\r\n":
                    # the lines after it move up, so the next event needs new bounds.
                    flush()
            else:
                flush()
                self.apply(change, encoding)
        flush()


class _LineEditor:
    """One line under a run of edits. What lies before the last edit is kept as
    pieces, so edits that move along the line (a replace-all, typing) cost their
    own size; an edit behind the last one joins the pieces first (the line's size)."""

    def __init__(self, line: str) -> None:
        self._done: list[str] = []
        self._done_length = 0
        self._rest = line
        self._at = 0  # self._rest[self._at:] follows the pieces
        self.ascii = line.isascii()

    @property
    def length(self) -> int:
        return self._done_length + len(self._rest) - self._at

    def text(self) -> str:
        if self._done:
            self._rest = "".join(self._done) + self._rest[self._at :]
            self._done, self._done_length, self._at = [], 0, 0
        elif self._at:
            self._rest, self._at = self._rest[self._at :], 0
        return self._rest

    def replace(self, first: int, last: int, new: str) -> None:
        """Replace code points ``first:last`` (0 <= first <= last <= length) with ``new``."""
        if first < self._done_length:
            self.text()
        step = first - self._done_length
        if step:
            self._done.append(self._rest[self._at : self._at + step])
            self._done_length += step
            self._at += step
        self._at += last - first
        if new:
            self._done.append(new)
            self._done_length += len(new)
            self.ascii = self.ascii and new.isascii()


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
        updated.apply_all(params.content_changes, encoding)
        doc.text, doc._cr, doc._astral = updated.text, updated._cr, updated._astral
        doc.version = params.text_document.version
        return doc

    def close(self, uri: str) -> None:
        self._documents.pop(uri, None)

    def get(self, uri: str) -> Document:
        try:
            return self._documents[uri]
        except KeyError:
            raise KeyError(f"document not open: {uri}") from None

    def uris(self) -> list[str]:
        return list(self._documents)

    def __contains__(self, uri: str) -> bool:
        return uri in self._documents

    def __len__(self) -> int:
        return len(self._documents)
