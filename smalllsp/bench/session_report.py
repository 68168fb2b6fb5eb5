"""The session bench's report: per-kind latencies and agreement, the console table and the README's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smalllsp.bench.measure import percentile


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    def row(kind: str | None) -> dict[str, Any]:
        chosen = [r for r in records if kind is None or r["kind"] == kind]
        values = [r["latency_ms"] for r in chosen]
        judged = [r["agrees"] for r in chosen if "agrees" in r]
        return {
            "n": len(values),
            "p50": percentile(values, 50),
            "p90": percentile(values, 90),
            "agrees": {
                way: sum(1 for a in judged if a == way)
                for way in ("line", "start", "wrong", "none")
            },
        }

    return {
        "all": row(None),
        "first_of_visit": row("first"),
        "after_accept": row("after_accept"),
        "model_calls": sum(1 for r in records if r.get("source") == "model"),
        "requests": records,
    }


def table(report: dict[str, Any]) -> str:
    names = [n for n in ("smalllsp", "llama_server") if n in report]
    labels = {"smalllsp": "smalllsp (LSP)", "llama_server": "llama-server (llama.vim)"}
    rows = [("", *(labels[n] for n in names), "ratio p50")]

    def fmt(value: Any) -> str:
        return "-" if value is None else f"{value:.0f}"

    for kind, label in (
        ("all", "all requests"),
        ("first_of_visit", "first of a visit"),
        ("after_accept", "after an accept"),
    ):
        cells = [f"{fmt(report[n][kind]['p50'])} / {fmt(report[n][kind]['p90'])}" for n in names]
        r = report.get(f"{kind}_p50_ratio")
        rows.append(
            (
                f"{label}, p50 / p90 (ms), n={report['smalllsp'][kind]['n']}",
                *cells,
                "-" if r is None else f"{r:.2f}",
            )
        )
    rows.append(
        (
            "agrees with what is typed next: line / start / wrong / none",
            *("/".join(str(v) for v in report[n]["all"]["agrees"].values()) for n in names),
            "",
        )
    )
    rows.append(("peak RSS (MiB)", *(fmt(report[n]["peak_rss_mib"]) for n in names), ""))
    width = max(len(r[0]) for r in rows)
    return "\n".join("  ".join([f"{r[0]:<{width}}", *(f"{c:>26}" for c in r[1:])]) for r in rows)


def write(report: dict[str, Any], json_path: Path | None) -> None:
    load = report["load_average"]
    print(
        f"{len(report['visits'])} visits over {', '.join(Path(f).name for f in report['files'])}, "
        f"model {report['model']}; load average (1, 5, 15 min) before {load['before']}, after {load['after']}"
    )
    print(table(report))
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2))
        print(f"JSON written to {json_path}")


def markdown(report: dict[str, Any]) -> str:
    """The README's session table, from one run's report."""
    names = [n for n in ("smalllsp", "llama_server") if n in report]
    head = {"smalllsp": "smalllsp over LSP", "llama_server": "llama-server, llama.vim's `/infill`"}
    lines = [
        "| p50 / p90 (ms) | "
        + " | ".join(head[n] for n in names)
        + " | smalllsp / llama-server, p50 |",
        "| --- | " + " | ".join("---" for _ in names) + " | --- |",
    ]

    def fmt(value: Any) -> str:
        return "-" if value is None else f"{value:,.0f}"

    for kind, label in (
        ("all", "all requests"),
        ("first_of_visit", "first request of a visit"),
        ("after_accept", "request after an accept"),
    ):
        cells = [
            f"{fmt(report[n][kind]['p50'])} / {fmt(report[n][kind]['p90'])} (n={report[n][kind]['n']})"
            for n in names
        ]
        r = report.get(f"{kind}_p50_ratio")
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {'-' if r is None else f'{r:.2f}'} |"
        )
    lines.append(
        "| model calls | " + " | ".join(str(report[n]["model_calls"]) for n in names) + " | |"
    )
    for kind, label in (("first_of_visit", "first of a visit"), ("all", "all requests")):
        lines.append(
            f"| agrees with what is typed next, {label}: whole line / a start / wrong / none | "
            + " | ".join(
                " / ".join(str(v) for v in report[n][kind]["agrees"].values()) for n in names
            )
            + " | |"
        )
    lines.append(
        "| peak RSS (MiB) | " + " | ".join(fmt(report[n]["peak_rss_mib"]) for n in names) + " | |"
    )
    ours = report["smalllsp"]
    states = ours.get("kv_states") or {}
    lines.append(
        f"| smalllsp: resident once loaded → peak (MiB); per-document states used / budget | "
        f"{fmt(ours.get('rss_loaded_mib'))} → {fmt(ours['peak_rss_mib'])}; "
        f"{states.get('used_mib', '-')} / {states.get('budget_mib', '-')} |" + " |" * len(names)
    )
    return "\n".join(lines)
