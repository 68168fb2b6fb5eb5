"""Quality against latency, one point per configuration, from the JSON results of several runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_results(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(directory.glob("eval-*.json"))]


def plot(results: list[dict[str, Any]], output: Path) -> Path:
    """One panel per task kind: p50 latency (x) against pass@1 (y); a line per model through its sample counts."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError as exc:
        raise RuntimeError("the plot needs matplotlib: pip install 'smalllsp[eval]'") from exc

    kinds = sorted({c["kind"] for r in results for c in r["configurations"]})
    figure, axes = plt.subplots(
        1, max(1, len(kinds)), figsize=(6 * max(1, len(kinds)), 4.5), squeeze=False
    )
    for axis, kind in zip(axes[0], kinds):
        for result in results:
            points = sorted(
                (c["latency_ms"]["p50"], 100 * c["pass@1"], c["samples"])
                for c in result["configurations"]
                if c["kind"] == kind and c["latency_ms"]["p50"] is not None
            )
            if not points:
                continue
            xs, ys, labels = zip(*points)
            axis.plot(xs, ys, marker="o", label=result["model"])
            for x, y, n in points:
                axis.annotate(
                    "greedy" if n == 1 else f"n={n}",
                    (x, y),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=8,
                )
        tasks = {c["tasks"] for r in results for c in r["configurations"] if c["kind"] == kind}
        axis.set_title(f"HumanEval {kind} infilling ({', '.join(map(str, sorted(tasks)))} tasks)")
        axis.set_xlabel("p50 latency per completion (ms)")
        axis.set_ylabel("pass@1 of the top suggestion (%)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=120)
    plt.close(figure)
    return output
