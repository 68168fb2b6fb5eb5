"""One streamed event from a serving engine, read into the same updates whichever API sent it.

llama-server's ``/completion`` and the OpenAI ``/v1/completions`` stream
(llama-server's or vLLM's) say the same things differently: the tokens and
their log-probabilities, why a candidate ended, and how much of the prompt
the server took from its KV cache.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from smalllsp.engine.runtime import StopReason


@dataclasses.dataclass
class Piece:
    token: int | None
    text: str
    logprob: float | None


@dataclasses.dataclass
class Update:
    """What one event says about one candidate."""

    index: int
    pieces: list[Piece]
    finish: StopReason | None  # "eog" | "max_tokens" | "stop_rule" | None (still going)
    n_cached: int | None = None  # prompt tokens the server took from its KV cache
    n_evaluated: int | None = None


def _timings(event: dict[str, Any]) -> tuple[int | None, int | None]:
    timings = event.get("timings")
    if (
        isinstance(timings, dict)
        and isinstance(timings.get("cache_n"), int)
        and isinstance(timings.get("prompt_n"), int)
    ):
        return timings["cache_n"], timings["prompt_n"]
    usage = event.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        if isinstance(cached, int):
            return cached, usage["prompt_tokens"] - cached
    return None, None


# llama-server's stop_type -> why the answer ended.
SERVER_STOP_TYPES: dict[str, StopReason] = {
    "eos": "eog",
    "limit": "max_tokens",
    "word": "stop_rule",
}


def llama_server_updates(event: dict[str, Any]) -> list[Update]:
    """llama-server's ``/completion`` stream event."""
    if "content" not in event and "stop" not in event:
        raise ValueError("no 'content' and no 'stop'")
    pieces: list[Piece] = []
    tokens = event.get("tokens") or []
    content = event.get("content") or ""
    probs = event.get("completion_probabilities") or []
    if not isinstance(tokens, list) or not isinstance(content, str) or not isinstance(probs, list):
        raise ValueError("'tokens', 'content' or 'completion_probabilities' has the wrong type")
    if tokens or content:
        token = tokens[-1] if tokens else None
        logprob = probs[-1].get("logprob") if probs and isinstance(probs[-1], dict) else None
        pieces = [Piece(None, "", None) for _ in tokens[:-1]] + [Piece(token, content, logprob)]
    finish: StopReason | None = None
    if event.get("stop"):
        finish = SERVER_STOP_TYPES.get(str(event.get("stop_type")), "max_tokens")
    cached, evaluated = _timings(event)
    return [Update(int(event.get("index", 0)), pieces, finish, cached, evaluated)]


def openai_updates(event: dict[str, Any]) -> list[Update]:
    """An OpenAI ``/v1/completions`` stream chunk (llama-server's or vLLM's logprobs)."""
    choices = event.get("choices")
    if not isinstance(choices, list):
        raise ValueError("no 'choices' list")
    cached, evaluated = _timings(event)
    updates = []
    for choice in choices:
        if not isinstance(choice, dict) or not isinstance(choice.get("text", ""), str):
            raise ValueError("a choice that is not an object with text")
        text = choice.get("text") or ""
        ids, logprobs = _openai_logprobs(choice.get("logprobs"))
        if ids:
            pieces = [Piece(t, "", lp) for t, lp in zip(ids[:-1], logprobs[:-1])] + [
                Piece(ids[-1], text, logprobs[-1])
            ]
        else:
            pieces = [Piece(None, text, None)] if text else []
        reason = choice.get("finish_reason")
        finish: StopReason | None = (
            None if reason is None else ("eog" if reason == "stop" else "max_tokens")
        )
        updates.append(Update(int(choice.get("index", 0)), pieces, finish, cached, evaluated))
    if not choices and (cached is not None):
        updates.append(Update(-1, [], None, cached, evaluated))  # vLLM's closing usage chunk
    return updates


def _openai_logprobs(logprobs: Any) -> tuple[list[int | None], list[float | None]]:
    if not isinstance(logprobs, dict):
        return [], []
    content = logprobs.get("content")
    if isinstance(content, list):  # llama-server: [{id, token, logprob, ...}]
        return [c.get("id") for c in content], [c.get("logprob") for c in content]
    tokens = logprobs.get("tokens")
    if isinstance(tokens, list):  # vLLM with return_tokens_as_token_ids: "token_id:123"
        ids = [
            int(t.split(":", 1)[1]) if isinstance(t, str) and t.startswith("token_id:") else None
            for t in tokens
        ]
        values = logprobs.get("token_logprobs") or [None] * len(tokens)
        return ids, list(values)
    return [], []
