"""The completion service in a real server object, with the fake runtime on the engine's worker.

The suggestion cache holds typed suggestions with their verdicts: typing
along one gets the rest of it, verdict and all, without a model call; the
counters and the status payload say what happened.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcRequestCancelled
from pygls.workspace import Workspace

from smalllsp.config import Config
from smalllsp.lsp import items, status
from smalllsp.pipeline import Suggestion
from smalllsp.server import create_server
from tests.support.fake_runtime import FakeRuntime

URI = "file:///tmp/smalllsp-service/area.py"
TEXT = "def area(r):\n    \n"


@pytest.fixture
async def server():
    ls = create_server(Config(warmup=False))
    ls.protocol._workspace = Workspace(None)  # as initialize leaves it (UTF-16 positions)
    runtime = FakeRuntime(greedy="return 3.14 * r * r\n\nprint(area(2))\n")
    await ls.engine.load(lambda: runtime)
    ls.documents.open(types.TextDocumentItem(URI, "python", 1, TEXT))
    ls._outlined.add(URI)  # no tree thread here: the prompt goes without the outline
    ls.fake = runtime
    yield ls
    ls.engine.close()
    ls.trees.stop()


def typed(ls, line: int, character: int, text: str, version: int) -> None:
    at = types.Position(line, character)
    ls.documents.change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=URI),
            [types.TextDocumentContentChangePartial(types.Range(at, at), text)],
        ),
        ls.encoding,
    )


async def test_typing_along_a_suggestion_gets_its_rest_from_the_cache(server):
    _cursor, first = await server.service.suggest(URI, types.Position(1, 4))
    assert first == [Suggestion("return 3.14 * r * r")]
    assert len(server.fake.prompts) == 1
    typed(server, 1, 4, "ret", 2)
    _cursor, rest = await server.service.suggest(URI, types.Position(1, 7))
    assert rest == [Suggestion("urn 3.14 * r * r")]  # the verdict travels with it
    assert len(server.fake.prompts) == 1  # no model call
    payload = status.status(server)
    assert payload["suggestion_cache_hits"] == 1 and payload["last_generation"]["source"] == "cache"
    assert payload["state"] == "ready" and payload["model"] == "fake.gguf"


async def test_an_older_request_that_resumes_after_a_newer_one_never_reaches_the_engine(server):
    """Both wait for the document's first outline; the newer may go on first (it arrived
    after the outline did). The older must not then replace it on the engine: latest wins."""
    release, waited = asyncio.Event(), []
    server.config = dataclasses.replace(server.config, speculate_next=False)  # its job reads too

    async def first_outline(uri: str) -> None:
        waited.append(uri)
        if len(waited) == 1:  # the older request resumes late
            await release.wait()

    server.first_outline = first_outline
    older = asyncio.ensure_future(server.service.suggest(URI, types.Position(1, 4)))
    await asyncio.sleep(0)
    _cursor, newer = await server.service.suggest(URI, types.Position(2, 0))
    release.set()
    with pytest.raises(JsonRpcRequestCancelled, match="superseded by a newer request"):
        await older
    assert newer and len(server.fake.prompts) == 1  # only the newer one was read


async def test_an_accepted_suggestion_is_counted_by_its_verdict(server):
    server.service.accept(({"verdict": "local"},))
    assert status.status(server)["accepted"] == {"local": 1, "cross_file": 0}
    with pytest.raises(JsonRpcInvalidParams):
        server.service.accept(({"verdict": "maybe"},))


async def test_a_position_past_the_end_is_the_clients_mistake(server):
    with pytest.raises(JsonRpcInvalidParams, match="past the end"):
        await server.service.suggest(URI, types.Position(9, 0))


def test_items_carry_the_suggestion_and_its_verdict():
    here = types.Position(1, 4)
    (item,) = items.inline_list([Suggestion("return r")], here).items
    assert item.insert_text == "return r" and item.range == types.Range(here, here)
    assert item.command is not None and item.command.title == "smalllsp: local"
