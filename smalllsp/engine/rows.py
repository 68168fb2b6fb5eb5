"""Candidates decoded side by side: parallel sequences of one llama.cpp context, one batch a step.

The prompt is read once into sequence 0; the other rows share its cells
(in a unified KV cache they are shared, not copied). Each step decodes one
batch with the next token of every row still going, which on a CPU costs
less than a step per row (the weights are read once per step). A row whose
candidate ended is emptied back to the prompt and can take the next
candidate. What each step cost is kept by the number of rows in it, for
:class:`smalllsp.engine.runtime.StepCosts`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

# (row, candidate, position, token) going into a step; row -> (candidate, next position, logits) out.
Feed = list[tuple[int, int, int, int]]
Live = dict[int, tuple[int, int, np.ndarray]]


class Rows:
    """``rows`` sequences of ``ctx`` holding the ``base``-token prompt of sequence 0."""

    def __init__(self, ctx: Any, n_vocab: int, rows: int, base: int) -> None:
        import llama_cpp

        self._ctx, self._n_vocab, self.rows, self.base = ctx, n_vocab, rows, base
        self._memory = llama_cpp.llama_get_memory(ctx)
        self._batch = llama_cpp.llama_batch_init(rows, 0, 1)
        self.step_seconds: dict[int, list[float]] = {}  # rows in a step -> each such step's seconds
        for seq in range(1, rows):
            llama_cpp.llama_memory_seq_rm(self._memory, seq, -1, -1)
            llama_cpp.llama_memory_seq_cp(self._memory, 0, seq, -1, -1)

    def step(self, feed: Feed) -> Live:
        """Decode each row's next token in one batch; each row's candidate, next position and logits."""
        import llama_cpp

        batch = self._batch
        for j, (seq, _candidate, position, token) in enumerate(feed):
            batch.token[j] = token
            batch.pos[j] = position
            batch.n_seq_id[j] = 1
            batch.seq_id[j][0] = seq
            batch.logits[j] = True
        batch.n_tokens = len(feed)
        began = time.perf_counter()
        status = llama_cpp.llama_decode(self._ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode failed ({status}) with {len(feed)} candidates")
        self.step_seconds.setdefault(len(feed), []).append(time.perf_counter() - began)
        return {
            seq: (
                candidate,
                position + 1,
                np.ctypeslib.as_array(
                    llama_cpp.llama_get_logits_ith(self._ctx, j), shape=(self._n_vocab,)
                ),
            )
            for j, (seq, candidate, position, _token) in enumerate(feed)
        }

    def empty(self, seq: int) -> None:
        """Drop row ``seq``'s answer: it holds the prompt only, ready for another candidate."""
        import llama_cpp

        llama_cpp.llama_memory_seq_rm(self._memory, seq, self.base, -1)

    def close(self) -> None:
        """Free the batch and every answer's cells: the cache holds the prompt in sequence 0."""
        import llama_cpp

        llama_cpp.llama_batch_free(self._batch)
        for seq in range(1, self.rows):
            llama_cpp.llama_memory_seq_rm(self._memory, seq, -1, -1)
        llama_cpp.llama_memory_seq_rm(self._memory, 0, self.base, -1)


def late(started: float, time_budget_s: float | None, drawn: int, rows: int) -> bool:
    """A row freed after the time budget takes no new candidate (the first ``rows`` always start)."""
    return (
        drawn >= rows
        and time_budget_s is not None
        and time.perf_counter() - started > time_budget_s
    )
