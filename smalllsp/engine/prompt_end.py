"""The logits at the end of the last prompt read, kept for a draw from the same prompt right after.

Resampling (issue 18) draws more candidates from the prompt the greedy
answer was just decoded from. Reading that prompt again costs one model step
(its last token is always evaluated: its logits start the answer), and on a
CPU a step is what a resampled request pays for most. The logits the greedy
answer started from are those very logits, so they are kept (one row of
vocabulary floats, copied) with the prompt they end, and a draw that finds
the cache still holding exactly that prompt starts from them: the greedy
answer's cells after the prompt are dropped and nothing is evaluated.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


class PromptEnd:
    """The prompt last read into sequence 0 and the logits after its last token."""

    def __init__(self) -> None:
        self._prompt: list[int] = []
        self._logits: np.ndarray | None = None
        self.reused = 0  # draws that started from the kept logits

    def keep(self, prompt: Sequence[int], logits: np.ndarray) -> None:
        """``logits`` (a view the next evaluation overwrites: copied) follow ``prompt``'s last token."""
        self._prompt = list(prompt)
        self._logits = logits.copy()

    def resume(self, llm: Any, prompt: Sequence[int]) -> np.ndarray | None:
        """The kept logits when ``llm``'s cache holds ``prompt`` as kept, the cells after it dropped;
        None (and nothing changed) when the prompt or the cache differ."""
        import llama_cpp

        n = len(prompt)
        if self._logits is None or n != len(self._prompt) or llm.n_tokens < n:
            return None
        if list(prompt) != self._prompt or list(llm.input_ids[:n]) != self._prompt:
            return None
        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llm.ctx), 0, n, -1)
        llm.n_tokens = n
        self.reused += 1
        return self._logits
