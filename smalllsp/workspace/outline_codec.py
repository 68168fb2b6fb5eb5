"""A file's outline as the index cache stores it, and back, checked before it is believed.

A row has three parts: the names the file defines and the names it uses
(plain text, split at load: what the index's name table and reference
search need at once), and the rest of the outline (signatures, docs,
parameters, imports) as JSON, decoded only when a lookup first needs that
file. A checksum over the path and all three parts is checked at load, so a
truncated row, or another file's row put in its place, is never used.
JSON, never pickle: a cache file must not be able to run code.
"""

from __future__ import annotations

import dataclasses
import json

from smalllsp.syntax.model import interned_definition
from smalllsp.syntax.symbols import Definition, Outline, Parameters
from smalllsp.workspace.files import content_digest

FORMAT_VERSION = 2  # of the encoding below; bump it when encode() changes
# A file modified this soon after it was read may have changed again within the
# same mtime tick (same size, same mtime, other bytes): its row is trusted only
# after its content hash is checked again.
RACY_NS = 2_000_000_000
SEPARATOR = "\n"  # between names (an identifier never holds one)


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    """A file as the cache last saw it."""

    size: int
    mtime_ns: int
    digest: bytes  # of the file's content
    read_ns: int  # when its content was read (for RACY_NS)
    names: str  # the names it defines, in order, SEPARATOR-joined
    references: str  # the names it uses, SEPARATOR-joined
    checksum: bytes
    blob: bytes  # the rest of the outline

    def matches(self, size: int, mtime_ns: int) -> bool:
        """Same size and mtime, and the mtime not so close to the read that a same-tick change could hide."""
        return size == self.size and mtime_ns == self.mtime_ns and self.read_ns - mtime_ns > RACY_NS

    def intact(self, path: str) -> bool:
        """The row is whole and is ``path``'s."""
        return checksum(path, self.names, self.references, self.blob) == self.checksum

    def definition_names(self) -> tuple[str, ...]:
        return tuple(self.names.split(SEPARATOR)) if self.names else ()

    def reference_names(self) -> frozenset[str]:
        return frozenset(self.references.split(SEPARATOR)) if self.references else frozenset()


def checksum(path: str, names: str, references: str, blob: bytes) -> bytes:
    text = SEPARATOR.join((path, names, references)).encode("utf-8", "surrogateescape")
    return content_digest(text + b"\0" + blob)


def encode(path: str, outline: Outline) -> tuple[str, str, bytes, bytes]:
    """(names, references, blob, checksum) for ``path``'s outline."""
    definitions = [
        [
            d.name,
            d.kind,
            d.signature,
            d.doc,
            d.start_line,
            d.end_line,
            d.container,
            None if (p := d.parameters) is None else _parameters(p),
        ]
        for d in outline.definitions
    ]
    blob = json.dumps(
        [outline.language_id, definitions, list(outline.imports), outline.header_end_line],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8", "surrogateescape")
    names = SEPARATOR.join(d.name for d in outline.definitions)
    references = SEPARATOR.join(sorted(outline.references))
    return names, references, blob, checksum(path, names, references, blob)


def _parameters(p: Parameters) -> list[object]:
    names, optional = list(p.names), list(p.optional)
    return [names, p.required, p.variadic, p.keywords, p.positional_only, p.keyword_only, optional]


def decode(blob: bytes, references: frozenset[str]) -> Outline | None:
    """The outline a row's blob holds; None when it is not one (checked: a row that
    passed its checksum was written by encode(), so this is a guard, not a path)."""
    try:
        language_id, definitions, imports, header_end = json.loads(blob)
        return Outline(
            str(language_id),
            tuple(_definition(*fields) for fields in definitions),
            tuple(str(i) for i in imports),
            int(header_end),
            references,
        )
    except (ValueError, TypeError):  # malformed JSON, or fields of the wrong shape
        return None


def _definition(
    name: str,
    kind: str,
    signature: str,
    doc: str,
    start: int,
    end: int,
    container: str | None,
    parameters: list | None,
) -> Definition:
    if not (isinstance(name, str) and isinstance(start, int) and isinstance(end, int)):
        raise TypeError("definition fields of the wrong type")
    params = None
    if parameters is not None:
        names, required, variadic, keywords, positional_only, keyword_only, optional = parameters
        params = Parameters(
            tuple(names),
            required,
            variadic,
            keywords,
            positional_only,
            keyword_only,
            tuple(optional),
        )
    return interned_definition(name, kind, signature, doc, start, end, container, params)
