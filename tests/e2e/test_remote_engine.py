"""``engine = remote`` end to end: the real server over stdio, the real default model served by a
real ``llama-server`` on loopback, built from the llama.cpp that llama-cpp-python 0.3.36 vendors
(``scripts/build-llama-server``; cached in ~/.cache/smalllsp, so a machine builds it once, about
10 minutes on 2 cores, which the first test here may pay).

* Greedy completions through the remote engine equal the in-process ones, prompt for prompt,
  through both APIs and both tokenizers (the server's /tokenize, and the local vocabulary).
* Cancelling closes the stream: the server's slot stops generating.
* A server that is down, slow or answers garbage gives a clear message, and no hang.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from smalllsp import modelstore
from smalllsp.bench.peer import LlamaServer
from smalllsp.config import Config
from smalllsp.engine.remote import RemoteRuntime
from smalllsp.engine.worker import Cancelled
from smalllsp.lspclient import as_dict, wait_until_loaded
from smalllsp.server import STATUS_REQUEST
from tests.fixtures.fake_engine_server import FakeEngine

from .conftest import BODY_EXAMPLE, TEST_SETTINGS, capabilities, inline_params

ROOT = Path(__file__).resolve().parents[2]
# The first test may build llama-server (about 10 minutes on 2 cores, once per machine).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

CLASS_EXAMPLE = '''class Stack:
    """A last-in, first-out stack."""

    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        
'''
# (document, line, character): an empty body, a method body, and a line typed half-way.
CASES = [
    (BODY_EXAMPLE, 5, 4),
    (CLASS_EXAMPLE, 10, 8),
    (
        BODY_EXAMPLE.replace(
            '    """Return the area of a circle with the given radius."""\n    \n',
            '    """Return the area of a circle with the given radius."""\n    return math.\n',
        ),
        5,
        16,
    ),
]


@pytest.fixture(scope="module")
def llama_server_binary() -> Path:
    result = subprocess.run(
        [str(ROOT / "scripts" / "build-llama-server")],
        capture_output=True,
        text=True,
        timeout=1700,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert result.returncode == 0, f"scripts/build-llama-server failed:\n{result.stderr[-3000:]}"
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def llama_server(llama_server_binary, tmp_path_factory):
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    model = modelstore.resolve("")
    with LlamaServer(
        llama_server_binary,
        model,
        n_ctx=Config().n_ctx,
        threads=os.cpu_count() or 1,
        parallel=2,
        alias="qwen2.5-coder-0.5b",
        log=log,
    ) as server:
        yield server


class Session:
    """One ``smalllsp serve`` over stdio with the given settings; its messages to the user are kept."""

    def __init__(self, settings: dict, env: dict | None = None) -> None:
        self.settings = {**TEST_SETTINGS, **settings}
        self.env = env or os.environ.copy()
        self.client = LanguageClient("remote-engine-test", "1")
        self.messages: list[str] = []
        self.stderr: list[bytes] = []

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def shown(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

    async def __aenter__(self) -> "Session":
        await self.client.start_io(sys.executable, "-m", "smalllsp", "serve", env=self.env)
        server = self.client._server

        async def drain() -> None:
            while server and server.stderr and (chunk := await server.stderr.readline()):
                self.stderr.append(chunk)

        self._drain = asyncio.create_task(drain())
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=capabilities("visual-studio-code"),
                process_id=os.getpid(),
                initialization_options=self.settings,
            )
        )
        self.client.initialized(types.InitializedParams())
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 30)
            self.client.exit(None)
        finally:
            await self.client.stop()
            self._drain.cancel()

    @property
    def log(self) -> str:
        return b"".join(self.stderr).decode(errors="replace")[-4000:]

    def open(self, text: str, name: str) -> str:
        uri = (Path("/tmp/smalllsp-e2e-remote") / name).as_uri()
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
        )
        return uri

    async def status(self) -> dict:
        return as_dict(await self.client.protocol.send_request_async(STATUS_REQUEST, None))

    async def complete(self, uri: str, line: int, character: int) -> str:
        result = await asyncio.wait_for(
            self.client.text_document_inline_completion_async(inline_params(uri, line, character)),
            120,
        )
        return result.items[0].insert_text if result and result.items else ""


async def completions(settings: dict) -> list[tuple[str, dict]]:
    """Each case's suggestion and what went into its prompt, from one server with ``settings``."""
    answers = []
    async with Session({**settings, "warmup": False}) as session:
        status = await wait_until_loaded(session.client, 120)
        assert status["state"] == "ready", f"{status['error']}\n{session.log}"
        uris = [session.open(text, f"case{index}.py") for index, (text, _, _) in enumerate(CASES)]
        await asyncio.sleep(
            2
        )  # every document's outline and ring-buffer chunk is in, in every session alike
        for uri, (_, line, character) in zip(uris, CASES):
            suggestion = await session.complete(uri, line, character)
            generation = (await session.status())["last_generation"]
            answers.append(
                (suggestion, {"n_prompt": generation["n_prompt"], **generation["prompt"]})
            )
    return answers


async def test_remote_completions_equal_the_in_process_ones(llama_server):
    local = await completions({})
    assert all(text.strip() for text, _ in local), local
    through_openai = await completions(
        {
            "engine": "remote",
            "remote_url": llama_server.url,
            "remote_model": "qwen2.5-coder-0.5b",
            "remote_timeout_ms": 120_000,
        }
    )
    through_llama_api = await completions(
        {
            "engine": "remote",
            "remote_url": llama_server.url,
            "remote_api": "llama-server",
            "model": str(modelstore.resolve("")),
            "remote_timeout_ms": 120_000,
        }
    )
    assert through_openai == local  # the server's tokenizer
    assert through_llama_api == local  # the local vocabulary


def test_cancelling_closes_the_stream_and_the_server_stops(llama_server):
    runtime = RemoteRuntime(
        Config(engine="remote", remote_url=llama_server.url, remote_timeout_ms=120_000)
    )
    try:
        prompt = runtime.fim.layout(
            runtime.tokenize(
                "# the numbers from 1 to 500, one per line\nnumbers = [\n    1,\n    2,\n"
            ),
            runtime.tokenize("]\n"),
            [],
        )
        seen: list[str] = []
        started = time.monotonic()

        def watch(text: str) -> None:
            seen.append(text)
            return None

        with pytest.raises(Cancelled):
            runtime.generate(
                prompt, max_tokens=400, stop_at=watch, cancelled=lambda: len(seen) >= 3
            )
        assert time.monotonic() - started < 60
        deadline = (
            time.monotonic() + 30
        )  # a loaded machine: the server notices the closed stream at its next token
        while True:
            with urllib.request.urlopen(llama_server.url + "/slots", timeout=5) as answer:
                slots = json.loads(answer.read())
            if not any(slot["is_processing"] for slot in slots) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert not any(slot["is_processing"] for slot in slots), (
            "the server kept generating after the stream was closed"
        )
        decoded = [slot["next_token"][0]["n_decoded"] for slot in slots if slot.get("next_token")]
        assert max(decoded) < 60, (
            f"the server generated {decoded} tokens for a request cancelled after 3"
        )
    finally:
        runtime.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Silent:
    """Accepts connections and never answers (a hung server)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize("kind", ["down", "slow", "garbage"])
async def test_a_broken_server_gives_a_clear_message_and_no_hang(kind):
    fake = FakeEngine() if kind == "garbage" else None
    silent = Silent() if kind == "slow" else None
    url = {
        "down": lambda: f"http://127.0.0.1:{closed_port()}",
        "slow": lambda: silent.url,
        "garbage": lambda: fake.url,
    }[kind]()
    if fake is not None:
        fake.garbage = b"<html><body>Please log in to the proxy</body></html>"
    expected = {
        "down": "connection refused",
        "slow": "did not answer within 1 s",
        "garbage": "not JSON",
    }[kind]
    started = time.monotonic()
    try:
        async with Session(
            {"engine": "remote", "remote_url": url, "remote_timeout_ms": 1000}
        ) as session:
            status = await wait_until_loaded(session.client, 30)
            uri = session.open(BODY_EXAMPLE, "broken.py")
            suggestion = await session.complete(uri, 5, 4)
    finally:
        if fake is not None:
            fake.close()
        if silent is not None:
            silent.close()
    assert time.monotonic() - started < 30
    assert status["state"] == "failed" and expected in status["error"], status
    assert suggestion == ""
    assert any(expected in message for message in session.messages), session.messages


async def test_a_server_that_goes_away_mid_session_is_told_once_and_comes_back():
    fake = FakeEngine()
    fake.script = ["    return", " radius", " * 2"]
    try:
        settings = {
            "engine": "remote",
            "remote_url": fake.url,
            "remote_timeout_ms": 2000,
            "remote_retries": 0,
            "warmup": False,
        }
        async with Session(settings) as session:
            status = await wait_until_loaded(session.client, 30)
            assert status["state"] == "ready" and status["device"].startswith("remote"), status
            documents = [session.open(BODY_EXAMPLE, f"away{n}.py") for n in range(4)]
            assert await session.complete(documents[0], 5, 4) == "return radius * 2"
            fake.failures = [503] * 4  # the server is overloaded for a while
            assert await session.complete(documents[1], 5, 4) == ""
            assert await session.complete(documents[2], 5, 4) == ""
            await asyncio.sleep(0.5)
            told = [m for m in session.messages if "remote engine" in m]
            assert len(told) == 1 and "HTTP 503" in told[0], "\n".join(session.messages)
            fake.failures = []
            assert await session.complete(documents[3], 5, 4) == "return radius * 2"
            await asyncio.sleep(0.5)
            assert any("answers again" in m for m in session.messages), session.messages
    finally:
        fake.close()


def test_bench_compares_the_remote_engine_with_in_process(llama_server_binary, tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smalllsp",
            "bench",
            "--engine",
            "remote",
            "--llama-server",
            str(llama_server_binary),
            "--clients",
            "2",
            "--n",
            "3",
            "--type-from",
            "12",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LSP, remote" in result.stdout and "remote x2" in result.stdout
    report = json.loads(out.read_text())
    assert report["remote"]["requests"] == 3 and report["remote_clients"]["requests"] == 6
    assert (
        report["remote"]["model_calls"] >= 1
        and report["remote"]["peak_rss_mib"] < report["lsp"]["peak_rss_mib"]
    )
    assert (
        report["llama_server_peak_rss_mib"] > 100
        and len(report["remote_clients"]["per_client_p50_ms"]) == 2
    )
