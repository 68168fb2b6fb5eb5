"""Workspace folders and index settings changed while the server runs.

``workspace/didChangeWorkspaceFolders`` adds or drops a folder, a settings
change turns the index on or off or moves its limits, ``workspace/didRenameFiles``
moves files. None of that may run on the event loop (adding a folder reads
all of it), and a second change may come while the first is applied: one
thread applies the latest wanted state, so a burst of changes costs one
rebuild, and renames in the order they came.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smalllsp.workspace.boundary import Boundary
from smalllsp.workspace.watcher import WorkspaceWatcher

if TYPE_CHECKING:
    from smalllsp.context.sources import ContextSources

log = logging.getLogger(__name__)


class Reconciler:
    """Applies folder, setting and rename changes to a ContextSources' index and watcher, off the loop."""

    def __init__(self, sources: ContextSources) -> None:
        self.sources = sources
        self._condition = threading.Condition()
        self._wanted: tuple[tuple[str, ...], bool, int, int] | None = None
        self._renames: list[tuple[str, str]] = []
        self._thread: threading.Thread | None = None
        self._busy = False
        self.applied = 0  # changes applied (tests wait on it)
        self.done: Callable[[], None] = lambda: None  # called after each change applied

    def want(
        self, folders: Sequence[str], enabled: bool, max_files: int, max_file_bytes: int
    ) -> None:
        """The folders and index settings to reach (constant time: call it on the loop)."""
        with self._condition:
            self._wanted = (tuple(folders), enabled, max_files, max_file_bytes)
            self._wake()

    def renamed(self, pairs: Sequence[tuple[str, str]]) -> None:
        with self._condition:
            self._renames.extend(pairs)
            self._wake()

    def idle(self) -> bool:
        with self._condition:
            return not self._busy and self._wanted is None and not self._renames

    def _wake(self) -> None:
        self._busy = True
        self._condition.notify()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="smalllsp-folders", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._wanted is None and not self._renames:
                    self._busy = False
                    if not self._condition.wait(5.0):
                        return  # nothing for a while: the thread ends, the next change starts one
                wanted, self._wanted = self._wanted, None
                renames, self._renames = self._renames, []
            try:
                if wanted is not None:
                    self._apply(*wanted)
                for old, new in renames:
                    if self.sources.index is not None:
                        self.sources.index.move_path(old, new)
                self.applied += 1
            except Exception:  # the index keeps what it had; the next change tries again
                log.exception("workspace index: could not apply a change of folders or settings")
            finally:
                self.done()

    def _apply(
        self, folders: tuple[str, ...], enabled: bool, max_files: int, max_bytes: int
    ) -> None:
        sources, index = self.sources, self.sources.index
        if index is None:
            return
        existing = [folder for folder in folders if os.path.isdir(folder)]
        roots = existing if enabled else []
        sources.boundary = Boundary(existing, sources.private_patterns)
        cancelled = sources._stopping.is_set
        sources.state = "indexing"
        try:
            limits_changed = (max_files, max_bytes) != (index.max_files, index.max_file_bytes)
            index.max_files, index.max_file_bytes = max_files, max_bytes
            added, _removed = index.set_roots(roots, None, cancelled)
            if limits_changed and roots and not added:  # what now fits is added, the rest dropped
                index.build(None, cancelled)
        finally:
            sources.state = "ready"
        sources.roots = [Path(root) for root in roots]
        self._watch(roots)

    def _watch(self, roots: list[str]) -> None:
        sources = self.sources
        watcher: Any = sources._watcher
        if watcher is None and roots and sources.index is not None:
            watcher = WorkspaceWatcher(sources.index, roots)
            try:
                watcher.start()
            except OSError as problem:
                log.warning("no live updates of the workspace index: %s", problem)
                return
            sources._watcher = watcher
        elif watcher is not None:
            watcher.set_roots(roots)
