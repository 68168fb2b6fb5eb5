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
from typing import Any, Callable, Literal, TypedDict

from smalllsp.engine.kv_states import StatesStatus
from smalllsp.engine.runtime import Runtime
from smalllsp.engine.worker import Cancelled, Worker

log = logging.getLogger(__name__)

__all__ = ["Cancelled", "Engine", "ModelUnavailable"]

LOAD_KEY = "\0load"


class ModelUnavailable(RuntimeError):
    """No model is loaded (it is loading, failed, or was never configured)."""


EngineState = Literal["idle", "loading", "ready", "failed"]


class MoeStatus(TypedDict):
    experts: int
    experts_per_token: int
    layers: int
    layers_with_experts_in_cpu_memory: int


class EngineStatus(TypedDict):
    """The engine's part of ``smalllsp/status``."""

    state: EngineState
    error: str | None
    model: str | None
    model_path: str | None
    model_choice: dict[str, Any] | None  # model = auto: what it chose and why
    device: str | None
    load_seconds: float | None
    model_mib: float | None
    kv_cache_mib: float | None
    moe: MoeStatus | None
    last_latency_ms: float | None
    kv_states: StatesStatus | None
    pending_jobs: int
    busy: bool
    stopped_while_running: int


class Engine:
    def __init__(self) -> None:
        self._worker = Worker()
        self.runtime: Runtime | None = None
        self.state: EngineState = "idle"
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
            self.runtime.use_document(key)
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

    def status(self) -> EngineStatus:
        runtime = self.runtime
        return {
            "state": self.state,
            "error": self.error,
            "model": runtime.name if runtime else None,
            "model_path": str(runtime.path) if runtime else None,
            "model_choice": getattr(runtime, "model_choice", None),  # model = auto: what and why
            "device": runtime.device if runtime else None,
            "load_seconds": runtime.load_seconds if runtime else None,
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
            "kv_states": runtime.kv_states() if runtime else None,
            "pending_jobs": self._worker.pending,
            "busy": self._worker.busy,
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
