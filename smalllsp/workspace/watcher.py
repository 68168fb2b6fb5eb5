"""Keeps the workspace index current while files change on disk.

A watchdog observer reports every write, often several per save (modify,
modify, close) and thousands for a `git checkout`; the watcher collects them
by path, waits until they stop for ``debounce_s`` (at most MAX_DELAY_S), and
applies the last operation per path to the index on a thread of its own, so
the observer's thread never parses. Events under VCS, dependency and cache
folders are dropped at once; .gitignore rules are the index's to apply.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver, ObservedWatch

from smalllsp.workspace import ignore
from smalllsp.workspace.watches import make_observer
from smalllsp.workspace.index import WorkspaceIndex

log = logging.getLogger(__name__)

# The events that can change what the index holds (not opens, reads or attribute changes).
EVENTS = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
MAX_DELAY_S = 0.5  # a stream of events (a build writing files) still reaches the index this often
RECHECK_S = (
    1.0  # how often the workspace folders are checked for being deleted, moved away, or back
)
UPDATE, REMOVE = "update", "remove"


class WorkspaceWatcher:
    """A watchdog observer over the roots that debounces events and applies them to the index."""

    def __init__(
        self, index: WorkspaceIndex, roots: Sequence[str | Path], *, debounce_s: float = 0.1
    ) -> None:
        self.index = index
        self.roots = tuple(os.path.abspath(os.fspath(root)) for root in roots)
        self.debounce_s = debounce_s
        self._pending: dict[str, str] = {}  # path -> UPDATE | REMOVE, in the order last touched
        self._last_event = 0.0
        self._condition = threading.Condition()
        self._stopping = False
        self._observer: BaseObserver | None = None
        self._handler: _Handler | None = None
        self._watches: dict[str, ObservedWatch] = {}  # root -> its watchdog watch
        self._identities: dict[
            str, tuple[int, int] | None
        ] = {}  # root -> (device, inode) of the folder watched
        self._lost: set[str] = (
            set()
        )  # roots deleted or moved away: watched again once they are back
        self._thread: threading.Thread | None = None
        self.applied = 0  # operations applied to the index (for status and tests)
        self.failures = 0  # operations that raised (logged)

    def start(self) -> None:
        """Start watching; raises OSError when the system refuses (e.g. inotify limits)."""
        observer = make_observer()  # no watches on ignored folders
        handler = self._handler = _Handler(self)
        for root in self.roots:
            self._identities[root] = _identity(root)
            self._watches[root] = observer.schedule(
                handler, root, recursive=True, event_filter=EVENTS
            )
        try:
            observer.start()
        except OSError as problem:
            log.error("workspace watcher: cannot watch %s: %s", ", ".join(self.roots), problem)
            raise
        self._observer = observer
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="smalllsp-watcher", daemon=True)
        self._thread.start()

    def set_roots(self, roots: Sequence[str | Path]) -> None:
        """Watch ``roots`` from now on: new folders are watched, dropped ones no longer
        (their files are the index's to drop). Raises OSError when a new one cannot be
        watched. (Watches are added outside the lock: the observer's thread holds its
        own lock while it hands an event to this watcher.)"""
        wanted = tuple(dict.fromkeys(os.path.abspath(os.fspath(root)) for root in roots))
        observer = self._observer
        with self._condition:
            added = [root for root in wanted if root not in self.roots]
            removed = [root for root in self.roots if root not in wanted]
            self.roots = wanted
            for root in removed:
                self._identities.pop(root, None)
                self._lost.discard(root)
            watches = [self._watches.pop(root) for root in removed if root in self._watches]
        handler = self._handler
        if observer is None or handler is None:
            return
        for watch in watches:
            _unschedule(observer, watch)
        for root in added:
            identity = _identity(root)
            watch = observer.schedule(handler, root, recursive=True, event_filter=EVENTS)
            with self._condition:
                self._identities[root] = identity
                self._watches[root] = watch

    def stop(self) -> None:
        """Stop watching and join the threads; pending events are dropped."""
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
            self._observer = None
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # -- events ----------------------------------------------------------------

    def event(self, event: FileSystemEvent) -> None:
        """Queue what ``event`` changes (called on the observer's thread)."""
        if isinstance(event, DirDeletedEvent) and os.fsdecode(event.src_path) in self.roots:
            with self._condition:  # its inode may come back at once with a new folder: mark it now
                if os.fsdecode(event.src_path) not in self._lost:
                    log.warning(
                        "workspace watcher: %s was deleted; it is watched again if it comes back",
                        os.fsdecode(event.src_path),
                    )
                    self._lost.add(os.fsdecode(event.src_path))
        if isinstance(event, (FileMovedEvent, DirMovedEvent)):
            self._queue(os.fsdecode(event.src_path), REMOVE)
            self._queue(os.fsdecode(event.dest_path), UPDATE)
        elif isinstance(event, (FileDeletedEvent, DirDeletedEvent)):
            self._queue(os.fsdecode(event.src_path), REMOVE)
        else:
            self._queue(os.fsdecode(event.src_path), UPDATE)

    def _queue(self, path: str, operation: str) -> None:
        if not path or self._under_skipped_dir(path):
            return
        with self._condition:
            self._queue_locked(path, operation)

    def _queue_locked(self, path: str, operation: str) -> None:
        self._pending.pop(path, None)
        self._pending[path] = operation
        self._last_event = time.monotonic()
        self._condition.notify()

    def _check_roots(self) -> None:
        """Notice a workspace folder deleted or moved away (its files leave the
        index), and watch and re-read one that is back. Called every RECHECK_S
        while no events come: a stat per folder. The lock is held for this
        watcher's own state only, never around a call into the observer (its
        thread holds the observer's lock while it hands this watcher an event).

        inotify reports neither reliably: a moved folder's watch follows it to
        its new place, and a deleted one's emitter just ends.
        """
        observer, handler = self._observer, self._handler
        if observer is None or handler is None:
            return
        for root in self.roots:
            identity = _identity(root)
            with self._condition:
                if root not in self.roots:  # dropped meanwhile (set_roots)
                    continue
                lost_now = root not in self._lost and identity != self._identities.get(root)
                if lost_now:  # gone, or replaced by another folder of the same name
                    log.warning(
                        "workspace watcher: %s was deleted or moved away; it is watched again if it comes back",
                        root,
                    )
                    self._lost.add(root)
                    self._queue_locked(root, REMOVE)
                back = root in self._lost and identity is not None
                old = self._watches.pop(root, None) if lost_now or back else None
            if old is not None:
                _unschedule(observer, old)
            if not back:
                continue
            try:
                watch = observer.schedule(handler, root, recursive=True, event_filter=EVENTS)
            except OSError as problem:  # gone again, or not readable: try at the next check
                log.warning("workspace watcher: cannot watch %s again yet: %s", root, problem)
                continue
            log.warning("workspace watcher: %s is back; watching and indexing it again", root)
            with self._condition:
                self._watches[root] = watch
                self._identities[root] = identity
                self._lost.discard(root)
                self._queue_locked(root, UPDATE)

    def _under_skipped_dir(self, path: str) -> bool:
        for root in self.roots:
            if path.startswith(root + os.sep):
                return any(
                    part in ignore.SKIPPED_DIRS for part in path[len(root) + 1 :].split(os.sep)
                )
        return False

    def _run(self) -> None:
        while True:
            with self._condition:
                if not self._pending and not self._stopping:
                    self._condition.wait(RECHECK_S)
                if self._stopping:
                    return
                idle = not self._pending
            if idle:
                self._check_roots()  # outside the lock: it may call into the observer
                continue
            with self._condition:
                first = time.monotonic()
                while not self._stopping:
                    now = time.monotonic()
                    quiet = now - self._last_event
                    if quiet >= self.debounce_s or now - first >= MAX_DELAY_S:
                        break
                    self._condition.wait(min(self.debounce_s - quiet, MAX_DELAY_S - (now - first)))
                batch, self._pending = self._pending, {}
            self._apply(batch)

    def _apply(self, batch: dict[str, str]) -> None:
        for path, operation in batch.items():
            try:
                if operation == REMOVE:
                    self.index.remove_path(path)
                else:
                    self.index.update_path(path)
                self.applied += 1
            except (
                Exception
            ):  # one bad path must not stop the watcher; it is logged with its traceback
                self.failures += 1
                log.exception("workspace watcher: could not %s %s", operation, path)


def _unschedule(observer: BaseObserver, watch: ObservedWatch) -> None:
    try:
        observer.unschedule(watch)
    except (KeyError, OSError):  # its emitter ended with the folder
        pass


def _identity(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino) if os.path.isdir(path) else None


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: WorkspaceWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.watcher.event(event)
