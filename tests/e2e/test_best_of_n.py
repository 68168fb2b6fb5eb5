"""Best-of-n through the real server and the real model: several ranked suggestions, the greedy one kept."""

import pytest
from lsprotocol import types

from smalllsp.lspclient import as_dict
from smalllsp.server import STATUS_REQUEST

from .conftest import BODY_EXAMPLE, adds_no_syntax_errors, initialize, inline_params, open_document

pytestmark = pytest.mark.e2e

OPEN_ENDED = '''import random
import string


def make_password(length):
    """Return a random password of the given length."""
    
'''


async def status_of(client) -> dict:
    return as_dict(await client.protocol.send_request_async(STATUS_REQUEST, {}))


async def test_samples_give_several_ranked_suggestions_that_parse_and_cycle(client):
    # no warm-up: the prompt is read in the same chunks every run, so the seeded samples are the same
    await initialize(
        client,
        options={
            "samples": 4,
            "temperature": 1.0,
            "seed": 11,
            "time_budget_ms": 60_000,
            "warmup": False,
        },
    )
    uri = open_document(client, OPEN_ENDED)

    answer = await client.text_document_inline_completion_async(inline_params(uri, 6, 4))

    texts = [item.insert_text for item in answer.items]
    assert len(texts) >= 2 and len(texts) == len(set(texts)), texts  # several, duplicates merged
    assert all(adds_no_syntax_errors(OPEN_ENDED, 6, 4, text) for text in texts), texts
    assert all(
        item.range == types.Range(types.Position(6, 4), types.Position(6, 4))
        for item in answer.items
    )
    status = await status_of(client)
    generation = status["last_generation"]
    assert generation["samples"] == 4 and generation["suggestions"] == len(texts)
    assert generation["suggestions"] + sum(generation["dropped"].values()) <= 4


async def test_at_temperature_0_the_candidates_agree_and_merge_into_one_suggestion(client):
    await initialize(
        client, options={"samples": 3, "temperature": 0, "time_budget_ms": 60_000, "warmup": False}
    )
    uri = open_document(client, BODY_EXAMPLE)
    answer = await client.text_document_inline_completion_async(inline_params(uri, 5, 4))
    assert len(answer.items) == 1 and answer.items[0].insert_text.strip()
    generation = (await status_of(client))["last_generation"]
    assert (generation["samples"], generation["suggestions"], generation["dropped"]) == (3, 1, {})
