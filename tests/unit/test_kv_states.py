"""The per-document state store and the prompt chunk policy, without a model."""

import ctypes

import numpy as np

from smalllsp.engine.chunking import PromptChunks
from smalllsp.engine.kv_states import MIN_REUSE, SavedState, StateStore, common_prefix


def state(tokens: list[int], n_bytes: int) -> SavedState:
    return SavedState(np.array(tokens, dtype=np.intc), (ctypes.c_uint8 * n_bytes)())


PROMPT = list(range(200))


def test_common_prefix_counts_the_shared_leading_tokens():
    cached = np.array([1, 2, 3, 4], dtype=np.intc)
    assert common_prefix(cached, [1, 2, 9, 4]) == 2
    assert common_prefix(cached, [1, 2]) == 2
    assert common_prefix(cached, [1, 2, 3, 4, 5]) == 4
    assert common_prefix(cached[:0], [1]) == 0


def test_taking_a_state_removes_it_and_says_how_much_it_saves():
    store = StateStore(1000)
    store.put("a", state(PROMPT, 100))
    taken = store.take("a", PROMPT[:150] + [999])
    assert taken is not None and taken[1] == 150
    assert "a" not in store and store.used_bytes == 0
    assert store.take("a", PROMPT) is None


def test_the_oldest_states_go_first_beyond_the_budget():
    store = StateStore(250)
    for key in ("a", "b", "c"):
        store.put(key, state(PROMPT, 100))
    assert "a" not in store and "b" in store and "c" in store
    assert store.used_bytes == 200 and store.evicted == 1
    store.put("b", state(PROMPT, 100))  # b is the newest now: d evicts c
    store.put("d", state(PROMPT, 100))
    assert "c" not in store and {"b", "d"} == {k for k in "abcd" if k in store}
    assert store.status() == {
        "budget_mib": 0.0,
        "used_mib": 0.0,
        "documents": 2,
        "saved": 5,
        "restored": 0,
        "dropped_stale": 0,
        "evicted": 2,
    }


def test_a_state_larger_than_the_budget_is_not_kept():
    store = StateStore(50)
    store.put("a", state(PROMPT, 100))
    assert "a" not in store and store.used_bytes == 0


def test_a_state_of_a_document_changed_above_the_window_is_dropped():
    store = StateStore(1000)
    store.put("a", state(PROMPT, 100))
    changed = PROMPT[: MIN_REUSE - 1] + [999] + PROMPT[MIN_REUSE:]
    assert store.take("a", changed) is None
    assert "a" not in store and store.dropped_stale == 1 and store.used_bytes == 0


def test_chunks_start_small_and_grow_to_what_fits_the_latency_target():
    chunks = PromptChunks(largest=512, target_s=0.3)
    assert chunks.size() == 32  # nothing measured yet
    chunks.record(32, 0.1)  # 320 tokens/s: 96 fit in 0.3 s
    assert chunks.size() == 64
    fast = PromptChunks(largest=512, target_s=0.3)
    fast.record(32, 0.001)  # a GPU: far more than n_batch fits
    assert fast.size() == 512
    slow = PromptChunks(largest=512, target_s=0.3)
    slow.record(32, 1.0)
    assert slow.size() == 32  # never below the smallest


def test_a_short_tail_does_not_move_the_measured_speed():
    chunks = PromptChunks(largest=512, target_s=0.3)
    chunks.record(5, 10.0)
    assert chunks.tokens_per_s is None
