"""Choosing a token from the logits: nucleus sampling for extra candidates, and the log-probability
of the chosen token (read from one row of logits, since ``logits_all`` would cost n_ctx x vocabulary)."""

from __future__ import annotations

import numpy as np

from smalllsp.engine.constants import TOP_K


def sample_token(
    logits: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator
) -> int:
    """One token drawn from the top-k/top-p nucleus of ``logits`` at ``temperature``."""
    k = min(TOP_K, logits.size)
    top = np.argpartition(logits, -k)[-k:]
    top = top[np.argsort(logits[top])[::-1]]
    scaled = logits[top].astype(np.float64) / max(temperature, 1e-6)
    probs = np.exp(scaled - scaled[0])
    probs /= probs.sum()
    keep = int(np.searchsorted(np.cumsum(probs), top_p)) + 1
    nucleus = probs[:keep] / probs[:keep].sum()
    return int(top[rng.choice(keep, p=nucleus)])


def token_logprob(logits: np.ndarray, token: int) -> float:
    """log-softmax of ``token`` under the model's own distribution (temperature 1)."""
    peak = float(logits.max())
    return float(logits[token]) - peak - float(np.log(np.sum(np.exp(logits - peak))))
