"""What the scope detector and the cross-file guard add to a request.

For cursors spread over a long Python file (5,000 lines by default) in a
small temporary workspace, this times what the server does around the model
call: the scope chain at the cursor, the scope cut and the syntax-error count
for a candidate (parses of the window, reaching back to the enclosing definition's
first line, not of the whole file), and the guard's verdict on the candidate
(it reuses the spliced window's parse; lookups in the workspace index). The
prompt itself is built first and not counted: it is the model's share.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

from smalllsp import guard, pipeline
from smalllsp.bench.measure import percentile
from smalllsp.bench.trace import DEFAULT_TRACE
from smalllsp.pipeline.context import scope_of
from smalllsp.pipeline.generate import judge
from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.context.window import Cursor
from smalllsp.documents import Document, Lines
from smalllsp.engine.llama import LlamaRuntime
from smalllsp.syntax import symbols
from smalllsp.workspace.index import WorkspaceIndex

HELPERS = '''"""Helpers the long file calls."""


def compute(value, scale=1.0):
    """Scale a value."""
    return value * scale


def publish(topic, payload):
    """Send a payload to a topic."""
    return (topic, payload)
'''
# A candidate with a call the model saw the definition of, one it did not, and a block.
CANDIDATE = "\n        value = compute(value)\n        publish('done', value)\n        return value"


def long_module(n_lines: int) -> list[str]:
    """The trace file repeated to ``n_lines``, with distinct function names per copy."""
    unit = DEFAULT_TRACE.read_text().split("\n")
    lines: list[str] = ["from helpers import compute, publish", ""]
    copy = 0
    while len(lines) < n_lines:
        lines += [line.replace("def ", f"def c{copy}_") for line in unit]
        copy += 1
    return lines[:n_lines]


def measure(
    runtime: LlamaRuntime, n_lines: int = 5000, requests: int = 200, seed: int = 0
) -> dict[str, Any]:
    """p50 and p99 in milliseconds of the scope work, the guard, and both."""
    config = Config()
    with tempfile.TemporaryDirectory(prefix="smalllsp-overhead-") as folder:
        root = Path(folder)
        text = "\n".join(long_module(n_lines))
        document = Document(
            "file:///bench/long_module.py", "python", 1, text
        )  # as the server holds it: no split
        lines = Lines(text)
        path = root / "long_module.py"
        path.write_text(text)
        (root / "helpers.py").write_text(HELPERS)
        index = WorkspaceIndex([root])
        index.build()
        # as the server reads an open document's outline: none over max_document_kb
        source = text.encode("utf-8")
        outline = (
            symbols.outline("python", source)
            if len(source) <= config.max_document_kb * 1024
            else None
        )
        sources = Sources(str(path), "long_module.py", root.name, outline, index)
        rng = random.Random(seed)
        body_lines = [i for i, line in enumerate(lines) if line.startswith("    ") and line.strip()]
        if n_lines > 5000:  # the same kinds of cursor, spread over the whole length
            body_lines = body_lines[:: max(1, len(body_lines) // 5000)]
        scope_ms, guard_ms, verdicts = [], [], {guard.LOCAL: 0, guard.CROSS_FILE: 0}
        for _ in range(requests):
            line = rng.choice(body_lines)
            cursor = Cursor(
                document.lines_view(line), line, len(lines[line])
            )  # as server.cursor() builds it
            ctx = pipeline.plan(runtime, config, "python", cursor, sources)
            assert ctx.syntax is not None  # Python has a grammar
            started = time.perf_counter()
            scope_of("python", ctx.syntax.head, ctx.syntax.tail)  # as plan() does, timed here
            ctx.syntax.scope_cut(CANDIDATE)
            ctx.syntax.errors_with(CANDIDATE)
            middle = time.perf_counter()
            verdict = judge(ctx, CANDIDATE)
            done = time.perf_counter()
            scope_ms.append((middle - started) * 1000)
            guard_ms.append((done - middle) * 1000)
            verdicts[verdict.kind] += 1
    total = [a + b for a, b in zip(scope_ms, guard_ms)]

    def row(values: list[float]) -> dict[str, float]:
        return {
            "p50": round(percentile(values, 50) or 0.0, 2),
            "p99": round(percentile(values, 99) or 0.0, 2),
        }

    return {
        "lines": n_lines,
        "bytes": len(source),
        "outline": outline is not None,
        "requests": requests,
        "scope_ms": row(scope_ms),
        "guard_ms": row(guard_ms),
        "scope_and_guard_ms": row(total),
        "verdicts": verdicts,
    }


# The file sizes the overhead is measured on: the per-request cost must not grow with the file (issue 16).
OVERHEAD_LINES = (5000, 200_000)


def overhead(path: Path, config: Config, sizes: tuple[int, ...] = OVERHEAD_LINES) -> dict[str, Any]:
    """The scope detector's and the guard's cost per request on long files (see measure above):
    the first size's figures at the top level, every size's under ``sizes``, and the p50 ratio
    of the largest to the smallest."""
    runtime = LlamaRuntime(path, config)
    try:
        reports = [measure(runtime, n_lines=n) for n in sizes]
    finally:
        runtime.close()
    first, last = reports[0], reports[-1]
    ratio = last["scope_and_guard_ms"]["p50"] / max(first["scope_and_guard_ms"]["p50"], 1e-6)
    return {**first, "sizes": reports, "p50_ratio_largest_to_smallest": round(ratio, 2)}


def overhead_line(report: dict[str, Any]) -> str:
    lines = []
    for one in report.get("sizes", [report]):
        scope, guarded, both = one["scope_ms"], one["guard_ms"], one["scope_and_guard_ms"]
        lines.append(
            f"scope + guard on a {one['lines']}-line file, {one['requests']} requests: "
            f"p50 {both['p50']} ms, p99 {both['p99']} ms (scope p50 {scope['p50']} / p99 {scope['p99']}, "
            f"guard p50 {guarded['p50']} / p99 {guarded['p99']})"
        )
    if "p50_ratio_largest_to_smallest" in report:
        lines.append(
            f"p50 ratio, largest file to smallest: {report['p50_ratio_largest_to_smallest']}"
        )
    return "\n".join(lines)
