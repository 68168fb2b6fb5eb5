"""``smalllsp bench``: replay a typing trace and measure what each keystroke costs.

The trace is a real source file typed key by key: the lines from
``type_from`` on are taken out of the document, then typed back one
character at a time (a line break brings the next line's indentation, as an
editor's auto-indent does). After every keystroke the bench sends
``didChange`` and an inline-completion request and waits for the answer, as
an editor with no debounce would.

Two passes over the same keystrokes, one after the other so they do not
share the CPU: through the real server over stdio (LSP end to end), and
straight to the engine in this process (the same prompts, no LSP). The ratio
of their latencies is the server's overhead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from smalllsp import modelstore, pipeline
from smalllsp.cache import SuggestionCache
from smalllsp.pipeline.rank import Suggestion
from smalllsp.config import Config
from smalllsp.context.window import Cursor
from smalllsp.documents import split_lines
from smalllsp.engine.llama import LlamaRuntime
from smalllsp.lspclient import CAPABILITIES, as_dict, language_of, wait_until_loaded
from smalllsp.server import STATUS_REQUEST

DEFAULT_TRACE = Path(__file__).resolve().parent.parent / "examples" / "typing_trace.py"


@dataclasses.dataclass(frozen=True)
class Keystroke:
    """The document after one keystroke, and where the cursor is."""

    text: str
    line: int
    column: int  # code points (the bench's traces are ASCII, so also UTF-16 units)
    change: types.TextDocumentContentChangePartial


def keystrokes(source: str, type_from: int, limit: int) -> tuple[str, list[Keystroke]]:
    """The starting document and the keystrokes that type its lines back from ``type_from``."""
    lines = split_lines(source)
    to_type = lines[type_from:]
    head = lines[:type_from]
    text = "\n".join(head + [""])
    line, column = type_from, 0
    strokes: list[Keystroke] = []

    def record(insert: str) -> None:
        nonlocal text, line, column
        lines_now = split_lines(text)
        offset = sum(len(l) + 1 for l in lines_now[:line]) + column
        text = text[:offset] + insert + text[offset:]
        start = types.Position(line, column)
        if "\n" in insert:
            line += insert.count("\n")
            column = len(insert.rsplit("\n", 1)[1])
        else:
            column += len(insert)
        strokes.append(
            Keystroke(
                text,
                line,
                column,
                types.TextDocumentContentChangePartial(
                    range=types.Range(start, start), text=insert
                ),
            )
        )

    for index, target in enumerate(to_type):
        indent = target[: len(target) - len(target.lstrip())]
        if index > 0:
            record("\n" + indent)
        elif indent:
            record(indent)
        for char in target[len(indent) :]:
            record(char)
            if len(strokes) >= limit:
                return "\n".join(head + [""]), strokes
        if len(strokes) >= limit:
            break
    return "\n".join(head + [""]), strokes[:limit]


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(latencies_ms: list[float], generations: list[dict[str, Any]]) -> dict[str, Any]:
    model_calls = [g for g in generations if g["source"] == "model"]
    evaluated = [g["n_evaluated"] for g in model_calls]
    reuse = [g["n_reused"] / g["n_prompt"] for g in model_calls if g["n_prompt"]]
    seconds = sum(g["ms"] for g in model_calls) / 1000
    tokens = sum(g["n_evaluated"] + g["n_generated"] for g in model_calls)
    model_latencies = [ms for ms, g in zip(latencies_ms, generations) if g["source"] == "model"]
    return {
        "requests": len(latencies_ms),
        "latency_ms": {
            p: percentile(latencies_ms, q) for p, q in (("p50", 50), ("p90", 90), ("p99", 99))
        },
        "model_call_latency_ms": {
            p: percentile(model_latencies, q) for p, q in (("p50", 50), ("p90", 90))
        },
        "tokens_evaluated": {
            "p50": percentile(evaluated, 50),
            "p90": percentile(evaluated, 90),
            "mean": sum(evaluated) / max(len(evaluated), 1),
        },
        "prompt_reused_share": {"p50": percentile(reuse, 50), "p10": percentile(reuse, 10)},
        "model_calls": len(model_calls),
        "suggestion_cache_hits": len(generations) - len(model_calls),
        "kv_prefix_hits": sum(1 for g in model_calls if g["n_reused"] > 0),
        "tokens_per_second": tokens / seconds if seconds else None,
        "generated_tokens_mean": sum(g["n_generated"] for g in model_calls)
        / max(len(model_calls), 1),
        "per_request": [
            {"latency_ms": round(ms, 1), **g} for ms, g in zip(latencies_ms, generations)
        ],
    }


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
    generations: list[dict[str, Any]] = []
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
        peak_rss = _peak_rss_kib(server.pid)
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


def _peak_rss_kib(pid: int) -> int | None:
    """Peak resident memory of a process (Linux), in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def replay(
    strokes: list[Keystroke], model_call: Callable[[Cursor], tuple[list[str], dict[str, Any]]]
) -> tuple[list[float], list[dict[str, Any]]]:
    """Each keystroke through the suggestion cache, then ``model_call(cursor)``
    (which returns the suggestions and their cost): latencies and costs."""
    cache = SuggestionCache()
    latencies: list[float] = []
    generations: list[dict[str, Any]] = []
    for stroke in strokes:
        started = time.perf_counter()
        cursor = Cursor(split_lines(stroke.text), stroke.line, stroke.column)
        before, after = cursor.text_before(), cursor.text_after()
        if cache.lookup("bench", before, after):
            cost: dict[str, Any] = {"source": "cache"}
        else:
            suggestions, cost = model_call(cursor)
            cache.store("bench", before, after, [Suggestion(text) for text in suggestions])
        latencies.append((time.perf_counter() - started) * 1000)
        generations.append(cost)
    return latencies, generations


def run_direct(
    path: Path, config: Config, language_id: str, strokes: list[Keystroke]
) -> dict[str, Any]:
    """The same keystrokes straight to the pipeline in this process (suggestion
    cache, then the engine), no LSP and no worker thread."""
    runtime = LlamaRuntime(path, config)

    def model_call(cursor: Cursor) -> tuple[list[str], dict[str, Any]]:
        result = pipeline.generate(runtime, config, language_id, cursor, lambda: False)
        return [s.text for s in result.suggestions], result.stats()

    try:
        latencies, generations = replay(strokes, model_call)
    finally:
        runtime.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {**summarize(latencies, generations), "peak_rss_mib": peak / 1024}


def _iter_rows(report: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    def fmt(value: Any, digits: int = 0) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    passes = [report[name] for name in PASSES if name in report]

    def row(label: str, value) -> tuple[str, ...]:
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


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def typing_trace(trace: Path, n: int, type_from: int | None) -> tuple[int, str, list[Keystroke]]:
    """The line typing starts from (default: two thirds in), the text before it, and ``n`` keystrokes."""
    source = trace.read_text(encoding="utf-8")
    lines = split_lines(source)
    start_line = type_from if type_from is not None else len(lines) * 2 // 3
    if not 0 <= start_line < len(lines):
        raise ValueError(f"--type-from {start_line} is outside {trace} ({len(lines)} lines)")
    start, strokes = keystrokes(source, start_line, n)
    return start_line, start, strokes


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
    report = {
        "model": path.name,
        "trace": str(trace),
        "type_from": start_line,
        "keystrokes": len(strokes),
        "lsp": lsp,
        "direct": direct,
        "lsp_over_direct_p50": _ratio(lsp["latency_ms"]["p50"], direct["latency_ms"]["p50"]),
        "lsp_over_direct_model_p50": _ratio(
            lsp["model_call_latency_ms"]["p50"], direct["model_call_latency_ms"]["p50"]
        ),
    }
    report["overhead"] = overhead(path, config)
    if peer is not None:
        from smalllsp.bench_peer import run_peer

        report["peer"] = run_peer(peer, path, config, strokes)
        report["lsp_over_peer_model_p50"] = _ratio(
            lsp["model_call_latency_ms"]["p50"], report["peer"]["model_call_latency_ms"]["p50"]
        )
    return report


# The file sizes the overhead is measured on: the per-request cost must not grow with the file (issue 16).
OVERHEAD_LINES = (5000, 200_000)


def overhead(path: Path, config: Config, sizes: tuple[int, ...] = OVERHEAD_LINES) -> dict[str, Any]:
    """The scope detector's and the guard's cost per request on long files (see bench_overhead):
    the first size's figures at the top level, every size's under ``sizes``, and the p50 ratio
    of the largest to the smallest."""
    from smalllsp.bench_overhead import measure

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
    import contextlib

    from smalllsp.bench_peer import LlamaServer

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
            report["remote_clients_over_remote_p50"] = _ratio(
                report["remote_clients"]["latency_ms"]["p50"], report["remote"]["latency_ms"]["p50"]
            )
        if "llama_server" in report:
            peak = server.peak_rss_kib()
            report["llama_server_peak_rss_mib"] = peak / 1024 if peak else None
    report["remote_over_lsp_p50"] = _ratio(
        report["remote"]["latency_ms"]["p50"], report["lsp"]["latency_ms"]["p50"]
    )
    return report
