"""The speculative next suggestion, with the real server and model: served after Tab, not after another keystroke."""

import asyncio

import pytest

from smalllsp.lspclient import as_dict
from smalllsp.server import STATUS_REQUEST

from .conftest import initialize, inline_params, open_document, type_text

pytestmark = pytest.mark.e2e

SOURCE = """import math


def circle_area(radius):
    return math.pi * radius ** 2


def square_area(side):
    return side ** 2


def rectangle_area(width, height):
    """
LINE, COLUMN = SOURCE.count("\n"), 4


async def status(client):
    return as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))


async def speculation_settled(client, started: int, timeout_s: float = 600) -> dict:
    """Wait until the speculation started after the last shown suggestion is ready or gave up."""
    for _ in range(int(timeout_s / 0.5)):
        now = (await status(client))["speculation"]
        if now["started"] >= started and now["ready"] + now["cancelled"] >= started:
            return now
        await asyncio.sleep(0.5)
    raise AssertionError(f"the speculation did not finish: {now}")


def end_of(line, column, text):
    if "\n" in text:
        return line + text.count("\n"), len(text.rsplit("\n", 1)[1])
    return line, column + len(text)


async def test_after_accepting_a_suggestion_the_next_one_is_already_there(client):
    await initialize(client, options={"warmup": False, "speculate_next": True})
    uri = open_document(client, SOURCE, name="areas.py")
    shown = await client.text_document_inline_completion_async(inline_params(uri, LINE, COLUMN))
    suggestion = shown.items[0].insert_text
    assert suggestion.strip()
    ready = await speculation_settled(client, 1)
    assert ready["ready"] == 1, ready

    type_text(client, uri, 2, LINE, COLUMN, suggestion)  # Tab: the whole suggestion
    line, column = end_of(LINE, COLUMN, suggestion)
    await client.text_document_inline_completion_async(inline_params(uri, line, column))

    after = await status(client)
    assert after["last_generation"]["source"] == "speculation", after["last_generation"]
    assert after["speculation"]["served"] == 1


async def test_a_keystroke_off_the_suggestion_is_not_served_the_speculation(client):
    await initialize(client, options={"warmup": False, "speculate_next": True})
    uri = open_document(client, SOURCE, name="areas_stale.py")
    shown = await client.text_document_inline_completion_async(inline_params(uri, LINE, COLUMN))
    suggestion = shown.items[0].insert_text
    await speculation_settled(client, 1)

    typed = "#" if not suggestion.startswith("#") else "x"  # not what was shown
    type_text(client, uri, 2, LINE, COLUMN, typed)
    await client.text_document_inline_completion_async(inline_params(uri, LINE, COLUMN + 1))

    after = await status(client)
    assert after["last_generation"]["source"] == "model"
    assert after["speculation"]["served"] == 0


async def test_tab_pressed_while_the_speculation_runs_waits_for_it(client):
    """No pause to read: the request after Tab comes while the speculation for that
    very state still runs; it is answered by it, not by stopping it and starting over."""
    await initialize(client, options={"warmup": False, "speculate_next": True})
    uri = open_document(client, SOURCE, name="areas_at_once.py")
    shown = await client.text_document_inline_completion_async(inline_params(uri, LINE, COLUMN))
    suggestion = shown.items[0].insert_text
    type_text(client, uri, 2, LINE, COLUMN, suggestion)  # Tab at once
    line, column = end_of(LINE, COLUMN, suggestion)
    await client.text_document_inline_completion_async(inline_params(uri, line, column))

    after = await status(client)
    assert after["last_generation"]["source"] == "speculation", after["last_generation"]
    assert after["speculation"]["served"] == 1 and after["speculation"]["cancelled"] == 0
    assert after["speculation"]["joined"] == 1, after["speculation"]
