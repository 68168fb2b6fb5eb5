"""How the index is built: the open documents' imports first, then the walk's
files, each from memory, from the on-disk cache, or parsed (in worker
processes when there are many).

Functions of a :class:`smalllsp.workspace.index.WorkspaceIndex` (which
stores entries and answers lookups); this module decides what to read and
in which order. Priority work (smalllsp.workspace.priority) is served between
two directories of the walk and between two files or batches read, so the
open file's imports never wait for the whole workspace.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from smalllsp.workspace import files, live, outline_cache, parallel, priority, walk
from smalllsp.workspace.files import SKIP_REASONS, language_of
from smalllsp.workspace.outline_codec import Row

if TYPE_CHECKING:
    from smalllsp.workspace.index import WorkspaceIndex

log = logging.getLogger("smalllsp.workspace.index")

PROGRESS_INTERVAL_S = 0.1
POOL_MIN_FILES = (
    500  # fewer files to read than this: worker processes would take longer to start than they save
)
Progress = Callable[[int, "int | None", str], None]
Job = tuple[str, str, str, bytes]  # path, root, language id, the digest of its cached outline
CACHED_BATCH = 512  # outlines from the cache stored per change of the name table


# -- building ------------------------------------------------------------


def build(
    index: WorkspaceIndex,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> None:
    """Walk every root and index every source file that is not ignored.

    Blocking (run it in a thread). Lookups see the files indexed so far;
    the open documents' imports come first. A file unchanged since the
    last build is not read again, nor one whose cached outline matches;
    files that are gone are dropped at the end of a build that was not
    cancelled. Many files to read are parsed by worker processes (see ``workers``).
    """
    with index._build_lock:
        index._building = True
        try:
            _build(index, progress, cancelled)
        finally:
            index._building = False
            index._rows = {}  # what the build did not use is stale: the memory goes back


def _build(index: WorkspaceIndex, progress: Progress | None, cancelled: Callable[[], bool]) -> None:
    started = time.perf_counter()
    reporter = _Progress(progress)
    with index._lock:
        index._skipped = dict.fromkeys(SKIP_REASONS, 0)
        index._bytes_read = 0
        index._truncated = False
        index._imports_ready_s = None
        overlays = list(index._overlays.items())
    index._priority.new_build()
    for path, overlay in overlays:
        index._priority.open_document(path, overlay.outline if overlay.parsed else None)
    _open_caches(index)
    _serve_priority(index, started)
    candidates: list[walk.Candidate] = []
    for root in index.roots:
        if cancelled():
            break
        index._walk(root, candidates, reporter, cancelled, started=started)
    total = len(candidates)
    seen: set[str] = set()
    to_read: list[tuple[str, str, str, bytes]] = []
    cached: list[tuple[str, str, Row]] = []
    for path, root, language_id in candidates:
        if cancelled():
            break
        expected = _known(index, path, root, cached)
        if expected is None:
            seen.add(path)
        else:
            to_read.append((path, root, language_id, expected))
        if len(cached) >= CACHED_BATCH:
            index._store_cached(cached)
            cached = []
    index._store_cached(cached)

    def indexed(path: str) -> None:
        seen.add(path)
        reporter.report(len(seen), total, f"indexed {len(seen)}/{total} files")
        _serve_priority(index, started)

    workers = _workers_for(index, len(to_read))
    if workers > 1 and not cancelled():
        to_read, pooled = _read_in_pool(index, to_read, workers, indexed, cancelled)
        workers = workers if pooled else 1
    else:
        workers = 1
    for path, root, language_id, expected in to_read:
        if cancelled():
            break
        if path in index._priority.done:  # indexed since the walk, ahead of the rest
            indexed(path)
            continue
        index._apply(
            files.outline_file(
                path, language_id, index.max_file_bytes, index._real_roots, expected
            ),
            root,
        )
        indexed(path)
    if not cancelled():
        stale = [path for path in list(index._files) if path not in seen]
        for path in stale:
            index._drop(path)
        if not index._truncated:  # rows of files no longer there
            for root, cache in index._caches.items():
                cache.delete(p for p in index._rows if p.startswith(root + os.sep))
    _serve_priority(index, started)
    elapsed = time.perf_counter() - started
    with index._lock:
        index._build_seconds = elapsed
        index._build_files = len(seen)
        index._build_workers = workers
    reporter.report(len(seen), total, f"indexed {len(seen)} files in {elapsed:.1f} s", force=True)
    stats = index.stats()
    log.info(
        "workspace index: %d files, %d definitions in %.2f s (%.0f files/s, %s; %d parsed, %d from the cache); skipped %s%s",
        stats["files"],
        stats["definitions"],
        elapsed,
        stats["files_per_second"],
        f"{workers} worker processes" if workers > 1 else "in process",
        index.parsed,
        index.from_cache,
        {k: v for k, v in stats["skipped"].items() if v},
        " (cancelled)" if cancelled() else "",
    )


def _workers_for(index: WorkspaceIndex, files_to_read: int) -> int:
    """How many processes to parse ``files_to_read`` files with; 1: the build thread alone."""
    if files_to_read < POOL_MIN_FILES:
        return 1
    wanted = index.workers if index.workers > 0 else parallel.auto_workers()
    return max(1, min(wanted, -(-files_to_read // parallel.BATCH_FILES)))  # no more than batches


def _read_in_pool(
    index: WorkspaceIndex,
    jobs: list[tuple[str, str, str, bytes]],
    workers: int,
    indexed: Callable[[str], None],
    cancelled: Callable[[], bool],
) -> tuple[list[tuple[str, str, str, bytes]], bool]:
    """Index ``jobs`` with ``workers`` processes; returns the jobs left to
    index in this thread (those not done when the pool failed) and whether it worked."""
    root_of = {path: root for path, root, _, _ in jobs}
    try:
        with parallel.OutlinePool(workers, index.max_file_bytes, index._real_roots) as pool:
            work = (
                (path, language_id, expected)
                for path, _, language_id, expected in jobs
                if path not in index._priority.done  # left in root_of: the thread sees to them
            )
            for batch in pool.outline(work, cancelled):
                for parsed in batch:
                    index._apply(parsed, root_of.pop(parsed.path))
                    indexed(parsed.path)
    # No processes here (a sandbox, a limit) or one died: the thread goes on in this process.
    except Exception as problem:  # noqa: BLE001 - said below, and the files are still indexed
        log.warning(
            "workspace index: worker processes failed (%s: %s); indexing the other %d files in the server process",
            type(problem).__name__,
            problem,
            len(root_of),
        )
        return [job for job in jobs if job[0] in root_of], False
    return [job for job in jobs if job[0] in root_of], True


def walk_root(
    index: WorkspaceIndex,
    root: str,
    candidates: list[walk.Candidate],
    reporter: _Progress | None,
    cancelled: Callable[[], bool],
    start: str | None = None,
    started: float | None = None,
) -> None:
    """Append the source files under ``start`` (default: the root) that are not ignored."""

    def after_directory() -> None:
        if reporter is not None:
            reporter.report(len(candidates), None, f"listing files: {len(candidates)} found")
        if started is not None:
            _serve_priority(index, started)

    complete = walk.walk(
        root,
        index._rules[root],
        candidates,
        max_files=index.max_files,
        private_patterns=index.private_patterns,
        other_roots={r for r in index.roots if r != root and r.startswith(root + os.sep)},
        skip=index._skip,
        cancelled=cancelled,
        after_directory=after_directory,
        start=start,
    )
    if not complete:
        with index._lock:
            index._truncated = True
        log.warning(
            "workspace index: stopped at %d files (index_max_files); the rest of %s is not indexed",
            index.max_files,
            root,
        )


# -- the cache -------------------------------------------------------------


def _open_caches(index: WorkspaceIndex) -> None:
    """Load the rows of each folder whose cache is not open yet; evict other workspaces' caches."""
    if index.cache is None:
        return
    stamp = outline_cache.current_stamp()
    for root in index.roots:
        if root not in index._caches:
            cache = outline_cache.OutlineCache(
                root, index.cache.directory, index.cache.max_bytes, stamp
            )
            index._caches[root] = cache
            rows = cache.load()
            with index._lock:
                index._rows.update(rows)
    outline_cache.evict(
        index.cache.directory, index.cache.max_bytes, [c.path for c in index._caches.values()]
    )


def cache_for(index: WorkspaceIndex, path: str) -> outline_cache.OutlineCache | None:
    root = index.root_of(path)
    return index._caches.get(str(root)) if root is not None else None


def _known(
    index: WorkspaceIndex, path: str, root: str, cached: list[tuple[str, str, Row]]
) -> bytes | None:
    """None when ``path`` is indexed now: unchanged in memory, or its cached outline
    matches its size and mtime (then it is appended to ``cached``, for the caller to
    store); else the content hash of its cached outline (b"": none)."""
    try:
        status = os.stat(path)
    except OSError:
        return b""  # read it to see why
    known = index._files.get(path)
    if status.st_size > index.max_file_bytes:
        return b""
    if known is not None and status.st_mtime_ns == known.mtime_ns and status.st_size == known.size:
        return None
    row = index._rows.get(path)
    if row is None:
        return b""
    if row.matches(status.st_size, status.st_mtime_ns):
        del index._rows[path]
        cached.append((path, root, row))
        index.from_cache += 1
        return None
    return row.digest  # its outline serves if the content hash still matches


def _serve_priority(index: WorkspaceIndex, started: float) -> None:
    """Index the files the open documents import (transitively) now, ahead of the walk."""
    while (item := index._priority.take()) is not None:
        path, outline, depth = item
        root = index.root_of(path)
        if root is None:
            continue
        if depth > 0:  # an imported file: indexed now if it may be
            language_id = language_of(path)
            if language_id is None or not live.admissible(index, path, str(root)):
                continue
            cached_one: list[tuple[str, str, Row]] = []
            expected = _known(index, path, str(root), cached_one)
            index._store_cached(cached_one)
            if expected is not None:
                index._apply(
                    files.outline_file(
                        path, language_id, index.max_file_bytes, index._real_roots, expected
                    ),
                    str(root),
                )
            index._priority.indexed += 1
            index._priority.done.add(path)
            entry = index._files.get(path)
            outline = entry.outline if entry is not None else None
        elif outline is None and path in index._overlays:
            outline = index._overlay_outline(path, index._overlays[path])
        if outline is None:
            continue
        if depth < priority.MAX_DEPTH:
            for imported in priority.imported_files(path, outline, str(root)):
                index._priority.follow(imported, depth + 1)
    if index._imports_ready_s is None and index._priority.opened and index._priority.pending() == 0:
        index._imports_ready_s = time.perf_counter() - started  # since the build started


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
