"""The live workspace index: every definition in the workspace's source files.

The context builder looks up the definitions of names used near the cursor,
and the cross-file guard checks a suggestion's calls against them and finds
the files that use a name. One outline per file (smalllsp.syntax.symbols),
plus a name -> files table, is all it needs.

A build reads outlines from the on-disk cache (smalllsp.workspace.outline_cache)
for files whose size and mtime, or else content hash, still match, parses the
rest, and indexes the open documents' imports (smalllsp.workspace.priority)
before anything else. Live updates are in smalllsp.workspace.live.

Threads: a build thread and the watcher's thread write, the completion worker
reads. Writers parse outside the lock and hold it only to swap entries in;
entries, outlines and the per-name tuples are immutable and replaced whole,
so a reader never sees one half-written and never waits long. Open documents
are an overlay that lookups prefer to the disk: the server hands in each
one's outline, read off the event loop from the document's own tree
(:meth:`WorkspaceIndex.set_open_outline`); one given as text
(:meth:`WorkspaceIndex.set_open_document`) is parsed lazily, on the first
lookup after a change.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from smalllsp.syntax import symbols
from smalllsp.syntax.symbols import Definition, Outline
from smalllsp.workspace import boundary, files, ignore, outline_cache, priority
from smalllsp.workspace import build as building
from smalllsp.workspace import live
from smalllsp.workspace.files import SKIP_REASONS, ParsedFile, Unindexable, language_of, read_source  # noqa: F401 (API)
from smalllsp.workspace.live import normal as _normal
from smalllsp.workspace.entry import Entry
from smalllsp.workspace.outline_codec import Row

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class IndexedSymbol:
    path: str  # absolute path of the file
    relpath: str  # path relative to its workspace root, with "/" (what a prompt or a message shows)
    definition: Definition


@dataclasses.dataclass(frozen=True)
class _Overlay:
    language_id: str
    text: str
    outline: Outline | None = None
    parsed: bool = False


class WorkspaceIndex:
    def __init__(
        self,
        roots: Sequence[str | Path],
        *,
        max_files: int = 20000,
        max_file_bytes: int = 512 * 1024,
        workers: int = 0,
        private_patterns: Sequence[str] = (),
        cache: outline_cache.CacheSettings | None = None,
    ) -> None:
        self.roots = tuple(dict.fromkeys(_normal(root) for root in roots))
        # Files whose name (or a folder's on the way) matches are never read; nor is
        # a file that resolves outside the roots (read_source checks the real path).
        self.private_patterns = tuple(private_patterns)
        self._real_roots = boundary.real_roots(self.roots)
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.workers = workers  # processes that parse during a build: 0 = one per core, 1 = the build thread alone
        self._rules = {root: ignore.IgnoreRules(root) for root in self.roots}
        self._lock = threading.Lock()
        # One build at a time (start-up, a folder added, a limit changed); set_roots
        # holds it around its own build, hence re-entrant.
        self._build_lock = threading.RLock()
        self._files: dict[str, Entry] = {}
        self._names: dict[
            str, tuple[str, ...]
        ] = {}  # definition name -> paths of the files (disk) defining it
        self._overlays: dict[str, _Overlay] = {}
        self._definitions = 0  # in self._files
        self._skipped = dict.fromkeys(SKIP_REASONS, 0)
        self._bytes_read = 0
        self._build_seconds = 0.0
        self._build_files = 0
        self._build_workers = 0
        self._truncated = False
        self.cache = cache
        self._caches: dict[str, outline_cache.OutlineCache] = {}  # root -> its cache
        self._rows: dict[str, outline_cache.Row] = {}  # cached rows not yet used by this build
        self._priority = priority.PriorityQueue()
        self._building = False
        self._imports_ready_s: float | None = None  # build start -> open documents' imports indexed
        self.parsed = 0  # files parsed (not taken from the cache), since the index was made
        self.from_cache = 0  # files whose outline came from the cache
        self.rehashed = 0  # files read and found unchanged by their content hash

    # -- building and live updates (smalllsp.workspace.build and .live) ---------

    def build(
        self,
        progress: building.Progress | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        """Index every source file of the roots that is not ignored; see :func:`building.build`."""
        building.build(self, progress, cancelled)

    def _walk(
        self,
        root: str,
        candidates: list[tuple[str, str, str]],
        reporter: building._Progress | None,
        cancelled: Callable[[], bool],
        start: str | None = None,
        started: float | None = None,
    ) -> None:
        building.walk_root(self, root, candidates, reporter, cancelled, start, started)

    def update_path(self, path: str | Path) -> None:
        live.update_path(self, path)

    def remove_path(self, path: str | Path) -> None:
        live.remove_path(self, path)

    def move_path(self, src: str | Path, dst: str | Path) -> None:
        live.move_path(self, src, dst)

    def set_roots(
        self,
        roots: Sequence[str | Path],
        progress: building.Progress | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> tuple[list[str], list[str]]:
        """Make ``roots`` the workspace folders (blocking); returns (added, removed)."""
        return live.set_roots(self, roots, progress, cancelled)

    # -- storing ----------------------------------------------------------------

    def _index_file(self, path: str, root: str, language_id: str) -> None:
        known = self._files.get(path)
        try:
            status = os.stat(path)
            if known is not None and (status.st_mtime_ns, status.st_size) == (
                known.mtime_ns,
                known.size,
            ):
                return
        except OSError:
            pass  # read it to see why
        self._apply(
            files.outline_file(path, language_id, self.max_file_bytes, self._real_roots), root
        )

    def _apply(self, parsed: ParsedFile, root: str) -> None:
        """Store a file's outline (and cache it), or count why it was left out and forget it."""
        row = self._rows.pop(parsed.path, None)
        if parsed.reused and row is not None:  # its content hash matched the cached outline's
            self.rehashed += 1
            entry = Entry(
                parsed.path, _relpath(parsed.path, root), parsed.size, parsed.mtime_ns, None, row
            )
            self._store(entry, bytes_read=parsed.bytes_read)
            cache = self._caches.get(root)
            if cache is not None:  # the new size and mtime, the same outline
                cache.touch(parsed.path, parsed.size, parsed.mtime_ns, parsed.read_ns)
            return
        if parsed.reused:  # the row went meanwhile (a folder dropped): read it afresh
            parsed = files.outline_file(
                parsed.path, language_of(parsed.path) or "", self.max_file_bytes, self._real_roots
            )
        if parsed.outline is not None:
            self.parsed += 1
        if parsed.skip is not None:
            self._skip(parsed.skip, parsed.path, parsed.detail)
        if parsed.outline is None:
            if parsed.skip is not None and parsed.skip != "not utf-8":
                self._drop(parsed.path)
            return
        self._store_outline(
            parsed.path, root, parsed.outline, parsed.size, parsed.mtime_ns, parsed.bytes_read
        )
        cache = self._caches.get(root)
        if cache is not None:
            cache.put(
                parsed.path,
                parsed.size,
                parsed.mtime_ns,
                parsed.digest,
                parsed.read_ns,
                parsed.outline,
            )

    def _store_outline(
        self, path: str, root: str, outline: Outline, size: int, mtime_ns: int, bytes_read: int = 0
    ) -> None:
        self._store(
            Entry(path, _relpath(path, root), size, mtime_ns, outline), bytes_read=bytes_read
        )

    def _store_cached(self, batch: list[tuple[str, str, Row]]) -> None:
        """Store outlines from the cache, (path, root, row) each, as one change of the name table."""
        entries = [
            Entry(path, _relpath(path, root), row.size, row.mtime_ns, None, row)
            for path, root, row in batch
        ]
        self._store(*entries)

    def _store(self, *entries: Entry, bytes_read: int = 0) -> None:
        """Swap ``entries`` in. Each name's tuple of paths is rebuilt once per call, not
        once per file: a name that thousands of files define (``__init__``) stays linear."""
        added: dict[str, list[str]] = {}
        with self._lock:
            for entry in entries:
                old = self._files.get(entry.path)
                if old is None:
                    for name in dict.fromkeys(entry.names):
                        added.setdefault(name, []).append(entry.path)
                else:
                    old_names, new_names = set(old.names), set(entry.names)
                    for name in old_names - new_names:
                        self._unname(name, entry.path)
                    for name in new_names - old_names:
                        added.setdefault(name, []).append(entry.path)
                self._files[entry.path] = entry
                self._definitions += len(entry.names) - (len(old.names) if old is not None else 0)
            for name, paths in added.items():
                self._names[name] = (*self._names.get(name, ()), *paths)
            self._bytes_read += bytes_read

    def _unname(self, name: str, path: str) -> None:
        remaining = tuple(p for p in self._names.get(name, ()) if p != path)
        if remaining:
            self._names[name] = remaining
        else:
            self._names.pop(name, None)

    def _drop(self, path: str, keep_cached: bool = False) -> None:
        with self._lock:
            old = self._files.pop(path, None)
            if old is not None:
                self._definitions -= len(old.names)
                for name in set(old.names):
                    self._unname(name, path)
        cache = None if keep_cached else building.cache_for(self, path)
        if old is not None and cache is not None:
            cache.delete([path])

    def _skip(self, reason: str, path: str, detail: object = "") -> None:
        with self._lock:
            self._skipped[reason] = self._skipped.get(reason, 0) + 1
        level = logging.WARNING if reason == "unreadable" else logging.DEBUG
        log.log(level, "workspace index: %s: %s%s", path, reason, f" ({detail})" if detail else "")

    def flush_cache(self) -> None:
        """Wait until the cache holds what the index does (tests, benchmarks)."""
        for cache in list(self._caches.values()):
            cache.flush()

    def close(self) -> None:
        """Write the cache's queued rows and stop its writers."""
        for cache in list(self._caches.values()):
            cache.close()

    # -- open documents --------------------------------------------------------

    def set_open_document(self, path: str | Path, language_id: str, text: str) -> None:
        """The editor's version of a file; lookups prefer it to the disk. Parsed on the next lookup."""
        with self._lock:
            self._overlays[_normal(path)] = _Overlay(language_id, text)
        if (
            self._building
        ):  # its imports are indexed next (constant time here: the build thread resolves)
            self._priority.open_document(_normal(path), None)

    def set_open_outline(self, path: str | Path, language_id: str, outline: Outline | None) -> None:
        """The editor's version of a file, as an outline read off the event loop
        (None: the document has none, e.g. it is over max_document_kb). Lookups
        prefer it to the disk, and never parse on the caller's thread."""
        with self._lock:
            self._overlays[_normal(path)] = _Overlay(language_id, "", outline, parsed=True)
        if self._building:
            self._priority.open_document(_normal(path), outline)

    def close_document(self, path: str | Path) -> None:
        with self._lock:
            self._overlays.pop(_normal(path), None)

    def _overlay_outline(self, path: str, overlay: _Overlay) -> Outline | None:
        if overlay.parsed:
            return overlay.outline
        outline = symbols.outline(
            overlay.language_id, overlay.text.encode("utf-8", errors="replace")
        )
        with self._lock:
            if self._overlays.get(path) is overlay:  # not replaced by a newer text meanwhile
                self._overlays[path] = dataclasses.replace(overlay, outline=outline, parsed=True)
        return outline

    # -- lookups ---------------------------------------------------------------

    def definitions(self, name: str) -> list[IndexedSymbol]:
        """Every definition named ``name``, open documents' versions first in
        place of their disk versions, sorted by relpath then line."""
        with self._lock:
            paths = self._names.get(name, ())
            overlays = dict(self._overlays)
            entries = [self._files.get(path) for path in paths if path not in overlays]
        found = [
            IndexedSymbol(entry.path, entry.relpath, definition)
            for entry in entries
            if entry is not None
            for definition in entry.outline.definitions
            if definition.name == name
        ]
        for path, overlay in overlays.items():
            outline = self._overlay_outline(path, overlay)
            if outline is not None:
                relpath = self.relpath(path)
                found.extend(
                    IndexedSymbol(path, relpath, d) for d in outline.definitions if d.name == name
                )
        found.sort(key=lambda symbol: (symbol.relpath, symbol.definition.start_line))
        return found

    def saved_definitions(self, path: str | Path) -> tuple[Definition, ...]:
        """The file's definitions as on disk: what other files were written against."""
        entry = self._files.get(_normal(path))
        return entry.outline.definitions if entry is not None else ()

    def referencing_files(self, name: str) -> list[str]:
        """Absolute paths of the files that use ``name``."""
        with self._lock:
            entries = list(self._files.values())
            overlays = dict(self._overlays)
        found = {
            entry.path
            for entry in entries
            if entry.path not in overlays and name in entry.references
        }
        for path, overlay in overlays.items():
            outline = self._overlay_outline(path, overlay)
            if outline is not None and name in outline.references:
                found.add(path)
        return sorted(found)

    def outline_of(self, path: str | Path) -> Outline | None:
        path = _normal(path)
        overlay = self._overlays.get(path)
        if overlay is not None:
            return self._overlay_outline(path, overlay)
        entry = self._files.get(path)
        return entry.outline if entry is not None else None

    def relpath(self, path: str | Path) -> str:
        path = _normal(path)
        root = self.root_of(path)
        if root is None:
            return path.replace(os.sep, "/")
        return path[len(str(root)) + 1 :].replace(os.sep, "/") or os.path.basename(path)

    def root_of(self, path: str | Path) -> Path | None:
        """The innermost root that holds ``path``."""
        path = _normal(path)
        holding = [root for root in self.roots if path == root or path.startswith(root + os.sep)]
        return Path(max(holding, key=len)) if holding else None

    def paths(self) -> list[str]:
        """Every indexed file (disk)."""
        return sorted(self._files)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            files = len(self._files)
            definitions = self._definitions  # kept as files come and go: status is O(1)
            seconds = self._build_seconds
            built = self._build_files
            return {
                "files": files,
                "definitions": definitions,
                "bytes_read": self._bytes_read,
                "seconds": round(seconds, 3),
                "files_per_second": round(built / seconds, 1) if seconds > 0 else 0.0,
                "workers": self._build_workers,
                "skipped": dict(self._skipped),
                "truncated": self._truncated,
                "open_documents": len(self._overlays),
                "parsed": self.parsed,
                "from_cache": self.from_cache,
                "rehashed": self.rehashed,
                "cache_rejected": sum(cache.rejected for cache in self._caches.values()),
                "cache": self.cache is not None,
                "priority_files": self._priority.indexed,
                "imports_ready_s": None
                if self._imports_ready_s is None
                else round(self._imports_ready_s, 3),
            }


def _relpath(path: str, root: str) -> str:
    return path[len(root) + 1 :].replace(os.sep, "/")
