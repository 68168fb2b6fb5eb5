"""Worker processes that read and outline files for the workspace index's build.

Parsing is CPU work under the GIL, so one process indexes at one core's
speed; a large workspace's first build is spread over several. Workers are
started with 'spawn' (the server has threads: forking it could copy a held
lock), get batches of paths, and send back :class:`ParsedFile` results,
which the build thread stores. The pool lives for one build only, so no
process outlasts it, and each worker exits by itself if the server dies
without shutting it down (SIGKILL), instead of waiting on its queue forever.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from smalllsp.workspace.files import ParsedFile, outline_file

log = logging.getLogger(__name__)

Job = tuple[str, str, bytes]  # path, language id, the digest of its cached outline (b"": none)

BATCH_FILES = (
    16  # files per task: small enough to cancel quickly, large enough that IPC costs little
)
IN_FLIGHT_PER_WORKER = (
    2  # tasks queued per worker: it never waits for work, and a stop has little to wait for
)
WORKER_NICENESS = (
    5  # indexing is background work: the completion worker keeps priority for the cores
)
MAX_AUTO_WORKERS = 8
STOP_GRACE_S = 1.0  # how long a stop waits for busy workers before it kills them


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def auto_workers() -> int:
    """The worker count for ``index_workers = 0``: one per usable core, at most MAX_AUTO_WORKERS."""
    return min(usable_cpus(), MAX_AUTO_WORKERS)


class OutlinePool:
    """``workers`` processes outlining batches of files; use it as a context manager."""

    def __init__(self, workers: int, max_file_bytes: int, roots: tuple[str, ...] = ()) -> None:
        self.workers = workers
        self.max_file_bytes = max_file_bytes
        self.roots = roots  # real workspace roots: files resolving outside them are not read
        context = multiprocessing.get_context("spawn")
        self._executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)

    def __enter__(self) -> OutlinePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop the workers: queued batches are dropped; a worker still busy after
        ``grace_s`` (a batch takes milliseconds; one stuck in the kernel never
        ends) is killed, not waited for. (multiprocessing's resource tracker
        lives until the server exits: stopping it earlier would unlink the
        pool's semaphores under it. It ends when the server's end of its pipe
        closes, which no killed worker keeps open.)"""
        executor = self._executor
        # shutdown() drops the executor's references to both: take them first.
        # The dict is the one its manager thread keeps filling (a worker may
        # still be spawning) and joins at the end, so it is read after the wait.
        processes = getattr(executor, "_processes", None) or {}
        manager = getattr(executor, "_executor_manager_thread", None)
        executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace_s
        if manager is not None:
            manager.join(grace_s)
        for process in list(processes.values()):
            process.join(max(0.0, deadline - time.monotonic()))
        stuck = [process for process in list(processes.values()) if process.is_alive()]
        for process in stuck:
            process.kill()
        for process in stuck:
            process.join(1.0)
        if manager is not None:
            manager.join(1.0)
        if stuck:
            log.warning(
                "workspace index: killed %d worker process(es) still busy %.1f s after the stop",
                len(stuck),
                grace_s,
            )

    def outline(
        self, jobs: Iterable[Job], cancelled: Callable[[], bool] = lambda: False
    ) -> Iterator[list[ParsedFile]]:
        """The results of ``jobs`` ((path, language id, expected digest)), a batch at a time, in the order
        they finish; stops submitting as soon as ``cancelled()``. Raises what a worker raised,
        or BrokenProcessPool when one died.

        Until the first worker answers (starting one takes from 0.3 s to over a second on a
        busy machine), the calling thread outlines batches itself rather than wait.
        """
        pending = iter(jobs)
        running: set[Future[list[ParsedFile]]] = set()
        limit = self.workers * IN_FLIGHT_PER_WORKER
        answered = False

        def take() -> list[Job]:
            return [job for _, job in zip(range(BATCH_FILES), pending)]

        def submit() -> None:
            batch = take()
            if batch:
                running.add(
                    self._executor.submit(outline_batch, batch, self.max_file_bytes, self.roots)
                )

        for _ in range(limit):
            submit()
        while running:
            if cancelled():
                return
            if not answered and not any(future.done() for future in running):
                batch = take()
                if batch:
                    yield outline_batch(batch, self.max_file_bytes, self.roots)
                    continue
            finished, _ = wait(running, timeout=0.1, return_when=FIRST_COMPLETED)
            for future in finished:
                answered = True
                running.discard(future)
                results = future.result()
                if not cancelled():
                    submit()
                yield results


def outline_batch(
    jobs: list[Job], max_file_bytes: int, roots: tuple[str, ...] = ()
) -> list[ParsedFile]:
    """Runs in a worker: each file's outline or why it was left out."""
    return [
        outline_file(path, language_id, max_file_bytes, roots, expected)
        for path, language_id, expected in jobs
    ]


def _start_worker() -> None:
    if hasattr(os, "nice"):
        try:
            os.nice(WORKER_NICENESS)
        except OSError as problem:
            log.debug("index worker keeps its priority: %s", problem)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with_parent, args=(parent.sentinel,), daemon=True).start()


def _exit_with_parent(sentinel: int) -> None:
    """The parent's sentinel turns ready when the parent is gone: leave at once."""
    multiprocessing.connection.wait([sentinel])
    os._exit(1)
