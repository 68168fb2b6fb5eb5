"""``smalllsp bench``: replay a typing trace and measure what each keystroke costs.

Passes over the same keystrokes, one after the other so they do not share
the CPU: through the real server over stdio (LSP end to end, :mod:`.lsp`),
straight to the engine in this process (the same prompts, no LSP), and
optionally llama.cpp's own server with llama.vim's request (:mod:`.peer`).
The ratio of their latencies is the server's overhead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
from pathlib import Path
from typing import Any

from smalllsp import modelstore, pipeline
from smalllsp.bench.lsp import run_clients, run_lsp
from smalllsp.bench.measure import Cost, ratio, replay, summarize
from smalllsp.bench.overhead import overhead
from smalllsp.bench.peer import LlamaServer, run_peer
from smalllsp.bench.trace import Keystroke, typing_trace
from smalllsp.config import Config
from smalllsp.context.window import Cursor
from smalllsp.engine.llama import LlamaRuntime
from smalllsp.lspclient import language_of


def run_direct(
    path: Path, config: Config, language_id: str, strokes: list[Keystroke]
) -> dict[str, Any]:
    """The same keystrokes straight to the pipeline in this process (suggestion
    cache, then the engine), no LSP and no worker thread."""
    runtime = LlamaRuntime(path, config)

    def model_call(cursor: Cursor) -> tuple[list[str], Cost]:
        result = pipeline.generate(runtime, config, language_id, cursor, lambda: False)
        return [s.text for s in result.suggestions], dict(result.stats())

    try:
        latencies, generations = replay(strokes, model_call)
    finally:
        runtime.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {**summarize(latencies, generations), "peak_rss_mib": peak / 1024}


def bench(
    model: str, trace: Path, n: int, type_from: int | None, peer: Path | None = None
) -> dict[str, Any]:
    """Run both passes and return the report."""
    start_line, start, strokes = typing_trace(trace, n, type_from)
    config = Config(model=model)
    path = modelstore.resolve(model)
    settings = {"model": str(path)}
    lsp = asyncio.run(run_lsp(trace, start, strokes, settings))
    direct = run_direct(path, config, language_of(trace), strokes)
    report: dict[str, Any] = {
        "model": path.name,
        "trace": str(trace),
        "type_from": start_line,
        "keystrokes": len(strokes),
        "lsp": lsp,
        "direct": direct,
        "lsp_over_direct_p50": ratio(lsp["latency_ms"]["p50"], direct["latency_ms"]["p50"]),
        "lsp_over_direct_model_p50": ratio(
            lsp["model_call_latency_ms"]["p50"], direct["model_call_latency_ms"]["p50"]
        ),
    }
    report["overhead"] = overhead(path, config)
    if peer is not None:
        report["peer"] = run_peer(peer, path, config, strokes)
        report["lsp_over_peer_model_p50"] = ratio(
            lsp["model_call_latency_ms"]["p50"], report["peer"]["model_call_latency_ms"]["p50"]
        )
    return report


def bench_remote(
    model: str,
    trace: Path,
    n: int,
    type_from: int | None,
    *,
    url: str | None = None,
    binary: Path | None = None,
    clients: int = 1,
    api: str = "openai",
) -> dict[str, Any]:
    """In-process over LSP, then the same keystrokes with ``engine = remote``: one client, then ``clients`` at once.

    Without ``url`` a llama-server is started on loopback from ``binary``
    with one slot per client and ``--cache-reuse 256`` (the team set-up).
    On one machine the server and the clients share the CPU.
    """
    start_line, start, strokes = typing_trace(trace, n, type_from)
    config = Config(model=model)
    path = modelstore.resolve(model)
    report: dict[str, Any] = {
        "model": path.name,
        "trace": str(trace),
        "type_from": start_line,
        "keystrokes": len(strokes),
        "clients": clients,
        "cpu_cores": os.cpu_count(),
    }
    report["lsp"] = asyncio.run(run_lsp(trace, start, strokes, {"model": str(path)}))
    with contextlib.ExitStack() as stack:
        if url is None:
            if binary is None:
                raise ValueError("--engine remote needs --remote-url or --llama-server")
            server = stack.enter_context(
                LlamaServer(
                    binary,
                    path,
                    n_ctx=config.n_ctx,
                    threads=config.n_threads or os.cpu_count() or 1,
                    parallel=max(clients, 1),
                    cache_reuse=256,
                    flash_attn=config.flash_attn,
                    cache_type=config.cache_type,
                )
            )
            url = server.url
            report["llama_server"] = " ".join(server.command[1:])
        settings = {
            "engine": "remote",
            "remote_url": url,
            "remote_api": api,
            "remote_timeout_ms": 120_000,
        }
        report["remote_url"] = url
        report["remote"] = asyncio.run(run_lsp(trace, start, strokes, settings))
        if clients > 1:
            report["remote_clients"] = asyncio.run(
                run_clients(trace, start_line, n, clients, settings)
            )
            report["remote_clients_over_remote_p50"] = ratio(
                report["remote_clients"]["latency_ms"]["p50"], report["remote"]["latency_ms"]["p50"]
            )
        if "llama_server" in report:
            peak = server.peak_rss_kib()
            report["llama_server_peak_rss_mib"] = peak / 1024 if peak else None
    report["remote_over_lsp_p50"] = ratio(
        report["remote"]["latency_ms"]["p50"], report["lsp"]["latency_ms"]["p50"]
    )
    return report
