"""What the pipeline needs from a model, whoever runs it.

:class:`Runtime` is the contract between :mod:`smalllsp.pipeline` and an
engine: the in-process one (:mod:`smalllsp.engine.llama`) and the remote one
(:mod:`smalllsp.engine.remote`) both honour it, so the context builder, the
cutters, the guard and the ranking never know where the model runs. A
:class:`Generation` is what one run of the model wrote and what it cost.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Protocol, Sequence, TypedDict

from smalllsp.engine.fim import FimTokens

if TYPE_CHECKING:
    from smalllsp.engine.kv_states import StatesStatus
    from smalllsp.engine.placement import MoeInfo

# Why an answer ended: an end-of-generation or FIM stop token, the pipeline's
# stop predicate, the token limit, the time budget, or a warm-up (prompt only).
StopReason = Literal["eog", "stop_rule", "max_tokens", "time_budget", "warmup"]


class GenerationStats(TypedDict):
    """What one model call cost, as the log, ``smalllsp/status`` and the bench read it."""

    source: Literal["model"]
    n_prompt: int
    n_reused: int
    n_evaluated: int
    n_generated: int
    stop_reason: StopReason
    ms: float


@dataclasses.dataclass
class Generation:
    text: str
    tokens: list[int]
    # of each generated token, under the model's own distribution (temperature 1)
    logprobs: list[float]
    n_prompt: int
    n_reused: int
    n_evaluated: int
    stop_reason: StopReason
    seconds: float

    @property
    def mean_logprob(self) -> float:
        return math.fsum(self.logprobs) / len(self.logprobs) if self.logprobs else 0.0

    def stats(self) -> GenerationStats:
        """What the request cost, for the log, the status request and the bench."""
        return {
            "source": "model",
            "n_prompt": self.n_prompt,
            "n_reused": self.n_reused,
            "n_evaluated": self.n_evaluated,
            "n_generated": len(self.tokens),
            "stop_reason": self.stop_reason,
            "ms": round(self.seconds * 1000, 1),
        }


StopAt = Callable[[str], "int | None"]


@dataclasses.dataclass(frozen=True)
class Sampling:
    """How to draw several candidates: up to ``n`` of them at ``temperature`` with nucleus ``top_p``.

    ``include_greedy``: candidate 0 is the greedy answer (what ``samples = 1``
    would show), so drawing more can add answers but never lose that one.
    ``seed`` makes a run reproducible (candidate i uses ``seed + i``); None
    draws fresh randomness each time. ``budget_s``: the whole request's
    latency budget; an engine that can predict its cost draws fewer than
    ``n`` when all of them would not fit (see :class:`StepCosts`).
    ``enough``: the caller's check of one finished candidate (the pipeline's
    "its call binds"), the only thing an engine calls back; once it returns
    True the engine may stop drawing: candidates not started are never
    drawn and those still being decoded are dropped, so fewer than ``n``
    come back. The in-process engine then draws a few at a time
    (:func:`smalllsp.engine.sampling.rows_side_by_side`); one that cannot
    stop early may ignore it and return all ``n``. ``distinct_starts``: no
    two candidates, the greedy answer counted, start with the same token
    (sampling without replacement at the first step): after a greedy answer
    that failed, a candidate that starts as it did mostly ends as it did.
    The remote engine (llama-server's API) honours neither and draws all ``n``.
    """

    n: int
    temperature: float
    top_p: float
    seed: int | None = None
    include_greedy: bool = True
    budget_s: float | None = None
    enough: Callable[[Generation], bool] | None = None
    distinct_starts: bool = False


class StepCosts:
    """What one decoding step costs with k candidates side by side, learned from past requests.

    Decoding k sequences in one batch costs more than one and less than k
    (measured on a 2-core CPU, 0.5B model: ~1.8x for 2, ~2.8x for 4); a GPU
    is nearly flat. The estimate for an unseen k extends the closest
    measured one linearly with ``DEFAULT_SLOPE`` until it is measured. The
    answer length is learned too, so the budget check is ``elapsed +
    steps x cost(k) <= budget``.
    """

    DEFAULT_SLOPE = 0.6  # extra cost of each further candidate, as a share of one
    SMOOTHING = 0.3  # weight of the newest measurement

    def __init__(self, initial_steps: int = 24) -> None:
        self._seconds: dict[int, float] = {}
        self.steps = float(initial_steps)

    def record(self, k: int, seconds_per_step: float, steps: int) -> None:
        old = self._seconds.get(k)
        self._seconds[k] = (
            seconds_per_step if old is None else old + self.SMOOTHING * (seconds_per_step - old)
        )
        self.steps += self.SMOOTHING * (steps - self.steps)

    def estimate(self, k: int) -> float | None:
        """Seconds per step with ``k`` candidates; None before anything was measured."""
        if k in self._seconds:
            return self._seconds[k]
        if not self._seconds:
            return None
        near = min(self._seconds, key=lambda known: abs(known - k))
        one = self._seconds[near] / (1 + self.DEFAULT_SLOPE * (near - 1))
        return one * (1 + self.DEFAULT_SLOPE * (k - 1))

    def affordable(self, wanted: int, elapsed_s: float, budget_s: float | None) -> int:
        """The most candidates, at most ``wanted`` and at least 1, whose decoding fits the budget."""
        if budget_s is None:
            return wanted
        for k in range(wanted, 1, -1):
            cost = self.estimate(k)
            if cost is None or elapsed_s + self.steps * cost <= budget_s:
                return k
        return 1


class Runtime(Protocol):
    """One loaded (or connected) model. Called from the engine's worker thread only."""

    # Read-only properties: an implementation may hold them as plain attributes.
    @property
    def name(self) -> str: ...
    @property
    def path(self) -> Path | str:
        """The model file (local) or the endpoint (remote), for status and logs."""
        ...

    @property
    def device(self) -> str: ...
    @property
    def load_seconds(self) -> float: ...
    @property
    def n_ctx(self) -> int: ...
    @property
    def fim(self) -> FimTokens: ...
    @property
    def model_bytes(self) -> int: ...
    @property
    def kv_bytes(self) -> int: ...
    @property
    def moe(self) -> MoeInfo | None: ...
    @property
    def moe_cpu_layers(self) -> int: ...
    @property
    def warnings(self) -> list[str]:
        """For the user once loaded (e.g. it fell back from the GPU to the CPU)."""
        ...

    def tokenize(self, text: str) -> list[int]:
        """The model's tokens for document text (control-token look-alikes stay plain text)."""
        ...

    def use_document(self, document: str) -> None:
        """The prompts that follow are ``document``'s (the engine calls this before each job).

        An engine that keeps a prompt state per document (the in-process
        one) brings that document's back; others ignore it.
        """
        ...

    def use_region(self, first_line: int) -> None:
        """The prompt that follows is the document's window from ``first_line`` on.

        Each place in a document (a cold hint and its full window, or two
        places far apart) keeps its own saved state, so reading one does not
        throw away the other's. Others ignore it.
        """
        ...

    def tokens_to_read(self, prompt: Sequence[int]) -> int:
        """How many of ``prompt``'s tokens a request now would evaluate (0 when it cannot tell)."""
        ...

    def prompt_tokens_per_s(self) -> float | None:
        """The prompt speed measured so far; None when unknown."""
        ...

    def kv_states(self) -> StatesStatus | None:
        """The per-document prompt states' budget and use; None where there are none."""
        ...

    def generate(
        self,
        prompt: Sequence[int],
        *,
        max_tokens: int,
        stop_at: StopAt | None = None,
        time_budget_s: float | None = None,
        cancelled: Callable[[], bool] = lambda: False,
        avoid_start: str = "",
    ) -> Generation:
        """Greedy decoding of one continuation of ``prompt``; ``max_tokens=0`` only reads the prompt.

        ``stop_at(text)`` returns where the text so far must be cut, or None
        to go on; past ``time_budget_s`` generation stops at the next line
        break. Raises :class:`smalllsp.engine.worker.Cancelled` when
        ``cancelled()`` turns true. ``avoid_start``: while the answer is
        still blank, the best token that does not begin it with this text
        (after spaces; spaces alone do not begin it, an end or a line break
        is kept) is taken: the pipeline's "no comment right after a call's
        ``(``". The in-process engine honours it; the remote one cannot
        choose tokens and ignores it.
        """
        ...

    def sample(
        self,
        prompt: Sequence[int],
        sampling: Sampling,
        *,
        max_tokens: int,
        stop_at: StopAt | None = None,
        time_budget_s: float | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> list[Generation]:
        """``sampling.n`` sampled continuations of ``prompt``, the prompt read once.

        Each candidate stops on its own (``stop_at`` is applied to each); the
        list has one Generation per candidate, in the order drawn.
        """
        ...

    def close(self) -> None: ...
