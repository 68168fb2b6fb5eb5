"""One thread runs the model; for each key (a document) the latest job wins.

A ``llama_cpp.Llama`` is not safe for concurrent calls, and an editor sends
bursts of requests of which only the last matters. So jobs wait in a table
with one slot per key, not a queue: a new job for a key replaces the waiting
one (which fails with :class:`Cancelled`) and asks the running one to stop. A
job polls ``cancelled()`` between two tokens. Nothing grows with the number of
requests, only with the number of keys.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import logging
import threading
from typing import Any, Callable

log = logging.getLogger(__name__)

JobFn = Callable[[Callable[[], bool]], Any]


class Cancelled(Exception):
    """The job was cancelled by the client or superseded by a newer one."""


class _Job:
    __slots__ = ("key", "fn", "background", "event", "future")

    def __init__(self, key: str, fn: JobFn, background: bool) -> None:
        self.key = key
        self.fn = fn
        self.background = background
        self.event = threading.Event()
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()


class Worker:
    def __init__(self, name: str = "smalllsp-model") -> None:
        self._pending: collections.OrderedDict[str, _Job] = collections.OrderedDict()
        self._running: _Job | None = None
        self._cond = threading.Condition()
        self._stopping = False
        self.stopped_while_running = 0  # jobs stopped between two tokens (for status and tests)
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(
        self, key: str, fn: JobFn, *, background: bool = False
    ) -> concurrent.futures.Future[Any]:
        """Run ``fn(cancelled)`` on the worker thread, superseding older jobs for ``key``.

        A ``background`` job (a cache warm-up) gives way to every request: any
        request stops or replaces it, and it never replaces or stops one. Among
        background jobs for one key the latest wins too: a warm-up at the
        cursor replaces the one the document's opening asked for.
        """
        job = _Job(key, fn, background)
        with self._cond:
            if self._stopping:
                raise RuntimeError("the model worker has stopped")
            waiting = self._pending.get(key)
            if background and waiting is not None and not waiting.background:
                _fail(job.future, Cancelled(f"a request for {key} is waiting already"))
                return job.future
            if background:
                if waiting is not None:
                    del self._pending[key]
                    _fail(waiting.future, Cancelled(f"superseded by a newer warm-up of {key}"))
                running = self._running
                if running is not None and running.key == key and running.background:
                    running.event.set()
            else:
                for other_key, other in list(self._pending.items()):
                    if other.background or other_key == key:
                        del self._pending[other_key]
                        _fail(other.future, Cancelled(f"superseded by a newer request for {key}"))
                running = self._running
                if running is not None and (running.key == key or running.background):
                    running.event.set()
            self._pending[key] = job
            self._cond.notify()
        job.future.add_done_callback(functools.partial(self._on_done_future, job))
        return job.future

    def cancel(self, future: concurrent.futures.Future[Any]) -> None:
        """Stop the job behind ``future``, waiting or running."""
        with self._cond:
            for key, job in list(self._pending.items()):
                if job.future is future:
                    del self._pending[key]
                    _fail(job.future, Cancelled("cancelled"))
                    return
            if self._running is not None and self._running.future is future:
                self._running.event.set()

    def _on_done_future(self, job: _Job, _future: concurrent.futures.Future[Any]) -> None:
        # A future cancelled from outside (asyncio's wrap_future does that)
        # must also stop the job behind it.
        if job.future.cancelled():
            job.event.set()
            with self._cond:
                if self._pending.get(job.key) is job:
                    del self._pending[job.key]

    @property
    def busy(self) -> bool:
        """A job is running."""
        with self._cond:
            return self._running is not None

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                _, job = self._pending.popitem(last=False)
                if not job.future.set_running_or_notify_cancel():
                    continue
                self._running = job
            try:
                result = job.fn(job.event.is_set)
                if job.event.is_set():
                    raise Cancelled(f"cancelled while running ({job.key})")
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                if isinstance(exc, Cancelled):
                    self.stopped_while_running += 1
                job.future.set_exception(exc)
            else:
                job.future.set_result(result)
            finally:
                with self._cond:
                    self._running = None

    def stop(self, timeout: float = 5.0) -> bool:
        """Cancel everything and end the thread (the running job stops at its next token).

        True when the thread has ended; False when the running job did not
        stop within ``timeout`` (it still holds whatever it was using).
        """
        with self._cond:
            self._stopping = True
            for job in self._pending.values():
                _fail(job.future, Cancelled("server stopping"))
            self._pending.clear()
            if self._running is not None:
                self._running.event.set()
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        return not self._thread.is_alive()


def _fail(future: concurrent.futures.Future[Any], exc: BaseException) -> None:
    """Fail a waiting job's future unless its caller cancelled it already."""
    try:
        future.set_exception(exc)
    except concurrent.futures.InvalidStateError:
        pass  # cancelled by its caller in the meantime: nobody waits for it
