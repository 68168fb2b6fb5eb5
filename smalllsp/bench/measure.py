"""What the bench passes share: replaying keystrokes through the suggestion cache, and summarizing.

Every pass (LSP, engine direct, llama-server) goes through :func:`replay` or
records the same per-request costs, so their summaries compare like with like.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from smalllsp.bench.trace import Keystroke
from smalllsp.cache import SuggestionCache
from smalllsp.context.window import Cursor
from smalllsp.documents import split_lines
from smalllsp.pipeline.rank import Suggestion

# One request's cost as the passes record it: a GenerationStats-shaped dict for a
# model call (``source`` "model"), or ``{"source": "cache"}`` for a suggestion-cache hit.
Cost = dict[str, Any]
ModelCall = Callable[[Cursor], "tuple[list[str], Cost]"]


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(latencies_ms: list[float], generations: list[dict[str, Any]]) -> dict[str, Any]:
    model_calls = [g for g in generations if g["source"] == "model"]
    evaluated = [g["n_evaluated"] for g in model_calls]
    reuse = [g["n_reused"] / g["n_prompt"] for g in model_calls if g["n_prompt"]]
    seconds = sum(g["ms"] for g in model_calls) / 1000
    tokens = sum(g["n_evaluated"] + g["n_generated"] for g in model_calls)
    model_latencies = [ms for ms, g in zip(latencies_ms, generations) if g["source"] == "model"]
    return {
        "requests": len(latencies_ms),
        "latency_ms": {
            p: percentile(latencies_ms, q) for p, q in (("p50", 50), ("p90", 90), ("p99", 99))
        },
        "model_call_latency_ms": {
            p: percentile(model_latencies, q) for p, q in (("p50", 50), ("p90", 90))
        },
        "tokens_evaluated": {
            "p50": percentile(evaluated, 50),
            "p90": percentile(evaluated, 90),
            "mean": sum(evaluated) / max(len(evaluated), 1),
        },
        "prompt_reused_share": {"p50": percentile(reuse, 50), "p10": percentile(reuse, 10)},
        "model_calls": len(model_calls),
        "suggestion_cache_hits": len(generations) - len(model_calls),
        "kv_prefix_hits": sum(1 for g in model_calls if g["n_reused"] > 0),
        "tokens_per_second": tokens / seconds if seconds else None,
        "generated_tokens_mean": sum(g["n_generated"] for g in model_calls)
        / max(len(model_calls), 1),
        "per_request": [
            {"latency_ms": round(ms, 1), **g} for ms, g in zip(latencies_ms, generations)
        ],
    }


def peak_rss_kib(pid: int) -> int | None:
    """Peak resident memory of a process (Linux), in KiB."""
    return _status_kib(pid, "VmHWM:")


def rss_kib(pid: int) -> int | None:
    """Resident memory of a process now (Linux), in KiB."""
    return _status_kib(pid, "VmRSS:")


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def replay(strokes: list[Keystroke], model_call: ModelCall) -> tuple[list[float], list[Cost]]:
    """Each keystroke through the suggestion cache, then ``model_call(cursor)``
    (which returns the suggestions and their cost): latencies and costs."""
    cache = SuggestionCache()
    latencies: list[float] = []
    generations: list[Cost] = []
    for stroke in strokes:
        started = time.perf_counter()
        cursor = Cursor(split_lines(stroke.text), stroke.line, stroke.column)
        before, after = cursor.text_before(), cursor.text_after()
        if cache.lookup("bench", before, after):
            cost: Cost = {"source": "cache"}
        else:
            suggestions, cost = model_call(cursor)
            cache.store("bench", before, after, [Suggestion(text) for text in suggestions])
        latencies.append((time.perf_counter() - started) * 1000)
        generations.append(cost)
    return latencies, generations


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None
