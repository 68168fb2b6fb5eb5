"""Prompt chunk length against reading speed and how late a cancel lands (issue 17).

Reads the same cold prompt (the first lines of a stdlib module, in the FIM
layout) with fixed chunk lengths, then with the adaptive chunks, and for
each: the seconds, tokens/s, chunk durations (a cancel lands at the end of
the chunk being read: its duration bounds the delay), and one real cancel
fired mid-prompt, with the time until the engine stopped.

    .venv/bin/python scripts/measure_prompt_chunks.py [--tokens 1024] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from pathlib import Path

from smalllsp import modelstore
from smalllsp.config import Config
from smalllsp.engine.chunking import PromptChunks
from smalllsp.engine.llama import LlamaRuntime
from smalllsp.engine.worker import Cancelled

SOURCE = Path(os.__file__).parent / "argparse.py"


class Timed(PromptChunks):
    """Records each chunk's duration as well."""

    def __init__(self, largest: int, target_s: float, smallest: int) -> None:
        super().__init__(largest, target_s, smallest)
        self.durations: list[float] = []
        self.sizes: list[int] = []

    def record(self, n_tokens: int, seconds: float) -> None:
        self.durations.append(seconds)
        self.sizes.append(n_tokens)
        super().record(n_tokens, seconds)


def cold_prompt(runtime: LlamaRuntime, n_tokens: int) -> list[int]:
    text = SOURCE.read_text()
    tokens = runtime.tokenize(text)[: n_tokens - 8]
    return runtime.fim.layout(tokens, runtime.tokenize("\n"), [])


def read(runtime: LlamaRuntime, prompt: list[int], chunks: Timed, cancel_at: float | None) -> dict:
    runtime.chunks = chunks
    runtime.llm.n_tokens = 0  # cold
    flag = threading.Event()
    fired: list[float] = []
    if cancel_at is not None:

        def fire() -> None:
            fired.append(time.perf_counter())
            flag.set()

        timer = threading.Timer(cancel_at, fire)
        timer.start()
    started = time.perf_counter()
    try:
        runtime.generate(prompt, max_tokens=0, cancelled=flag.is_set)
        outcome = "read"
    except Cancelled:
        outcome = "cancelled"
    ended = time.perf_counter()
    result = {
        "seconds": round(ended - started, 2),
        "tokens_read": sum(chunks.sizes),
        "tokens_per_s": round(sum(chunks.sizes) / sum(chunks.durations), 1),
        "chunk_s_p50": round(statistics.median(chunks.durations), 3),
        "chunk_s_max": round(max(chunks.durations), 3),
        "largest_chunk": max(chunks.sizes),
        "outcome": outcome,
    }
    if fired:
        result["cancel_landed_after_s"] = round(ended - fired[0], 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=1024)
    parser.add_argument("--sizes", default="32,64,128,256,512")
    parser.add_argument("--cancel-at", type=float, default=1.5)
    parser.add_argument("--json")
    args = parser.parse_args()
    config = Config()
    runtime = LlamaRuntime(modelstore.resolve(""), config)
    try:
        prompt = cold_prompt(runtime, args.tokens)
        rows = {}
        for size in [int(s) for s in args.sizes.split(",")]:
            rows[str(size)] = read(runtime, prompt, Timed(size, 0.0, size), None)
            rows[str(size)]["cancel"] = read(
                runtime, prompt, Timed(size, 0.0, size), args.cancel_at
            )
            print(size, rows[str(size)], flush=True)
        adaptive = Timed(config.n_batch, config.cancel_latency_ms / 1000, 32)
        rows["adaptive"] = read(runtime, prompt, adaptive, None)
        rows["adaptive"]["cancel"] = read(
            runtime,
            prompt,
            Timed(config.n_batch, config.cancel_latency_ms / 1000, 32),
            args.cancel_at,
        )
        print("adaptive", rows["adaptive"], flush=True)
        report = {"prompt_tokens": len(prompt), "load": os.getloadavg(), "runs": rows}
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
