"""The cold first hint with the real server and model: a small prompt first, then the full window warms."""

import asyncio

import pytest

from smalllsp.lspclient import as_dict
from smalllsp.server import STATUS_REQUEST

from .conftest import initialize, inline_params, open_document, type_text

pytestmark = pytest.mark.e2e

SHORT = "".join(f"def f{i}(x):\n    return x * {i}\n\n" for i in range(12))
LONG = "".join(
    f"def handler_{i}(request, response):\n"
    f"    value = request.get('field_{i}', {i})\n"
    f"    response.write(str(value * {i}))\n"
    f"    return response\n\n"
    for i in range(60)
)
LINE = LONG.count("\n") // 2 - (LONG.count("\n") // 2) % 5 + 1  # the first line of a body


async def status(client):
    return as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))


async def test_a_cold_request_gets_a_small_hint_then_the_full_window_is_warmed(client):
    await initialize(client, options={"cold_latency_ms": 1500})
    short = open_document(client, SHORT, name="short_cold.py")
    await client.text_document_inline_completion_async(inline_params(short, 1, 4))  # speed measured
    long = open_document(client, LONG, name="long_cold.py")
    await client.text_document_inline_completion_async(inline_params(long, LINE, 4))
    hint = (await status(client))["last_generation"]
    assert hint.get("cold_hint") is True, hint

    for _ in range(1200):  # the warm-up of the full window, in the background
        now = await status(client)
        if not now["busy"] and now["pending_jobs"] == 0:
            break
        await asyncio.sleep(0.5)
    type_text(client, long, 2, LINE, 4, "#")
    await client.text_document_inline_completion_async(inline_params(long, LINE, 5))
    full = (await status(client))["last_generation"]
    assert full["source"] == "model" and "cold_hint" not in full, full
    assert full["n_prompt"] > hint["n_prompt"]  # the whole window now
    assert full["n_evaluated"] <= 4, full  # and it was read ahead: only the typed part is new
