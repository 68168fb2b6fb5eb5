"""One answer as it is decoded, and the rules that end it, for every engine.

The in-process engine (:mod:`smalllsp.engine.llama`) and the remote one
(:mod:`smalllsp.engine.remote`) must stop an answer at the same place, or
the same prompt would give different suggestions depending on where the
model runs. So the rules live here once: an end-of-generation or FIM stop
token ends it (and is not part of it); the pipeline's one stop predicate
``stop_at(text)`` cuts it; past the time budget it ends at the next line
break; and ``max_tokens`` bounds it.
"""

from __future__ import annotations

import codecs
import math
import time
from typing import Callable

from smalllsp.engine.runtime import Generation, StopAt, StopReason

# Whether a token ends generation: True, False, or None when this side cannot
# tell (a remote engine without the vocabulary here: the server's end says).
IsEnd = Callable[[int], "bool | None"]


class Answer:
    """One continuation being decoded: its text, tokens, log-probabilities, and why it ended.

    ``take`` adds one token with its text; it returns True once the answer
    is finished. ``reason`` stays None until then.
    """

    def __init__(
        self,
        is_end: IsEnd,
        max_tokens: int,
        stop_at: StopAt | None,
        time_budget_s: float | None,
        started: float,
    ) -> None:
        self._is_end = is_end
        self._max_tokens = max_tokens
        self._stop_at = stop_at
        self._deadline = None if time_budget_s is None else started + time_budget_s
        self._over_time = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        # The last token had empty text and nobody here could say it is not an end.
        self._last_unknown_empty = False
        self.text = ""
        self.tokens: list[int] = []
        self.logprobs: list[float] = []
        self.reason: StopReason | None = None

    @property
    def done(self) -> bool:
        return self.reason is not None

    @property
    def room(self) -> int:
        """Tokens the answer may still take before ``max_tokens``."""
        return self._max_tokens - len(self.tokens)

    def ends(self, token: int) -> bool:
        """True (and the answer is finished, without ``token``) when ``token`` ends generation."""
        if self.reason is None and self._is_end(token) is True:
            self.reason = "eog"
        return self.reason is not None

    def take_bytes(self, token: int, data: bytes, logprob: float) -> bool:
        """``take`` for a token given as its bytes (a character may span several tokens)."""
        return self.take(token, self._decoder.decode(data), logprob)

    def take(self, token: int | None, piece: str, logprob: float | None) -> bool:
        """Add ``token`` (None: text whose token is unknown) and its text ``piece``; True when finished."""
        if self.reason is not None:
            return True
        if token is not None and self.ends(token):
            return True
        self._last_unknown_empty = token is not None and not piece and self._is_end(token) is None
        if token is not None:
            self.tokens.append(token)
            self.logprobs.append(logprob if logprob is not None and math.isfinite(logprob) else 0.0)
        self.text += piece
        cut = self._stop_at(self.text) if self._stop_at is not None else None
        if cut is not None:
            self.text, self.reason = self.text[:cut], "stop_rule"
            return True
        if self._deadline is not None and (self._over_time or time.perf_counter() > self._deadline):
            self._over_time = True
            if "\n" in piece:
                self.text = self.text[: len(self.text) - len(piece) + piece.index("\n")]
                self.reason = "time_budget"
                return True
        if len(self.tokens) >= self._max_tokens:
            self.reason = "max_tokens"
        return self.reason is not None

    def finish(self, reason: StopReason) -> None:
        """The engine ended the answer itself: a warm-up read only the prompt, or a remote server ended the stream."""
        if self.reason is not None:
            return
        if reason == "eog" and self.tokens and self._last_unknown_empty:
            # Without the vocabulary here, the end-of-generation token arrived as
            # an ordinary (empty) piece: it is not part of the answer.
            self.tokens.pop()
            self.logprobs.pop()
        self.reason = reason

    def generation(
        self, n_prompt: int, n_reused: int, n_evaluated: int, seconds: float
    ) -> Generation:
        return Generation(
            text=self.text,
            tokens=self.tokens,
            logprobs=self.logprobs,
            n_prompt=n_prompt,
            n_reused=n_reused,
            n_evaluated=n_evaluated,
            stop_reason=self.reason or "max_tokens",
            seconds=seconds,
        )
