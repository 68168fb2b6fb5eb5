"""The bench's LSP passes: a real ``smalllsp serve`` over stdio, typed at as an editor would.

After every keystroke the pass sends ``didChange`` and an inline-completion
request and waits for the answer (an editor with no debounce), then reads
what the request cost from ``smalllsp/status``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from smalllsp.bench.measure import Cost, peak_rss_kib, summarize
from smalllsp.bench.trace import Keystroke, typing_trace
from smalllsp.lspclient import CAPABILITIES, as_dict, language_of, wait_until_loaded
from smalllsp.server import STATUS_REQUEST


async def run_lsp(
    source_path: Path, start: str, strokes: list[Keystroke], settings: dict[str, Any]
) -> dict[str, Any]:
    """Type the keystrokes through a real ``smalllsp serve`` over stdio."""
    client = LanguageClient("smalllsp-bench", "1")
    await client.start_io(
        sys.executable, "-m", "smalllsp", "serve", "--log-level", "WARNING", env=os.environ.copy()
    )
    server = client._server
    drain = asyncio.create_task(_drain(server))
    uri = source_path.resolve().as_uri()
    latencies: list[float] = []
    generations: list[Cost] = []
    try:
        await client.initialize_async(
            types.InitializeParams(capabilities=CAPABILITIES, initialization_options=settings)
        )
        client.initialized(types.InitializedParams())
        status = await wait_until_loaded(client)
        if status["state"] != "ready":
            raise RuntimeError(f"the server could not load the model: {status['error']}")
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri, language_of(source_path), 1, start)
            )
        )
        for version, stroke in enumerate(strokes, start=2):
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    types.VersionedTextDocumentIdentifier(version, uri), [stroke.change]
                )
            )
            started = time.perf_counter()
            await client.text_document_inline_completion_async(
                types.InlineCompletionParams(
                    text_document=types.TextDocumentIdentifier(uri),
                    position=types.Position(stroke.line, stroke.column),
                    context=types.InlineCompletionContext(
                        trigger_kind=types.InlineCompletionTriggerKind.Automatic
                    ),
                )
            )
            latencies.append((time.perf_counter() - started) * 1000)
            generations.append(
                as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))[
                    "last_generation"
                ]
            )
        peak_rss = peak_rss_kib(server.pid) if server is not None else None
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()
        drain.cancel()
    return {
        **summarize(latencies, generations),
        "peak_rss_mib": peak_rss / 1024 if peak_rss else None,
        "model": status["model"],
    }


async def _drain(server: Any) -> None:
    while server.stderr and await server.stderr.readline():
        pass


# Each simulated user types from a different place in the trace, this many lines further up.
CLIENT_LINE_OFFSET = 7


async def run_clients(
    trace: Path, type_from: int, n: int, clients: int, settings: dict[str, Any]
) -> dict[str, Any]:
    """``clients`` editors typing at once, each with its own ``smalllsp serve``, all on one remote engine."""
    sessions = []
    for index in range(clients):
        _line, start, strokes = typing_trace(
            trace, n, max(type_from - index * CLIENT_LINE_OFFSET, 0)
        )
        sessions.append(run_lsp(trace, start, strokes, settings))
    runs = await asyncio.gather(*sessions)
    latencies = [r["latency_ms"] for r in runs]
    merged = summarize(
        [row["latency_ms"] for r in runs for row in r["per_request"]],
        [
            {k: v for k, v in row.items() if k != "latency_ms"}
            for r in runs
            for row in r["per_request"]
        ],
    )
    peaks = [r["peak_rss_mib"] for r in runs if r["peak_rss_mib"]]
    return {
        **merged,
        "clients": clients,
        "per_client_p50_ms": [l["p50"] for l in latencies],
        "peak_rss_mib": max(peaks) if peaks else None,
    }
