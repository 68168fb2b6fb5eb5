"""Cancellation, superseded requests and bad input against the real server and model."""

import asyncio

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcRequestCancelled

from smalllsp.lspclient import as_dict
from smalllsp.server import STATUS_REQUEST

from .conftest import initialize, inline_params, open_document

pytestmark = pytest.mark.e2e

# Long enough that reading the prompt from cold takes seconds on a CPU.
LONG = (
    "".join(f"def function_{i}(value):\n    return value * {i} + {i * 7}\n\n\n" for i in range(120))
    + "def last(value):\n    \n"
)
LAST_LINE = LONG.count("\n") - 1


async def status(client) -> dict:
    return as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))


async def test_cancel_request_stops_generation_and_the_server_keeps_answering(client):
    await initialize(client)
    uri = open_document(client, LONG, name="long.py")
    short = open_document(client, "def add(a, b):\n    \n", name="short.py")
    warm = await client.text_document_inline_completion_async(
        inline_params(short, 1, 4)
    )  # model loaded
    assert warm.items

    request = asyncio.ensure_future(  # pytest-lsp sends a request only once it is scheduled
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            inline_params(uri, LAST_LINE, 4),
            msg_id="cancel-me",
        )
    )
    await asyncio.sleep(0.5)
    client.cancel_request(types.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcRequestCancelled):
        await request

    # The worker notices the cancel at its next token (or prompt chunk).
    for _ in range(50):
        after = await status(client)
        if after["stopped_while_running"]:
            break
        await asyncio.sleep(0.1)
    assert after["stopped_while_running"] == 1
    assert after["pending_jobs"] == 0
    again = await client.text_document_inline_completion_async(inline_params(short, 1, 4))
    assert again.items and again.items[0].insert_text.strip()


async def test_a_newer_request_for_the_same_document_supersedes_the_older(client):
    await initialize(client)
    uri = open_document(client, "def add(a, b):\n    \n\n\ndef sub(a, b):\n    \n", name="two.py")
    first = asyncio.ensure_future(
        client.text_document_inline_completion_async(inline_params(uri, 1, 4))
    )
    await asyncio.sleep(0)
    second = asyncio.ensure_future(
        client.text_document_inline_completion_async(inline_params(uri, 5, 4))
    )
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(results[0], JsonRpcRequestCancelled)
    assert results[1].items


async def test_a_missing_model_is_shown_to_the_user_and_answers_stay_empty(client, tmp_path):
    missing = tmp_path / "nowhere" / "model.gguf"
    await initialize(client, options={"model": str(missing)})
    await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    shown = client.messages[-1]
    assert shown.type == types.MessageType.Error and str(missing) in shown.message

    uri = open_document(client, "def f():\n    \n")
    answer = await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
    assert list(answer.items) == []
    assert (await status(client))["state"] == "failed"


async def test_a_file_that_is_not_gguf_is_refused_by_name(client, tmp_path):
    bogus = tmp_path / "notes.gguf"
    bogus.write_text("this is not a model")
    await initialize(client, options={"model": str(bogus)})
    await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    shown = client.messages[-1]
    assert (
        shown.type == types.MessageType.Error
        and str(bogus) in shown.message
        and "GGUF" in shown.message
    )
    uri = open_document(client, "x = 1\n")
    assert (
        list((await client.text_document_inline_completion_async(inline_params(uri, 1, 0))).items)
        == []
    )


async def test_a_position_past_the_end_and_an_unknown_document_get_clear_errors(client):
    await initialize(client)
    uri = open_document(client, "x = 1\n")
    with pytest.raises(JsonRpcInvalidParams, match="past the end"):
        await client.text_document_inline_completion_async(inline_params(uri, 40, 0))
    with pytest.raises(JsonRpcInvalidParams, match="not open"):
        await client.text_document_inline_completion_async(
            inline_params("file:///nowhere/else.py", 0, 0)
        )
    # a column past the end of a line is the end of that line (LSP)
    answer = await client.text_document_inline_completion_async(inline_params(uri, 0, 99))
    assert isinstance(answer, types.InlineCompletionList)


async def test_plain_text_gets_an_answer_not_an_error(client):
    await initialize(client)
    uri = open_document(
        client, "Shopping list:\n- apples\n- pears\n- ", name="list.txt", language="plaintext"
    )
    answer = await client.text_document_inline_completion_async(inline_params(uri, 3, 2))
    assert isinstance(answer, types.InlineCompletionList)
    assert all("```" not in item.insert_text for item in answer.items)
