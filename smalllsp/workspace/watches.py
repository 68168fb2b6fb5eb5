"""An observer that puts no inotify watch on folders the index ignores.

watchdog's recursive inotify watch adds one kernel watch per folder under
the root, node_modules and virtual environments included: tens of thousands
of watches (each costs kernel memory, and the per-user limit is often 8,192
to 65,536) for folders whose events the watcher then drops. Here the walk
that adds watches skips the folders a build skips by name or by content
(smalllsp.workspace.ignore.skipped_dir_reason): VCS, dependency, cache and
build-output folders and virtual environments. A folder created later under
a watched one is checked the same way before it is watched. .gitignore'd
folders are still watched: their rules can change at any time.

This subclasses watchdog's inotify classes (pinned in pyproject.toml); other
platforms' observers (FSEvents, ReadDirectoryChangesW, kqueue) watch a tree
as a whole or per file, and are used as they are.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from watchdog.observers import Observer

from smalllsp.workspace import ignore

log = logging.getLogger(__name__)


def pruned(path: bytes) -> bool:
    """Whether the folder at ``path`` is one the index never reads."""
    name = os.fsdecode(path)
    try:
        return (
            ignore.skipped_dir_reason(
                name, lambda entry: os.path.lexists(os.path.join(name, entry))
            )
            is not None
        )
    except OSError:
        return False


def _add_watches(group: Any, path: bytes) -> None:
    """What InotifyWatchGroup._add_all_callbacks does, without entering pruned folders."""
    if path != group.path and pruned(path):
        return
    group._add_callback(path)
    if not (group.is_recursive and os.path.isdir(path)):
        return
    for top, dirnames, _ in os.walk(path, followlinks=group.follow_symlink):
        kept = []
        for dirname in dirnames:
            full = os.path.join(top, dirname)
            if (not group.follow_symlink and os.path.islink(full)) or pruned(full):
                continue
            kept.append(dirname)
            group._add_callback(full)
        dirnames[:] = kept


def make_observer() -> Any:
    """A watchdog observer; on Linux one whose recursive watches skip ignored folders."""
    try:
        from watchdog.observers import inotify
    except ImportError:  # not Linux
        return Observer()

    class PrunedWatchGroup(inotify.InotifyWatchGroup):
        def _add_all_callbacks(self, path: bytes) -> None:
            _add_watches(self, path)

    class PrunedEmitter(inotify.InotifyEmitter):
        def on_thread_start(self) -> None:
            self._inotify = PrunedWatchGroup(
                self._inotify_fd,
                os.fsencode(self.watch.path),
                is_recursive=self.watch.is_recursive,
                event_mask=self.get_event_mask_from_filter(),
                follow_symlink=self.watch.follow_symlink,
            )

    observer = Observer()
    if isinstance(observer, inotify.InotifyObserver):
        observer._emitter_class = PrunedEmitter
    return observer
