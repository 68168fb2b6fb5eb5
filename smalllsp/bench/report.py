"""The bench's report: the table printed after a run, and the JSON written beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

from smalllsp.bench.overhead import overhead_line


def _iter_rows(report: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    def fmt(value: Any, digits: int = 0) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    passes = [report[name] for name in PASSES if name in report]

    def row(label: str, value: Callable[[dict[str, Any]], str]) -> tuple[str, ...]:
        return (label, *(value(p) for p in passes))

    for key in ("p50", "p90", "p99"):
        yield row(f"latency {key} (ms)", lambda p: fmt(p["latency_ms"][key]))
    for key in ("p50", "p90"):
        yield row(f"model-call latency {key} (ms)", lambda p: fmt(p["model_call_latency_ms"][key]))
    yield row("tokens evaluated / model call, p50", lambda p: fmt(p["tokens_evaluated"]["p50"]))
    yield row("tokens evaluated / model call, p90", lambda p: fmt(p["tokens_evaluated"]["p90"]))
    yield row(
        "prompt reused from KV cache, p50 (%)",
        lambda p: fmt(100 * (p["prompt_reused_share"]["p50"] or 0), 1),
    )
    yield row(
        "answered from the suggestion cache",
        lambda p: f"{p['suggestion_cache_hits']}/{p['requests']}",
    )
    yield row(
        "model calls reusing a KV prefix", lambda p: f"{p['kv_prefix_hits']}/{p['model_calls']}"
    )
    yield row("tokens/s (evaluated + generated)", lambda p: fmt(p["tokens_per_second"], 1))
    yield row("generated tokens / model call, mean", lambda p: fmt(p["generated_tokens_mean"], 1))
    yield row("peak RSS (MiB)", lambda p: fmt(p["peak_rss_mib"]))


PASSES = {
    "lsp": "LSP end to end",
    "direct": "engine direct",
    "peer": "llama-server",
    "remote": "LSP, remote",
    "remote_clients": "LSP, remote, N",
}


def table(report: dict[str, Any]) -> str:
    labels = {**PASSES, "remote_clients": f"remote x{report.get('clients', 'N')}"}
    header = ("", *(label for name, label in labels.items() if name in report))
    rows = [header, *_iter_rows(report)]
    width = max(len(r[0]) for r in rows)
    lines = ["  ".join([f"{r[0]:<{width}}", *(f"{cell:>15}" for cell in r[1:])]) for r in rows]
    for key, label in (
        ("lsp_over_direct_p50", "LSP / direct latency, p50"),
        ("lsp_over_direct_model_p50", "LSP / direct model-call latency, p50"),
        ("lsp_over_peer_model_p50", "LSP / llama-server model-call latency, p50"),
        ("remote_over_lsp_p50", "remote / in-process latency, p50"),
        ("remote_clients_over_remote_p50", "remote N clients / 1 client latency, p50"),
    ):
        if report.get(key) is not None:
            lines.append(f"{label:<{width}}  {report[key]:>15.3f}")
    return "\n".join(lines)


def write(report: dict[str, Any], json_path: Path | None) -> None:
    if "keystrokes" in report:
        print(
            f"{report['keystrokes']} keystrokes typed from line {report['type_from']} of {report['trace']}, model {report['model']}"
        )
        if "remote_url" in report:
            print(
                f"remote engine at {report['remote_url']}"
                + (f" (llama-server {report['llama_server']})" if "llama_server" in report else "")
                + f"; {report['cpu_cores']} CPU cores shared by everything"
            )
        print(table(report))
        if "remote_clients" in report:
            print(
                f"p50 per client, {report['clients']} typing at once: "
                + ", ".join(
                    "-" if ms is None else f"{ms:.0f} ms"
                    for ms in report["remote_clients"]["per_client_p50_ms"]
                )
            )
    if "overhead" in report:
        print(overhead_line(report["overhead"]))
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2))
        print(f"JSON written to {json_path}")
