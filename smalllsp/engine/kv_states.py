"""Prompt states of recently used documents, in host memory, so coming back to a file costs only its new tokens.

The KV cache holds one prompt (sequence 0). Without this, a jump to another
file and back reads both prompts from cold: ~1,500 tokens, 10-15 s on a
2-core CPU. So when the worker turns from one document to another, the live
sequence's state (llama.cpp's per-sequence state, ``llama_state_seq_get_data``:
the K and V cells of sequence 0) is copied into host memory under the
document it belongs to; coming back copies it in again
(``llama_state_seq_set_data``) and only the tokens after the common prefix
are read. One sequence per document in the unified cache was the other way:
switching would be free, but every document's cells would share the
``n_ctx`` cells (two 1,500-token prompts fill a 4,096 context), while host
memory is bounded by its own budget (``kv_state_budget_mib``).
``scripts/measure_kv_states.py`` measures the copies against re-reading.

States are evicted least recently used first. A state whose prompt shares
fewer than :data:`MIN_REUSE` tokens with its document's new prompt (the
document changed above the window, or its global section changed) is
dropped, not restored: it would save nothing.
"""

from __future__ import annotations

import collections
import ctypes
import dataclasses
from typing import Any, Sequence, TypedDict

import numpy as np

# A state must save at least this many prompt tokens to be worth restoring
# (and a live prompt shorter than this is not worth saving).
MIN_REUSE = 64


@dataclasses.dataclass(frozen=True)
class SavedState:
    """Sequence 0 of one document's prompt: its tokens and llama.cpp's copy of their cells."""

    tokens: np.ndarray
    data: ctypes.Array[ctypes.c_uint8]

    @property
    def n_bytes(self) -> int:
        return len(self.data)


class StatesStatus(TypedDict):
    """The per-document states in ``smalllsp/status`` and the start-up log."""

    budget_mib: float
    used_mib: float
    documents: int
    saved: int
    restored: int
    dropped_stale: int
    evicted: int


def common_prefix(cached: np.ndarray, prompt: Sequence[int]) -> int:
    """How many leading tokens ``cached`` and ``prompt`` share."""
    limit = min(len(cached), len(prompt))
    if limit == 0:
        return 0
    mismatch = np.flatnonzero(cached[:limit] != np.asarray(prompt[:limit], dtype=cached.dtype))
    return int(mismatch[0]) if mismatch.size else limit


class StateStore:
    """Saved states by document, least recently used first, within ``budget_bytes``."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._states: collections.OrderedDict[str, SavedState] = collections.OrderedDict()
        self.used_bytes = 0
        self.saved = self.restored = self.dropped_stale = self.evicted = 0

    def __contains__(self, key: str) -> bool:
        return key in self._states

    def put(self, key: str, state: SavedState) -> None:
        """Keep ``state`` for ``key`` (replacing an older one), evicting the oldest beyond the budget."""
        self.drop(key)
        if state.n_bytes > self.budget_bytes:
            return
        self._states[key] = state
        self.used_bytes += state.n_bytes
        self.saved += 1
        while self.used_bytes > self.budget_bytes:
            _, oldest = self._states.popitem(last=False)
            self.used_bytes -= oldest.n_bytes
            self.evicted += 1

    def take(self, key: str, prompt: Sequence[int]) -> tuple[SavedState, int] | None:
        """The state of ``key`` and the prompt tokens it saves, removed from the store (it becomes
        the live one); None when there is none, or it is stale (then it is dropped)."""
        state = self._states.get(key)
        if state is None:
            return None
        self.drop(key)
        shared = common_prefix(state.tokens, prompt)
        if shared < MIN_REUSE:
            self.dropped_stale += 1
            return None
        return state, shared

    def shared(self, key: str, prompt: Sequence[int]) -> int:
        """The prompt tokens ``key``'s state would save (0 without one), leaving it in place."""
        state = self._states.get(key)
        return 0 if state is None else common_prefix(state.tokens, prompt)

    def drop(self, key: str) -> None:
        state = self._states.pop(key, None)
        if state is not None:
            self.used_bytes -= state.n_bytes

    def status(self) -> StatesStatus:
        return {
            "budget_mib": round(self.budget_bytes / 2**20, 1),
            "used_mib": round(self.used_bytes / 2**20, 1),
            "documents": len(self._states),
            "saved": self.saved,
            "restored": self.restored,
            "dropped_stale": self.dropped_stale,
            "evicted": self.evicted,
        }


def save_sequence(llm: Any, n_tokens: int) -> SavedState:
    """Copy sequence 0 (its first ``n_tokens`` positions) of ``llm``'s context into host memory."""
    import llama_cpp

    memory = llama_cpp.llama_get_memory(llm.ctx)
    llama_cpp.llama_memory_seq_rm(memory, 0, n_tokens, -1)  # nothing past the prompt
    size = llama_cpp.llama_state_seq_get_size(llm.ctx, 0)
    data = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(llm.ctx, data, size, 0)
    if written != size:
        raise RuntimeError(f"llama.cpp copied {written} of {size} bytes of a sequence's state")
    return SavedState(np.array(llm.input_ids[:n_tokens], dtype=np.intc), data)


def restore_sequence(llm: Any, state: SavedState) -> None:
    """Make ``state`` the live sequence 0 of ``llm``'s context (what was there is gone)."""
    import llama_cpp

    memory = llama_cpp.llama_get_memory(llm.ctx)
    llama_cpp.llama_memory_seq_rm(memory, 0, -1, -1)
    read = llama_cpp.llama_state_seq_set_data(llm.ctx, state.data, state.n_bytes, 0)
    if read == 0:
        llm.n_tokens = 0
        raise RuntimeError("llama.cpp could not restore a saved sequence state")
    n = len(state.tokens)
    llm.input_ids[:n] = state.tokens
    llm.n_tokens = n
