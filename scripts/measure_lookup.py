"""Prompt-lookup decoding on the typing trace: decoding time with and without, and the drafts kept (issue 17).

For every ``--every``-th keystroke of the bench's typing trace, the pipeline
(``pipeline.generate``, its stop rules and cutters included) runs three
times on the same cursor: once to read the prompt, then decoding only, with
lookup off and on, in turns, so that both see the same load. Reports the
median decoding time of each, their ratio, the generated tokens per second,
the share of drafted tokens kept, and whether every suggestion was the same.

    .venv/bin/python scripts/measure_lookup.py [--n 120] [--every 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from smalllsp import modelstore, pipeline
from smalllsp.bench.trace import DEFAULT_TRACE, typing_trace
from smalllsp.config import Config
from smalllsp.context.window import Cursor
from smalllsp.documents import split_lines
from smalllsp.engine.llama import LlamaRuntime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=120)
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--json")
    args = parser.parse_args()
    # No wall-clock cut: the time budget would end answers at different places under load.
    config = Config(time_budget_ms=600_000)
    runtime = LlamaRuntime(modelstore.resolve(""), config)
    times: dict[bool, list[float]] = {False: [], True: []}
    tokens: dict[bool, int] = {False: 0, True: 0}
    same = differ = 0
    loads = []
    try:
        _line, _start, strokes = typing_trace(DEFAULT_TRACE, args.n, None)
        for stroke in strokes[:: args.every]:
            cursor = Cursor(split_lines(stroke.text), stroke.line, stroke.column)
            runtime.lookup = False
            pipeline.generate(runtime, config, "python", cursor, lambda: False)  # reads the prompt
            texts = {}
            for flag in (False, True):
                runtime.lookup = flag
                started = time.perf_counter()
                result = pipeline.generate(runtime, config, "python", cursor, lambda: False)
                times[flag].append(time.perf_counter() - started)
                tokens[flag] += sum(len(g.tokens) for g in result.generations)
                texts[flag] = result.text
            same, differ = (same + 1, differ) if texts[False] == texts[True] else (same, differ + 1)
            loads.append(os.getloadavg()[0])
    finally:
        runtime.close()
    off, on = statistics.median(times[False]), statistics.median(times[True])
    report = {
        "model_calls": len(times[False]),
        "decode_s_p50_off": round(off, 3),
        "decode_s_p50_on": round(on, 3),
        "on_over_off_p50": round(on / off, 3),
        "tokens_per_s_off": round(tokens[False] / sum(times[False]), 1),
        "tokens_per_s_on": round(tokens[True] / sum(times[True]), 1),
        "drafted": runtime.lookup_drafted,
        "accepted": runtime.lookup_accepted,
        "acceptance": round(runtime.lookup_accepted / max(runtime.lookup_drafted, 1), 3),
        "same_suggestion": same,
        "different_suggestion": differ,
        "load_1min_median": statistics.median(loads) if loads else None,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
