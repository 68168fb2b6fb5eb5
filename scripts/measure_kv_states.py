"""What a per-document prompt state costs: bytes per token, and the copy out and back in (issue 17).

Reads a prompt of ``--tokens`` tokens (a stdlib module in the FIM layout),
then times saving sequence 0 into host memory and restoring it, against
reading the same prompt again from cold; checks that the restored state
gives the same greedy answer.

    .venv/bin/python scripts/measure_kv_states.py [--tokens 400]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from smalllsp import modelstore
from smalllsp.config import Config
from smalllsp.engine.kv_states import restore_sequence, save_sequence
from smalllsp.engine.llama import LlamaRuntime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=400)
    args = parser.parse_args()
    runtime = LlamaRuntime(modelstore.resolve(""), Config())
    try:
        text = (Path(os.__file__).parent / "textwrap.py").read_text()
        prompt = runtime.fim.layout(
            runtime.tokenize(text)[: args.tokens - 8], runtime.tokenize("\n"), []
        )
        started = time.perf_counter()
        first = runtime.generate(prompt, max_tokens=8)
        cold_s = time.perf_counter() - started
        n = runtime.llm.n_tokens
        started = time.perf_counter()
        state = save_sequence(runtime.llm, n)
        save_s = time.perf_counter() - started
        runtime.llm.n_tokens = 0  # as if another document had taken the cache
        started = time.perf_counter()
        restore_sequence(runtime.llm, state)
        restore_s = time.perf_counter() - started
        again = runtime.generate(prompt, max_tokens=8)
        report = {
            "prompt_tokens": len(prompt),
            "state_tokens": n,
            "state_bytes": state.n_bytes,
            "kib_per_token": round(state.n_bytes / n / 1024, 2),
            "save_ms": round(save_s * 1000, 2),
            "restore_ms": round(restore_s * 1000, 2),
            "cold_read_and_answer_s": round(cold_s, 2),
            "after_restore_evaluated": again.n_evaluated,
            "same_answer": again.text == first.text,
            "load": os.getloadavg(),
        }
        print(json.dumps(report, indent=2))
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
