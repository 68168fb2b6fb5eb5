"""Where the global section's material comes from, kept current for the server.

One object owns the workspace index (built in a background thread, then kept
current by a file watcher), the overlay of open documents, and the ring
buffer of recent chunks; for each request it hands the pipeline a
:class:`~smalllsp.context.global_section.Sources` snapshot.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

from pygls.uris import to_fs_path, uri_scheme

from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.context.ring import ChunkRing
from smalllsp.documents import Lines
from smalllsp.syntax.symbols import Outline
from smalllsp.workspace import folders
from smalllsp.workspace.boundary import Boundary
from smalllsp.workspace.index import WorkspaceIndex
from smalllsp.workspace.outline_cache import CacheSettings
from smalllsp.workspace.watcher import WorkspaceWatcher

log = logging.getLogger(__name__)

Progress = Callable[[int, "int | None", str], None]
IndexState = Literal["off", "indexing", "ready", "failed"]


def path_of(uri: str) -> str | None:
    """The file behind a ``file:`` URI; None for other schemes (untitled buffers)."""
    if uri_scheme(uri) != "file":
        return None
    path = to_fs_path(uri)
    # One file, one identity: ".../sub/../main.py" is ".../main.py" for the index, the ring and the prompt.
    return os.path.normpath(path) if path else path


class ContextSources:
    def __init__(self, ring_chunks: int, ring_chunk_lines: int) -> None:
        self.index: WorkspaceIndex | None = None
        self.ring = ChunkRing(ring_chunks, ring_chunk_lines)
        self._watcher: WorkspaceWatcher | None = None
        self._builder: threading.Thread | None = None
        self._stopping = threading.Event()
        self.roots: list[Path] = []
        self.state: IndexState = "off"
        # The workspace boundary (see smalllsp.workspace.boundary): open documents
        # that are private lend nothing to other files; their own outline is kept here.
        self.private_patterns: tuple[str, ...] = Config().private_patterns()
        self.boundary = Boundary([], self.private_patterns)
        self._private: dict[str, Outline | None] = {}
        self.changes = folders.Reconciler(self)  # folders, index settings and renames at run time

    def start(
        self,
        roots: Sequence[str],
        *,
        max_files: int,
        max_file_bytes: int,
        progress: Progress,
        done: Callable[[], None],
        workers: int = 0,
        boundary_roots: Sequence[str] | None = None,
        cache: CacheSettings | None = None,
    ) -> None:
        """Index ``roots`` in a background thread, then watch them for changes.

        ``boundary_roots``: the workspace folders, when they are not indexed
        (workspace_index off), for the boundary of open documents.
        """
        self.roots = [Path(r) for r in roots if Path(r).is_dir()]
        folders = [
            r for r in (boundary_roots if boundary_roots is not None else roots) if Path(r).is_dir()
        ]
        self.boundary = Boundary(folders, self.private_patterns)
        self.index = WorkspaceIndex(
            self.roots,
            max_files=max_files,
            max_file_bytes=max_file_bytes,
            workers=workers,
            private_patterns=self.private_patterns,
            cache=cache,
        )
        if not self.roots:
            self.state = "ready"
            done()
            return
        self.state = "indexing"

        def build() -> None:
            assert self.index is not None
            try:  # watch first, so that changes made while the index builds are not lost
                watcher = WorkspaceWatcher(self.index, self.roots)
                watcher.start()  # walks the tree to add its watches: off the event loop
                self._watcher = watcher
            except (
                OSError
            ) as problem:  # e.g. the inotify watch limit: index once, without live updates
                log.warning("no live updates of the workspace index: %s", problem)
            try:
                self.index.build(progress=progress, cancelled=self._stopping.is_set)
                self.state = "ready"
            except Exception:  # the server keeps completing without the index's news
                log.exception("workspace index failed")
                self.state = "failed"
            finally:
                done()

        self._builder = threading.Thread(target=build, name="smalllsp-index", daemon=True)
        self._builder.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._builder is not None:
            self._builder.join(timeout=10)
        if self._watcher is not None:
            self._watcher.stop()
        if self.index is not None:
            self.index.close()  # the cache's queued rows are written

    def refresh(self, uri: str, language_id: str, text: str, edited_line: int | None) -> None:
        """After a pause in typing: keep the chunk around the last edit (None: none to keep).

        Indexes the document's lines: call it off the event loop, not per
        keystroke. Its outline reaches the index through :meth:`outline_ready`.
        """
        path = path_of(uri)
        if path is None:
            return
        reason = self.boundary.private_reason(path)
        if reason is not None:  # its text stays its own: out of the ring and the overlay
            if path not in self._private:
                log.info(
                    "%s is private (%s): it lends nothing to other files' prompts",
                    self.relpath(path),
                    reason,
                )
            self.ring.forget(path)
            if self.index is not None:
                self.index.close_document(path)
            self._private.setdefault(path, None)  # its outline arrives through outline_ready
            return
        self._private.pop(path, None)
        if edited_line is not None:
            self.ring.note(path, self.relpath(path), Lines(text), edited_line)

    def outline_ready(self, uri: str, language_id: str, outline: "Outline | None") -> None:
        """The open document's outline, read off the event loop from its tree (None: it has none)."""
        path = path_of(uri)
        if path is None:
            return
        if path in self._private or self.boundary.private_reason(path) is not None:
            self._private[path] = outline  # for its own prompt only, never the index's overlay
            return
        if self.index is not None:
            self.index.set_open_outline(path, language_id, outline)

    def closed(self, uri: str) -> None:
        path = path_of(uri)
        if path is None:
            return
        was_private = path in self._private
        self._private.pop(path, None)
        if was_private or self.boundary.private_reason(path) is not None:
            self.ring.forget(path)  # whatever it put anywhere goes with it
        if self.index is not None:
            self.index.close_document(path)

    def relpath(self, path: str) -> str:
        if self.index is not None and self.index.root_of(path) is not None:
            return self.index.relpath(path)
        return os.path.basename(path)

    def for_document(self, uri: str) -> Sources:
        """The snapshot a request's global section and guard work from."""
        path = path_of(uri)
        if path is None:
            return Sources(
                None, uri.rsplit("/", 1)[-1], "untitled", None, self.index, self.ring.chunks()
            )
        root = self.index.root_of(path) if self.index is not None else None
        repo = root.name if root is not None else os.path.basename(os.path.dirname(path))
        if path in self._private:
            outline = self._private[path]
        else:
            outline = self.index.outline_of(path) if self.index is not None else None
        return Sources(path, self.relpath(path), repo, outline, self.index, self.ring.chunks())

    def status(self) -> dict[str, Any]:
        stats = self.index.stats() if self.index is not None else {}
        return {"state": self.state, "roots": [str(r) for r in self.roots], **stats}
