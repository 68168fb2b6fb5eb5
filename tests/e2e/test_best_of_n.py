"""Best-of-n through the real server and the real model: several ranked suggestions, the greedy one kept."""

import pytest
from lsprotocol import types

from smalllsp.lspclient import as_dict
from smalllsp.server import STATUS_REQUEST

from .conftest import BODY_EXAMPLE, adds_no_syntax_errors, initialize, inline_params, open_document

pytestmark = pytest.mark.e2e

SORT = '''def bubble_sort(items):
    """Sort the list in place and return it."""
    n = len(items)
    for i in range(n):
        for j in range(n - i - 1):

    return items
'''


async def status_of(client) -> dict:
    return as_dict(await client.protocol.send_request_async(STATUS_REQUEST, {}))


async def test_samples_give_several_ranked_suggestions_that_parse_and_cycle(client):
    await initialize(client, options={"samples": 4, "temperature": 1.0, "seed": 11, "time_budget_ms": 60_000})
    uri = open_document(client, SORT)

    answer = await client.text_document_inline_completion_async(inline_params(uri, 5, 0))

    texts = [item.insert_text for item in answer.items]
    assert len(texts) >= 2 and len(texts) == len(set(texts)), texts  # several, duplicates merged
    assert all(adds_no_syntax_errors(SORT, 5, 0, text) for text in texts), texts
    assert all(item.range == types.Range(types.Position(5, 0), types.Position(5, 0)) for item in answer.items)
    status = await status_of(client)
    generation = status["last_generation"]
    assert generation["samples"] == 4 and generation["suggestions"] == len(texts)
    assert generation["suggestions"] + sum(generation["dropped"].values()) <= 4


async def test_the_greedy_answer_is_among_the_samples(client):
    await initialize(client, options={"samples": 1, "time_budget_ms": 60_000})
    uri = open_document(client, BODY_EXAMPLE)
    greedy = await client.text_document_inline_completion_async(inline_params(uri, 5, 4))
    assert len(greedy.items) == 1

    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"samples": 3, "seed": 5}))
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))  # no cached answer
    uri = open_document(client, BODY_EXAMPLE, name="again.py")
    sampled = await client.text_document_inline_completion_async(inline_params(uri, 5, 4))

    assert greedy.items[0].insert_text in [item.insert_text for item in sampled.items]
    assert (await status_of(client))["last_generation"]["samples"] == 3
