"""`smalllsp complete` (the demo tool), `serve --tcp`, and a long editing session."""

import asyncio
import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from smalllsp.lspclient import as_dict
from smalllsp.server import STATUS_REQUEST

from .conftest import (
    BODY_EXAMPLE,
    TEST_SETTINGS,
    adds_no_syntax_errors,
    connect_tcp,
    free_port,
    initialize,
    inline_params,
    open_document,
)

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_complete_prints_a_real_suggestion_for_the_demo_file():
    demo = ROOT / "examples" / "demo.py"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smalllsp",
            "complete",
            str(demo),
            "--line",
            "7",
            "--character",
            "4",
            "--repeat",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout[result.stdout.index("{") :])
    suggestion = report["suggestions"][0]
    assert suggestion.strip()
    assert adds_no_syntax_errors(demo.read_text(), 7, 4, suggestion)
    assert report["status"]["state"] == "ready" and report["status"]["load_seconds"] > 0
    assert len(report["latencies_ms"]) == 2


async def test_serve_over_tcp():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "smalllsp", "serve", "--tcp", f"127.0.0.1:{port}"],
        stderr=subprocess.DEVNULL,
    )
    client = LanguageClient("tcp-test", "1")
    try:
        await connect_tcp(client, port)
        await asyncio.wait_for(
            client.initialize_async(
                types.InitializeParams(
                    capabilities=types.ClientCapabilities(),
                    # as every e2e session: a loaded machine must not cut the answer to nothing
                    initialization_options=TEST_SETTINGS,
                )
            ),
            120,
        )
        client.initialized(types.InitializedParams())
        uri = "file:///tmp/tcp.py"
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, BODY_EXAMPLE))
        )
        answer = await asyncio.wait_for(
            client.text_document_inline_completion_async(inline_params(uri, 5, 4)), 300
        )
        assert answer.items and answer.items[0].insert_text.strip()
        await asyncio.wait_for(client.shutdown_async(None), 60)
        client.exit(None)
        assert server.wait(30) == 0  # exit after shutdown: the process ends, status 0
    finally:
        # The server first: a client still connected to it would wait for ever in stop()
        # (a failed assertion became a 15-minute hang). Its socket is then closed.
        if server.poll() is None:
            server.terminate()
            server.wait(10)
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(client.stop(), 30)


async def test_a_long_editing_session_leaves_no_futures_behind(client):
    await initialize(client)
    # start-up sends the client requests of its own (progress of the model load
    # and the index): let them be answered first
    for _ in range(600):
        status = as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))
        if status["state"] == "ready" and status["index"]["state"] == "ready":
            break
        await asyncio.sleep(0.05)
    uri = open_document(client, "x = 0\n")
    for version in range(2, 502):
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version, uri),
                [
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(1, 0), types.Position(1, 0)), text="a"
                    )
                ],
            )
        )
    status = as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))
    assert status["protocol_futures"] <= 1  # the status request itself
    answer = await client.text_document_inline_completion_async(inline_params(uri, 1, 500))
    assert isinstance(answer, types.InlineCompletionList)


def test_serve_takes_the_flags_lsp_clients_append():
    """vscode-languageclient runs `<command> <args> --stdio` (TransportKind.stdio),
    and other transports add --clientProcessId=PID: the server must start with them."""
    from .rawlsp import RawServer

    editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    raw = RawServer("--stdio", f"--clientProcessId={editor.pid}")
    try:
        answer = raw.initialize()
        assert answer["result"]["capabilities"]["inlineCompletionProvider"] is not None
        editor.kill()
        editor.wait(10)
        assert raw.process.wait(30) is not None  # it stopped by itself once the editor was gone
        assert "the client process" in raw.log() and "is gone" in raw.log()
    finally:
        editor.kill()
        raw.kill()


@pytest.mark.parametrize("flag", ["--node-ipc", "--pipe=/tmp/x.sock", "--socket=5007"])
def test_serve_refuses_transports_it_does_not_speak_with_a_clear_reason(flag):
    result = subprocess.run(
        [sys.executable, "-m", "smalllsp", "serve", flag],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert f"{flag.split('=')[0]} is not supported" in result.stderr
    assert "--stdio" in result.stderr


def test_the_log_goes_to_the_client_with_its_levels_and_stderr_stays_quiet():
    """Editors file a server's stderr as errors (Neovim's lsp.log writes [ERROR]
    for every line): by default the records go as window/logMessage instead."""
    from .rawlsp import RawServer

    raw = RawServer(env={"SMALLLSP_LOG_OUTPUT": "client"})
    try:
        raw.initialize({"no_such_setting": 1, "globl_tokens": 3})
        raw.wait_loaded()

        def loaded(p: dict) -> bool:
            return (
                p["type"] == 3
                and p["message"].startswith("smalllsp")
                and "loaded in" in p["message"]
            )

        # The status can say "ready" a moment before the loop has sent the message.
        notes = raw.notifications_until(
            lambda n: n.get("method") == "window/logMessage" and loaded(n["params"])
        )
        logged = [n["params"] for n in notes if n.get("method") == "window/logMessage"]
        assert any(loaded(p) for p in logged), logged
        warnings = [p["message"] for p in logged if p["type"] == 2]
        assert (
            "smalllsp.server: smalllsp: unknown setting 'globl_tokens' (did you mean 'global_tokens'?)"
            in warnings
        ), warnings
        assert sum("no_such_setting" in w for w in warnings) == 1, warnings
        raw.notify("workspace/didChangeConfiguration", {"settings": {"no_such_setting": 1}})
        raw.status()
        again = [
            n["params"]["message"]
            for n in raw.drain_notifications()
            if n.get("method") in ("window/logMessage", "window/showMessage")
        ]
        assert not any("no_such_setting" in m for m in again), (
            again
        )  # told once a session, not at every change
        assert " INFO " not in raw.log()
    finally:
        raw.close()
