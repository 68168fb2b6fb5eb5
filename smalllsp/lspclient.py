"""Drive ``smalllsp serve`` over stdio exactly as an editor would.

Used by ``smalllsp complete`` (the demo and debugging tool); the same steps
as a real client: start the server, initialize with inline-completion
capabilities, open the document, ask, shut down.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from smalllsp.lsp.status import STATUS_REQUEST
from smalllsp.syntax import languages

CAPABILITIES = types.ClientCapabilities(
    general=types.GeneralClientCapabilities(
        position_encodings=[types.PositionEncodingKind.Utf16],
    ),
    text_document=types.TextDocumentClientCapabilities(
        synchronization=types.TextDocumentSyncClientCapabilities(),
        inline_completion=types.InlineCompletionClientCapabilities(),
    ),
    window=types.WindowClientCapabilities(work_done_progress=False),
)


@dataclasses.dataclass
class CompletionRun:
    suggestions: list[str]
    latencies_ms: list[float]
    costs: list[dict[str, Any]]  # per request: the server's last_generation
    status: dict[str, Any]
    messages: list[str]
    stderr: str


def language_of(path: Path) -> str:
    """The LSP language id a client sends for ``path`` (plaintext when smalllsp has no spec)."""
    return languages.language_of(path) or "plaintext"


async def complete_file(
    path: Path,
    line: int,
    character: int,
    *,
    repeat: int = 1,
    settings: dict[str, Any] | None = None,
    server_command: list[str] | None = None,
) -> CompletionRun:
    """Ask the server ``repeat`` times for the inline completion at ``line:character`` of ``path``."""
    text = path.read_text(encoding="utf-8")
    uri = path.resolve().as_uri()
    client = LanguageClient("smalllsp-complete", "1")
    messages: list[str] = []

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def show_message(params: types.ShowMessageParams) -> None:
        messages.append(params.message)

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def log_message(params: types.LogMessageParams) -> None:
        messages.append(params.message)

    command = server_command or [sys.executable, "-m", "smalllsp", "serve"]
    # The server's log stays on its stderr (shown with --verbose); what it tells
    # the user (showMessage, its own logMessage) is printed as [server] lines.
    await client.start_io(*command, env={"SMALLLSP_LOG_OUTPUT": "stderr", **os.environ})
    stderr_lines: list[bytes] = []
    server = client._server  # the subprocess: its stderr must be drained or it blocks

    async def drain() -> None:
        while server and server.stderr and (chunk := await server.stderr.readline()):
            stderr_lines.append(chunk)

    drainer = asyncio.create_task(drain())
    suggestions: list[str] = []
    latencies: list[float] = []
    costs: list[dict[str, Any]] = []
    try:
        await client.initialize_async(
            types.InitializeParams(
                capabilities=CAPABILITIES,
                process_id=os.getpid(),
                root_uri=path.resolve().parent.as_uri(),
                initialization_options=settings or {},
            )
        )
        client.initialized(types.InitializedParams())
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id=language_of(path), version=1, text=text)
            )
        )
        await wait_until_loaded(client)
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri),
            position=types.Position(line, character),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked
            ),
        )
        for _ in range(repeat):
            started = time.perf_counter()
            result = await client.text_document_inline_completion_async(params)
            latencies.append((time.perf_counter() - started) * 1000)
            items = (
                result.items if isinstance(result, types.InlineCompletionList) else (result or [])
            )
            first = items[0].insert_text if items else ""
            suggestions.append(first if isinstance(first, str) else first.value)  # a snippet's text
            status = as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))
            costs.append(status["last_generation"] or {})
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()
        drainer.cancel()
    return CompletionRun(
        suggestions,
        latencies,
        costs,
        status,
        messages,
        b"".join(stderr_lines).decode(errors="replace"),
    )


async def wait_until_loaded(client: LanguageClient, timeout_s: float = 300) -> dict[str, Any]:
    """Poll the server's status until the model has loaded (or failed), so the
    first completion's latency is the completion's alone."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))
        if status["state"] in ("ready", "failed") or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.05)


def as_dict(value: Any) -> dict[str, Any]:
    """A reply to a custom request as a dict (pygls hands those back as named tuples)."""
    items = value.items() if isinstance(value, dict) else value._asdict().items()
    return {k: _plain(v) for k, v in items}


def _plain(value: Any) -> Any:
    if hasattr(value, "_asdict") or isinstance(value, dict):
        return as_dict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
