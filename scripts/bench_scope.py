"""Overhead of the syntax work per request on a 5,000-line file.

For cursors spread over a 5,000-line Python file, times what the server adds
around the model call: finding the enclosing definition's first line, the
scope chain at the cursor, the scope cut and the syntax-error count for a
candidate (all parse the prompt window, reaching back to that line, not the
whole file). Prints p50 and p99 in milliseconds.

    .venv/bin/python scripts/bench_scope.py [--lines 5000] [--requests 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from smalllsp import completion, modelstore
from smalllsp.config import Config
from smalllsp.context.window import Cursor
from smalllsp.engine.llama import LlamaRuntime

TRACE = Path(__file__).resolve().parent.parent / "examples" / "typing_trace.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    unit = TRACE.read_text().split("\n")
    lines: list[str] = []
    copy = 0
    while len(lines) < args.lines:  # distinct names per copy, so the file is one plausible module
        lines += [line.replace("def ", f"def c{copy}_") for line in unit]
        copy += 1
    lines = lines[: args.lines]
    config = Config()
    runtime = LlamaRuntime(modelstore.resolve(""), config)
    rng = random.Random(0)
    body_lines = [i for i, line in enumerate(lines) if line.startswith("    ") and line.strip()]
    timings = []
    found = 0
    for _ in range(args.requests):
        line = rng.choice(body_lines)
        cursor = Cursor(lines, line, len(lines[line]))
        prompt, shape, _ = completion.plan(runtime, config, "python", cursor)  # tokenizing is not counted
        candidate = "\n        value = compute(value)\n        return value"
        started = time.perf_counter()
        head = completion.syntax_head(cursor, prompt)
        chain = completion.scope_of("python", head, prompt.suffix_text)
        shape.scope_end(candidate)
        shape.errors_with(candidate)
        timings.append((time.perf_counter() - started) * 1000)
        found += any(scope.kind in ("class", "function") for scope in chain or ())
    timings.sort()
    p99 = timings[min(len(timings) - 1, round(0.99 * (len(timings) - 1)))]
    print(f"{args.lines}-line file, {args.requests} requests: scope chain + scope cut + syntax check "
          f"p50 {statistics.median(timings):.2f} ms, p99 {p99:.2f} ms; enclosing class or function found "
          f"for {found}/{args.requests} cursors")
    runtime.close()


if __name__ == "__main__":
    main()
