"""Prompt-lookup decoding: draft tokens copied from the prompt, verified in one batch, greedy output unchanged.

Code completions repeat what is already on screen: a name defined above, the
rest of a line like the one before it, an argument list. So the tokens
after the latest earlier occurrence of the last :data:`NGRAM` tokens (in the
prompt and the answer so far) are a cheap guess of what comes next. The
guess and the token just chosen are evaluated in one batch, which on a CPU
costs little more than one token (the weights are read once); each drafted
token is kept only while it is the greedy choice of the row before it, and
generation advances by 1 + the accepted drafts per batch. The rows of a batch
go through other kernels than a single token does, so at a near tie the
choice can differ from plain greedy decoding (measured: 2 of 30 suggestions
of the typing trace), and on this CPU it measured slower: off by default.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

# The last NGRAM tokens are looked up; at most MAX_DRAFT tokens follow them into a batch.
NGRAM = 3
MAX_DRAFT = 8


def draft(
    history: Sequence[int] | np.ndarray, ngram: int = NGRAM, limit: int = MAX_DRAFT
) -> list[int]:
    """The tokens after the latest earlier occurrence of ``history``'s last ``ngram`` tokens."""
    tokens = np.asarray(history)
    n = len(tokens)
    if limit <= 0 or n <= ngram:
        return []
    tail = tokens[n - ngram :]
    # Start positions i < n - ngram with tokens[i : i + ngram] == tail, latest first.
    starts = np.flatnonzero(tokens[: n - ngram] == tail[0])
    for start in starts[::-1]:
        if np.array_equal(tokens[start : start + ngram], tail):
            follow = tokens[start + ngram : start + ngram + limit]
            return [int(t) for t in follow]
    return []


def decode_rows(llm: Any, tokens: Sequence[int]) -> list[np.ndarray]:
    """Evaluate ``tokens`` after ``llm``'s cached ones (sequence 0), with logits for every one.

    Returns one row of logits per token (views into llama.cpp's buffer: valid
    until the next decode). ``llm.n_tokens`` and ``llm.input_ids`` follow.
    """
    import llama_cpp

    n_past = llm.n_tokens
    memory = llama_cpp.llama_get_memory(llm.ctx)
    llama_cpp.llama_memory_seq_rm(memory, -1, n_past, -1)
    batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
    try:
        for j, token in enumerate(tokens):
            batch.token[j] = token
            batch.pos[j] = n_past + j
            batch.n_seq_id[j] = 1
            batch.seq_id[j][0] = 0
            batch.logits[j] = True
        batch.n_tokens = len(tokens)
        status = llama_cpp.llama_decode(llm.ctx, batch)
        if status != 0:
            raise RuntimeError(
                f"llama_decode failed ({status}) for {len(tokens)} tokens at {n_past}"
            )
    finally:
        llama_cpp.llama_batch_free(batch)
    llm.input_ids[n_past : n_past + len(tokens)] = tokens
    llm.n_tokens = n_past + len(tokens)
    n_vocab = llm.n_vocab()
    return [
        np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, j), shape=(n_vocab,))
        for j in range(len(tokens))
    ]


def forget_after(llm: Any, n_tokens: int) -> None:
    """Drop the cached cells from position ``n_tokens`` on (rejected drafts)."""
    import llama_cpp

    llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llm.ctx), -1, n_tokens, -1)
    llm.n_tokens = n_tokens
