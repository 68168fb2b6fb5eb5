"""The live workspace index: every definition in the workspace's source files.

The context builder looks up the definitions of names used near the cursor,
and the cross-file guard checks a suggestion's calls against them and finds
the files that use a name. One outline per file (smalllsp.syntax.symbols),
plus a name -> files table, is all it needs.

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
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from smalllsp.syntax import symbols
from smalllsp.syntax.symbols import Definition, Outline
from smalllsp.workspace import boundary, files, ignore, parallel
from smalllsp.workspace.files import SKIP_REASONS, ParsedFile, Unindexable, language_of, read_source  # noqa: F401 (API)

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.1
POOL_MIN_FILES = (
    500  # fewer files to read than this: worker processes would take longer to start than they save
)


@dataclasses.dataclass(frozen=True)
class IndexedSymbol:
    path: str  # absolute path of the file
    relpath: str  # path relative to its workspace root, with "/" (what a prompt or a message shows)
    definition: Definition


@dataclasses.dataclass(frozen=True)
class _Entry:
    path: str
    relpath: str
    outline: Outline
    size: int
    mtime_ns: int


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
    ) -> None:
        self.roots = tuple(os.path.abspath(os.fspath(root)) for root in roots)
        # Files whose name (or a folder's on the way) matches are never read; nor is
        # a file that resolves outside the roots (read_source checks the real path).
        self.private_patterns = tuple(private_patterns)
        self._real_roots = boundary.real_roots(self.roots)
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.workers = workers  # processes that parse during a build: 0 = one per core, 1 = the build thread alone
        self._rules = {root: ignore.IgnoreRules(root) for root in self.roots}
        self._lock = threading.Lock()
        self._files: dict[str, _Entry] = {}
        self._names: dict[
            str, tuple[str, ...]
        ] = {}  # definition name -> paths of the files (disk) defining it
        self._overlays: dict[str, _Overlay] = {}
        self._skipped = dict.fromkeys(SKIP_REASONS, 0)
        self._bytes_read = 0
        self._build_seconds = 0.0
        self._build_files = 0
        self._build_workers = 0
        self._truncated = False

    # -- building ------------------------------------------------------------

    def build(
        self,
        progress: Callable[[int, int | None, str], None] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        """Walk every root and index every source file that is not ignored.

        Blocking (run it in a thread). Lookups see the files indexed so far.
        A file unchanged since the last build is not read again; files that
        are gone are dropped at the end of a build that was not cancelled.
        Many files to read are parsed by worker processes (see ``workers``).
        """
        started = time.perf_counter()
        reporter = _Progress(progress)
        with self._lock:
            self._skipped = dict.fromkeys(SKIP_REASONS, 0)
            self._bytes_read = 0
            self._truncated = False
        candidates: list[tuple[str, str, str]] = []  # (path, root, language id)
        for root in self.roots:
            if cancelled():
                break
            self._walk(root, candidates, reporter, cancelled)
        total = len(candidates)
        seen: set[str] = set()
        to_read: list[tuple[str, str, str]] = []
        for path, root, language_id in candidates:
            if cancelled():
                break
            if self._unchanged(path):
                seen.add(path)
            else:
                to_read.append((path, root, language_id))

        def indexed(path: str) -> None:
            seen.add(path)
            reporter.report(len(seen), total, f"indexed {len(seen)}/{total} files")

        workers = self._workers_for(len(to_read))
        if workers > 1 and not cancelled():
            to_read, pooled = self._read_in_pool(to_read, workers, indexed, cancelled)
            workers = workers if pooled else 1
        else:
            workers = 1
        for path, root, language_id in to_read:
            if cancelled():
                break
            self._apply(
                files.outline_file(path, language_id, self.max_file_bytes, self._real_roots), root
            )
            indexed(path)
        if not cancelled():
            stale = [path for path in list(self._files) if path not in seen]
            for path in stale:
                self._drop(path)
        elapsed = time.perf_counter() - started
        with self._lock:
            self._build_seconds = elapsed
            self._build_files = len(seen)
            self._build_workers = workers
        reporter.report(
            len(seen), total, f"indexed {len(seen)} files in {elapsed:.1f} s", force=True
        )
        stats = self.stats()
        log.info(
            "workspace index: %d files, %d definitions in %.2f s (%.0f files/s, %s); skipped %s%s",
            stats["files"],
            stats["definitions"],
            elapsed,
            stats["files_per_second"],
            f"{workers} worker processes" if workers > 1 else "in process",
            {k: v for k, v in stats["skipped"].items() if v},
            " (cancelled)" if cancelled() else "",
        )

    def _workers_for(self, files_to_read: int) -> int:
        """How many processes to parse ``files_to_read`` files with; 1: the build thread alone."""
        if files_to_read < POOL_MIN_FILES:
            return 1
        wanted = self.workers if self.workers > 0 else parallel.auto_workers()
        return max(
            1, min(wanted, -(-files_to_read // parallel.BATCH_FILES))
        )  # no more than batches

    def _read_in_pool(
        self,
        jobs: list[tuple[str, str, str]],
        workers: int,
        indexed: Callable[[str], None],
        cancelled: Callable[[], bool],
    ) -> tuple[list[tuple[str, str, str]], bool]:
        """Index ``jobs`` with ``workers`` processes; returns the jobs left to
        index in this thread (those not done when the pool failed) and whether it worked."""
        root_of = {path: root for path, root, _ in jobs}
        try:
            with parallel.OutlinePool(workers, self.max_file_bytes, self._real_roots) as pool:
                for batch in pool.outline(
                    ((path, language_id) for path, _, language_id in jobs), cancelled
                ):
                    for parsed in batch:
                        self._apply(parsed, root_of.pop(parsed.path))
                        indexed(parsed.path)
        except (
            Exception
        ) as problem:  # no processes here (a sandbox, a limit) or one died: the thread goes on
            log.warning(
                "workspace index: worker processes failed (%s: %s); indexing the other %d files in the server process",
                type(problem).__name__,
                problem,
                len(root_of),
            )
            return [job for job in jobs if job[0] in root_of], False
        return [job for job in jobs if job[0] in root_of], True

    def _walk(
        self,
        root: str,
        candidates: list[tuple[str, str, str]],
        reporter: _Progress,
        cancelled: Callable[[], bool],
        start: str | None = None,
    ) -> None:
        """Append the source files under ``start`` (default: the root) that are not ignored."""
        rules = self._rules[root]
        start = start or root
        other_roots = {r for r in self.roots if r != root and r.startswith(root + os.sep)}
        stack = [(start, rules.gitignores.chain(os.path.dirname(start)) if start != root else ())]
        while stack:
            if cancelled():
                return
            directory, chain = stack.pop()
            try:
                with os.scandir(directory) as listing:
                    entries = sorted(listing, key=lambda entry: entry.name, reverse=True)
            except FileNotFoundError:
                self._skip("vanished", directory)
                continue
            except OSError as problem:
                self._skip("unreadable", directory, problem)
                continue
            names = {entry.name for entry in entries}
            if directory != root:
                reason = ignore.skipped_dir_reason(directory, names.__contains__)
                if reason is not None:
                    self._skip("ignored", directory, reason)
                    continue
            if ignore.GITIGNORE in names:
                spec = rules.gitignores.spec(directory)
                if spec is not None:
                    chain = (*chain, (directory, spec))
            subdirectories = []
            for entry in entries:
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                    if not is_dir and entry.is_symlink() and entry.is_dir():
                        self._skip("symlinked directory", entry.path)  # never followed: no loops
                        continue
                    is_file = not is_dir and entry.is_file()
                except OSError as problem:
                    self._skip("unreadable", entry.path, problem)
                    continue
                if boundary.private_pattern(entry.name, self.private_patterns) is not None:
                    self._skip("private", entry.path)
                    continue
                if is_dir:
                    if entry.name in ignore.SKIPPED_DIRS or ignore.git_ignored(
                        entry.path, True, chain
                    ):
                        self._skip("ignored", entry.path)
                    elif entry.path not in other_roots:
                        subdirectories.append(entry.path)
                elif is_file:
                    language_id = language_of(entry.name)
                    if language_id is None:
                        continue
                    if ignore.git_ignored(entry.path, False, chain):
                        self._skip("ignored", entry.path)
                        continue
                    if len(candidates) >= self.max_files:
                        with self._lock:
                            self._truncated = True
                        log.warning(
                            "workspace index: stopped at %d files (index_max_files); the rest of %s is not indexed",
                            self.max_files,
                            root,
                        )
                        stack.clear()
                        return
                    candidates.append((entry.path, root, language_id))
            stack.extend((sub, chain) for sub in reversed(subdirectories))
            reporter.report(len(candidates), None, f"listing files: {len(candidates)} found")

    def _unchanged(self, path: str) -> bool:
        """Indexed already, and the same size and mtime on disk (a stat that fails: no, read it to see why)."""
        known = self._files.get(path)
        if known is None:
            return False
        try:
            status = os.stat(path)
        except OSError:
            return False
        return status.st_mtime_ns == known.mtime_ns and status.st_size == known.size

    def _index_file(self, path: str, root: str, language_id: str) -> None:
        if not self._unchanged(path):
            self._apply(
                files.outline_file(path, language_id, self.max_file_bytes, self._real_roots), root
            )

    def _apply(self, parsed: ParsedFile, root: str) -> None:
        """Store a file's outline, or count why it was left out and forget it."""
        if parsed.skip is not None:
            self._skip(parsed.skip, parsed.path, parsed.detail)
        if parsed.outline is None:
            if parsed.skip is not None and parsed.skip != "not utf-8":
                self._drop(parsed.path)
            return
        relpath = parsed.path[len(root) + 1 :].replace(os.sep, "/")
        self._store(
            _Entry(parsed.path, relpath, parsed.outline, parsed.size, parsed.mtime_ns),
            parsed.bytes_read,
        )

    def _store(self, entry: _Entry, bytes_read: int) -> None:
        with self._lock:
            old = self._files.get(entry.path)
            old_names = {d.name for d in old.outline.definitions} if old is not None else set()
            new_names = {d.name for d in entry.outline.definitions}
            for name in old_names - new_names:
                self._unname(name, entry.path)
            for name in new_names - old_names:
                self._names[name] = (*self._names.get(name, ()), entry.path)
            self._files[entry.path] = entry
            self._bytes_read += bytes_read

    def _unname(self, name: str, path: str) -> None:
        remaining = tuple(p for p in self._names.get(name, ()) if p != path)
        if remaining:
            self._names[name] = remaining
        else:
            self._names.pop(name, None)

    def _drop(self, path: str) -> None:
        with self._lock:
            old = self._files.pop(path, None)
            if old is not None:
                for name in {d.name for d in old.outline.definitions}:
                    self._unname(name, path)

    def _skip(self, reason: str, path: str, detail: object = "") -> None:
        with self._lock:
            self._skipped[reason] = self._skipped.get(reason, 0) + 1
        level = logging.WARNING if reason == "unreadable" else logging.DEBUG
        log.log(level, "workspace index: %s: %s%s", path, reason, f" ({detail})" if detail else "")

    # -- live updates ----------------------------------------------------------

    def update_path(self, path: str | Path) -> None:
        """(Re)index one file, or every file under a directory, from disk; a
        path that is gone, unreadable or ignored is removed."""
        path = _normal(path)
        root = self.root_of(path)
        if root is None:
            return
        rules = self._rules[str(root)]
        if os.path.basename(path) == ignore.GITIGNORE:
            directory = os.path.dirname(path)
            rules.gitignores.forget(directory)
            self._resync(str(root), directory)
            return
        if os.path.isdir(path) and not os.path.islink(path):
            self._resync(str(root), path)
            return
        language_id = language_of(path)
        if language_id is None:
            return
        reason = rules.ignored_reason(path)
        parts = path[len(str(root)) + 1 :].split(os.sep)
        if reason is None and any(
            boundary.private_pattern(part, self.private_patterns) for part in parts
        ):
            reason = "private"
        if reason is not None or not os.path.isfile(path):
            self.remove_path(path)
            return
        if path not in self._files and len(self._files) >= self.max_files:
            with self._lock:
                self._truncated = True
            log.warning(
                "workspace index: %s not indexed: the index holds index_max_files files", path
            )
            return
        self._index_file(path, str(root), language_id)

    def _resync(self, root: str, directory: str) -> None:
        """Index what is under ``directory`` now and drop what is no longer there."""
        parts = directory[len(root) + 1 :].split(os.sep) if directory != root else []
        private = any(boundary.private_pattern(part, self.private_patterns) for part in parts)
        if directory != root and (
            private or self._rules[root].ignored_reason(directory) is not None
        ):
            self.remove_path(directory)
            return
        candidates: list[tuple[str, str, str]] = []
        room = self.max_files - len(self._files)
        self._walk(root, candidates, _Progress(None), lambda: False, start=directory)
        found = {path for path, _, _ in candidates}
        prefix = directory + os.sep
        for path in [p for p in list(self._files) if p.startswith(prefix) and p not in found]:
            self._drop(path)
        for path, file_root, language_id in candidates:
            if path not in self._files:
                if room <= 0:
                    continue
                room -= 1
            self._index_file(path, file_root, language_id)

    def remove_path(self, path: str | Path) -> None:
        """Forget a file, or every file under a directory."""
        path = _normal(path)
        prefix = path + os.sep
        for indexed in [p for p in list(self._files) if p == path or p.startswith(prefix)]:
            self._drop(indexed)

    def move_path(self, src: str | Path, dst: str | Path) -> None:
        self.remove_path(src)
        self.update_path(dst)

    # -- open documents --------------------------------------------------------

    def set_open_document(self, path: str | Path, language_id: str, text: str) -> None:
        """The editor's version of a file; lookups prefer it to the disk. Parsed on the next lookup."""
        with self._lock:
            self._overlays[_normal(path)] = _Overlay(language_id, text)

    def set_open_outline(self, path: str | Path, language_id: str, outline: Outline | None) -> None:
        """The editor's version of a file, as an outline read off the event loop
        (None: the document has none, e.g. it is over max_document_kb). Lookups
        prefer it to the disk, and never parse on the caller's thread."""
        with self._lock:
            self._overlays[_normal(path)] = _Overlay(language_id, "", outline, parsed=True)

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
            if entry.path not in overlays and name in entry.outline.references
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
            definitions = sum(len(entry.outline.definitions) for entry in self._files.values())
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
            }


def _normal(path: str | Path) -> str:
    return os.path.abspath(os.fspath(path))


class _Progress:
    """Calls ``progress`` at most every PROGRESS_INTERVAL_S."""

    def __init__(self, progress: Callable[[int, int | None, str], None] | None) -> None:
        self.progress = progress
        self.last = 0.0

    def report(self, done: int, total: int | None, message: str, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now - self.last >= PROGRESS_INTERVAL_S:
            self.last = now
            self.progress(done, total, message)
