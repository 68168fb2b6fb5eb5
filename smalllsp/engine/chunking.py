"""How many prompt tokens to read before looking again for a cancel: as many as fit a latency target.

A cancel (or a newer request for the document) can only land between two
``eval`` calls, so the chunk length bounds how late it lands. A fixed chunk
is a guess about the machine: 32 tokens is ~0.3 s on a loaded 2-core CPU and
wastes a GPU, where 512 tokens take milliseconds. So the chunk follows the
measured prompt speed: after each chunk, the next one is what this machine
reads in ``target_s`` (a power of two, from :data:`PROMPT_CHUNK` up to
``n_batch``). ``scripts/measure_prompt_chunks.py`` measures chunk length
against speed and against how late a cancel lands.
"""

from __future__ import annotations

from smalllsp.engine.constants import PROMPT_CHUNK


class PromptChunks:
    """The next chunk's length, from the prompt speed measured on past chunks."""

    SMOOTHING = 0.3  # weight of the newest measurement

    def __init__(self, largest: int, target_s: float, smallest: int = PROMPT_CHUNK) -> None:
        self.smallest = smallest
        self.largest = max(largest, smallest)
        self.target_s = target_s
        self.tokens_per_s: float | None = None

    def record(self, n_tokens: int, seconds: float) -> None:
        """One chunk of ``n_tokens`` took ``seconds``."""
        if n_tokens < self.smallest or seconds <= 0:
            return  # a short tail says little about the speed
        rate = n_tokens / seconds
        old = self.tokens_per_s
        self.tokens_per_s = rate if old is None else old + self.SMOOTHING * (rate - old)

    def size(self) -> int:
        """Tokens in the next chunk."""
        if self.tokens_per_s is None:
            return self.smallest
        fits = self.tokens_per_s * self.target_s
        size = self.smallest
        while size * 2 <= min(fits, self.largest):
            size *= 2
        return size
