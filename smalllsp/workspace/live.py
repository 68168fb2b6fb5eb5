"""The index's changes after a build: a file or folder changed on disk, a
workspace folder added or dropped, a limit changed.

Functions of a :class:`smalllsp.workspace.index.WorkspaceIndex` (whose
methods of the same names call them), kept apart so that each module reads
as one job: the index module stores and answers lookups, the build module
builds, this one keeps what the index holds true to the disk and the editor.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from smalllsp.workspace import boundary, ignore
from smalllsp.workspace.files import language_of

if TYPE_CHECKING:
    from smalllsp.workspace.index import WorkspaceIndex

log = logging.getLogger("smalllsp.workspace.index")


def normal(path: str | Path) -> str:
    return os.path.abspath(os.fspath(path))


def update_path(index: WorkspaceIndex, path: str | Path) -> None:
    """(Re)index one file, or every file under a directory, from disk; a
    path that is gone, unreadable or ignored is removed."""
    path = normal(path)
    root = index.root_of(path)
    if root is None:
        return
    rules = index._rules[str(root)]
    if os.path.basename(path) == ignore.GITIGNORE:
        directory = os.path.dirname(path)
        rules.gitignores.forget(directory)
        _resync(index, str(root), directory)
        return
    if os.path.isdir(path) and not os.path.islink(path):
        _resync(index, str(root), path)
        return
    language_id = language_of(path)
    if language_id is None:
        return
    if not admissible(index, path, str(root)) or not os.path.isfile(path):
        index.remove_path(path)
        return
    if path not in index._files and len(index._files) >= index.max_files:
        with index._lock:
            index._truncated = True
        log.warning("workspace index: %s not indexed: the index holds index_max_files files", path)
        return
    index._index_file(path, str(root), language_id)


def admissible(index: WorkspaceIndex, path: str, root: str) -> bool:
    """Not ignored and not private (the rules a walk applies, for one path)."""
    if index._rules[root].ignored_reason(path) is not None:
        return False
    parts = path[len(root) + 1 :].split(os.sep)
    return not any(boundary.private_pattern(part, index.private_patterns) for part in parts)


def _resync(index: WorkspaceIndex, root: str, directory: str) -> None:
    """Index what is under ``directory`` now and drop what is no longer there."""
    if directory != root and not admissible(index, directory, root):
        index.remove_path(directory)
        return
    candidates: list[tuple[str, str, str]] = []
    room = index.max_files - len(index._files)
    index._walk(root, candidates, None, lambda: False, start=directory)
    found = {path for path, _, _ in candidates}
    prefix = directory + os.sep
    for path in [p for p in list(index._files) if p.startswith(prefix) and p not in found]:
        index._drop(path)
    for path, file_root, language_id in candidates:
        if path not in index._files:
            if room <= 0:
                continue
            room -= 1
        index._index_file(path, file_root, language_id)


def remove_path(index: WorkspaceIndex, path: str | Path) -> None:
    """Forget a file, or every file under a directory."""
    path = normal(path)
    prefix = path + os.sep
    for indexed in [p for p in list(index._files) if p == path or p.startswith(prefix)]:
        index._drop(indexed)


def move_path(index: WorkspaceIndex, src: str | Path, dst: str | Path) -> None:
    index.remove_path(src)
    index.update_path(dst)


# -- workspace folders and limits -------------------------------------------------


def set_roots(
    index: WorkspaceIndex,
    roots: Sequence[str | Path],
    progress: Callable[[int, int | None, str], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> tuple[list[str], list[str]]:
    """Make ``roots`` the workspace folders: a dropped folder's files leave the
    index at once, an added one is indexed (blocking: run it off the event
    loop). Returns (added, removed)."""
    wanted = tuple(dict.fromkeys(normal(root) for root in roots))
    with index._build_lock:  # a build under way walks the old roots to its end first
        added = [root for root in wanted if root not in index.roots]
        removed = [root for root in index.roots if root not in wanted]
        with index._lock:
            index.roots = wanted
            index._real_roots = boundary.real_roots(wanted)
            for root in removed:
                index._rules.pop(root, None)
            for root in added:
                index._rules[root] = ignore.IgnoreRules(root)
        for root in removed:
            _forget_root(index, root)
        if added or removed:
            log.info(
                "workspace index: folders added %s, removed %s", added or "none", removed or "none"
            )
        if added or any(index.root_of(root) is not None for root in removed):  # new files
            index.build(progress, cancelled)
    return added, removed


def _forget_root(index: WorkspaceIndex, root: str) -> None:
    """Drop the files of a folder no longer in the workspace. Its cache stays (the folder
    may come back); a folder that holds it indexes those files again, under its own name."""
    prefix = root + os.sep
    for path in [p for p in list(index._files) if p.startswith(prefix)]:
        index._drop(path, keep_cached=True)
    cache = index._caches.pop(root, None)
    if cache is not None:
        cache.close()
