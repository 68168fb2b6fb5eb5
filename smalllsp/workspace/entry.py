"""One file as the index holds it: where it is, its size and mtime, the names it defines,
and its outline, which for a file from the cache is decoded only when first needed."""

from __future__ import annotations

import logging
import os
from sys import intern

from smalllsp.syntax.symbols import Outline
from smalllsp.workspace import files, outline_codec
from smalllsp.workspace.files import language_of
from smalllsp.workspace.outline_codec import Row

log = logging.getLogger("smalllsp.workspace.index")


class Entry:
    """One indexed file. From the cache, only the names it defines are read at once
    (the name table needs them); the names it uses and the rest of its outline are
    decoded on first use, so a warm start costs little per file."""

    __slots__ = ("path", "relpath", "size", "mtime_ns", "names", "_references", "_outline", "_row")

    def __init__(
        self,
        path: str,
        relpath: str,
        size: int,
        mtime_ns: int,
        outline: Outline | None,
        row: Row | None = None,
    ) -> None:
        self.path, self.relpath, self.size, self.mtime_ns = path, relpath, size, mtime_ns
        self._outline, self._row = outline, row
        if outline is not None:
            self.names = tuple(d.name for d in outline.definitions)
            self._references: frozenset[str] | None = outline.references
        else:
            assert row is not None
            self.names = tuple(map(intern, row.definition_names()))
            self._references = None

    @property
    def references(self) -> frozenset[str]:
        references = self._references
        if references is None:
            assert self._row is not None
            references = self._references = frozenset(map(intern, self._row.reference_names()))
        return references

    @property
    def outline(self) -> Outline:
        outline = self._outline
        if outline is None:
            assert self._row is not None
            outline = outline_codec.decode(self._row.blob, self.references)
            if outline is None:  # passed its checksum, yet not an outline: read the file again
                log.warning("index cache: the entry of %s does not decode: parsed again", self.path)
                folder = (os.path.dirname(self.path),)  # never through a symlink out of its folder
                parsed = files.outline_file(
                    self.path, language_of(self.path) or "", 1 << 30, folder
                )
                outline = parsed.outline or Outline("", (), (), 0, self.references)
            self._outline, self._row = outline, None
        return outline
