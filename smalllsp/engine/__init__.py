"""The engine: one model, loaded and driven on one worker thread.

Async handlers ``await engine.run(key, job)``; the job runs on the worker with
the loaded runtime. Loading is itself a job, so requests that arrive while
the model loads simply wait for it, and a model that failed to load answers
every job with :class:`ModelUnavailable` (the server then answers with no
items, and has already told the user why).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

from smalllsp.engine.runtime import Runtime
from smalllsp.engine.worker import Cancelled, Worker

log = logging.getLogger(__name__)

__all__ = ["Cancelled", "Engine", "ModelUnavailable"]

LOAD_KEY = "\0load"


class ModelUnavailable(RuntimeError):
    """No model is loaded (it is loading, failed, or was never configured)."""


class Engine:
    def __init__(self) -> None:
        self._worker = Worker()
        self.runtime: Any = None
        self.state = "idle"  # idle | loading | ready | failed
        self.error: str | None = None
        self.last_latency_ms: float | None = None

    def fail(self, error: str) -> None:
        """No model: it could not even be found."""
        self.state, self.error = "failed", error

    def load(self, loader: Callable[[], Runtime]) -> asyncio.Future[Any]:
        """Replace the model with ``loader()``'s, on the worker thread."""
        self.state, self.error = "loading", None

        def job(_cancelled: Callable[[], bool]) -> Runtime:
            if self.runtime is not None:
                self.runtime.close()
                self.runtime = None
            try:
                self.runtime = loader()
            except Exception as exc:
                self.state, self.error = "failed", str(exc)
                raise
            self.state = "ready"
            return self.runtime

        return asyncio.wrap_future(self._worker.submit(LOAD_KEY, job))

    async def run(
        self, key: str, fn: Callable[[Any, Callable[[], bool]], Any], *, background: bool = False
    ) -> Any:
        """Run ``fn(runtime, cancelled)`` on the worker; the latest job per key wins.

        ``background`` jobs (warm-ups) give way to every other job.

        Raises :class:`Cancelled` when superseded, and propagates the asyncio
        cancellation of the awaiting handler (``$/cancelRequest``) to the job.
        """

        def job(cancelled: Callable[[], bool]) -> Any:
            if self.runtime is None:
                raise ModelUnavailable(self.error or f"no model loaded (state: {self.state})")
            return fn(self.runtime, cancelled)

        try:
            future = self._worker.submit(key, job, background=background)
        except (
            RuntimeError
        ) as stopped:  # shutdown stopped the worker while this request waited (for an outline, say)
            raise Cancelled(str(stopped)) from None
        started = time.perf_counter()
        try:
            result = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            self._worker.cancel(future)
            raise
        if not background:
            self.last_latency_ms = (time.perf_counter() - started) * 1000
        return result

    @property
    def pending(self) -> int:
        return self._worker.pending

    def status(self) -> dict[str, Any]:
        runtime = self.runtime
        return {
            "state": self.state,
            "error": self.error,
            "model": getattr(runtime, "name", None),
            "model_path": str(getattr(runtime, "path", "")) or None,
            "model_choice": getattr(runtime, "model_choice", None),  # model = auto: what and why
            "device": getattr(runtime, "device", None),
            "load_seconds": getattr(runtime, "load_seconds", None),
            "model_mib": round(runtime.model_bytes / 2**20, 1) if runtime else None,
            "kv_cache_mib": round(runtime.kv_bytes / 2**20, 1) if runtime else None,
            "moe": None
            if runtime is None or runtime.moe is None
            else {
                "experts": runtime.moe.expert_count,
                "experts_per_token": runtime.moe.expert_used_count,
                "layers": runtime.moe.block_count,
                "layers_with_experts_in_cpu_memory": runtime.moe_cpu_layers,
            },
            "last_latency_ms": self.last_latency_ms,
            "pending_jobs": self._worker.pending,
            "stopped_while_running": self._worker.stopped_while_running,
        }

    def close(self) -> None:
        if not self._worker.stop():
            # Freeing the model under a generation that has not reached its
            # next token would crash the process: leave it to the exit.
            log.warning("the model worker did not stop in time; the model is left loaded")
            return
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None
