"""End-to-end fixtures: the real ``smalllsp serve`` over stdio with the real default model.

These tests never skip: without the default model in the store they fail and
say how to install it (``make test`` installs it first).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from smalllsp import modelstore
from smalllsp.syntax.languages import syntax_errors
from tests.fixtures import tiny_moe

SERVER = [sys.executable, "-m", "smalllsp", "serve"]
# These tests read what the server logged from its stderr; the default
# (log_output = client, records as window/logMessage) has a test of its own.
os.environ.setdefault("SMALLLSP_LOG_OUTPUT", "stderr")
# The cold hint and the speculation follow the machine's measured speed and the
# timing of background jobs; the tests that check a request's exact cost or
# prompt run without them, and each has its own tests, with them on
# (test_cold_hint.py, test_speculation.py; the editors' tests keep the defaults).
os.environ.setdefault("SMALLLSP_COLD_LATENCY_MS", "0")
os.environ.setdefault("SMALLLSP_SPECULATE_NEXT", "false")
PRESETS = {
    "neovim": types.PositionEncodingKind.Utf8,
    "visual-studio-code": types.PositionEncodingKind.Utf16,
}


@pytest.fixture(scope="session", autouse=True)
def default_model_installed():
    try:
        modelstore.resolve("")
    except modelstore.StoreError as problem:
        pytest.fail(f"the e2e tests need the default model: {problem}", pytrace=False)


@pytest.fixture(scope="session")
def default_model():
    """The default model's GGUF file, for the tests that load it in this process."""
    return modelstore.resolve("")


@pytest.fixture(scope="session")
def tiny_moe_path(tmp_path_factory, default_model):
    """A tiny random qwen3moe GGUF with the default model's tokenizer."""
    return tiny_moe.write_tiny_moe_gguf(
        tmp_path_factory.mktemp("moe") / "tiny-moe.gguf", default_model
    )


def capabilities(preset: str) -> types.ClientCapabilities:
    """A client preset plus inline completion, which the presets do not advertise."""
    caps = client_capabilities(preset)
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities(
        dynamic_registration=False
    )
    return caps


# The time budget cuts generation by wall-clock time; tests check behaviour,
# so by default it is out of reach (a busy CI machine must not change results).
TEST_SETTINGS = {"time_budget_ms": 120_000}


async def initialize(
    client: LanguageClient, preset: str = "visual-studio-code", options: dict | None = None
) -> types.InitializeResult:
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(preset),
            root_uri=Path.cwd().as_uri(),
            initialization_options={**TEST_SETTINGS, **(options or {})},
        )
    )


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def connect_tcp(client, port: int, attempts: int = 100) -> None:
    """Connect ``client`` to a ``serve --tcp`` that is starting on ``port`` (0.1 s between tries)."""
    for _ in range(attempts):
        try:
            await client.start_tcp("127.0.0.1", port)
            return
        except OSError:
            await asyncio.sleep(0.1)
    pytest.fail("the server never listened")


def open_document(
    client: LanguageClient, text: str, name: str = "example.py", language: str = "python"
) -> str:
    uri = (Path("/tmp/smalllsp-e2e") / name).as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, language, 1, text))
    )
    return uri


def type_text(
    client: LanguageClient, uri: str, version: int, line: int, character: int, text: str
) -> None:
    """The user types ``text`` at ``line``:``character`` (a didChange inserting it there)."""
    here = types.Position(line, character)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version, uri),
            [types.TextDocumentContentChangePartial(range=types.Range(here, here), text=text)],
        )
    )


def inline_params(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri),
        position=types.Position(line, character),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic
        ),
    )


def splice(text: str, line: int, index: int, insert: str) -> str:
    lines = text.split("\n")
    lines[line] = lines[line][:index] + insert + lines[line][index:]
    return "\n".join(lines)


def adds_no_syntax_errors(text: str, line: int, index: int, insert: str) -> bool:
    return syntax_errors("python", splice(text, line, index, insert)) <= syntax_errors(
        "python", text
    )


# A function with an empty body at line 5, column 4.
BODY_EXAMPLE = '''import math


def circle_area(radius):
    """Return the area of a circle with the given radius."""
    


def main():
    print(circle_area(2.0))


if __name__ == "__main__":
    main()
'''
