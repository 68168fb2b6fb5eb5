"""Inline completions from the real model, for a UTF-8 client (Neovim) and a UTF-16 one (VS Code)."""

import asyncio

import pytest
from lsprotocol import types

from smalllsp.documents import column_to_index, index_to_column
from smalllsp.lspclient import as_dict
from smalllsp.server import STATUS_REQUEST
from smalllsp.pipeline.cutters import indent_width

from .conftest import (
    BODY_EXAMPLE,
    PRESETS,
    adds_no_syntax_errors,
    initialize,
    inline_params,
    open_document,
)

pytestmark = pytest.mark.e2e

BODY = BODY_EXAMPLE

UNICODE = '''def shout(text):
    """Upper-case the text and add the emoji."""
    result = "Ünïcödé 😀: " + text.  # keep the emoji
    return result
'''


@pytest.mark.parametrize("preset", PRESETS)
async def test_completion_of_a_function_body_stays_in_the_block_and_parses(client, preset):
    result = await initialize(client, preset)
    assert result.capabilities.inline_completion_provider is not None
    assert result.capabilities.position_encoding == PRESETS[preset]
    uri = open_document(client, BODY)

    answer = await client.text_document_inline_completion_async(inline_params(uri, 5, 4))

    assert len(answer.items) >= 1
    text = answer.items[0].insert_text
    assert text.strip(), "empty suggestion"
    assert answer.items[0].range == types.Range(types.Position(5, 4), types.Position(5, 4))
    full_lines = ("    " + text).split("\n")
    assert all(indent_width(line) >= 4 for line in full_lines if line.strip()), (
        f"left the function body: {text!r}"
    )
    assert "```" not in text and "__main__" not in text
    assert adds_no_syntax_errors(BODY, 5, 4, text), f"adds syntax errors: {text!r}"


@pytest.mark.parametrize("preset", PRESETS)
async def test_columns_are_read_in_the_negotiated_encoding(client, preset):
    await initialize(client, preset)
    uri = open_document(client, UNICODE, name="unicode.py")
    line = UNICODE.split("\n")[2]
    index = line.index("text.") + len("text.")
    column = index_to_column(line, index, PRESETS[preset])
    assert column != index  # the line's non-ASCII characters make the units differ

    answer = await client.text_document_inline_completion_async(inline_params(uri, 2, column))

    assert answer.items, "no suggestion"
    item = answer.items[0]
    assert item.range.start == types.Position(2, column)
    text = item.insert_text
    assert "\n" not in text  # mid-line: one line only
    assert text[:1].isidentifier(), f"not a continuation of 'text.': {text!r}"
    assert column_to_index(line, column, PRESETS[preset]) == index
    assert adds_no_syntax_errors(UNICODE, 2, index, text), f"adds syntax errors: {text!r}"


async def test_classic_completion_carries_the_suggestion_as_a_text_edit(client):
    await initialize(client)
    uri = open_document(client, BODY)
    answer = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(5, 4))
    )
    assert len(answer.items) == 1
    item = answer.items[0]
    assert "model suggestion" in item.detail
    assert item.text_edit.range == types.Range(types.Position(5, 4), types.Position(5, 4))
    assert item.text_edit.new_text.strip()


async def test_typing_along_reuses_the_document_state(client):
    """Incremental changes reach the model: after typing 'return', the suggestion continues it."""
    await initialize(client)
    uri = open_document(client, BODY)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(2, uri),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(5, 4), types.Position(5, 4)), text="return "
                )
            ],
        )
    )
    answer = await client.text_document_inline_completion_async(inline_params(uri, 5, 11))
    assert answer.items
    text = answer.items[0].insert_text
    assert not text.startswith("return") and not text.startswith(" ")
    assert adds_no_syntax_errors(BODY.replace("    \n", "    return \n", 1), 5, 11, text)


async def test_a_keystroke_reevaluates_only_what_was_typed_on_the_line(client):
    """The KV cache keeps the prefix and suffix windows: a keystroke costs the typed tokens."""
    await initialize(client)
    uri = open_document(client, BODY)
    first = await client.text_document_inline_completion_async(inline_params(uri, 5, 4))
    assert first.items
    cold = (await status(client))["last_generation"]
    assert cold["n_evaluated"] == cold["n_prompt"] > 40  # the whole window, the first time

    # "zq" is not how the suggestion goes on, so the model is asked each time.
    for column, char in enumerate("zq", start=4):
        type_at(client, uri, 5, column, char, version=column)
        await client.text_document_inline_completion_async(inline_params(uri, 5, column + 1))
        warm = (await status(client))["last_generation"]
        assert warm["source"] == "model"
        typed_tokens = (
            column + 1 - 4 + 1
        )  # at most a token per typed character, plus the indentation
        assert warm["n_evaluated"] <= typed_tokens, warm
        assert warm["n_reused"] >= warm["n_prompt"] - typed_tokens


async def test_typing_along_a_suggestion_is_answered_from_the_cache(client):
    await initialize(client)
    uri = open_document(client, BODY)
    first = (
        (await client.text_document_inline_completion_async(inline_params(uri, 5, 4)))
        .items[0]
        .insert_text
    )
    assert len(first) > 2, first
    type_at(client, uri, 5, 4, first[:2], version=2)
    answer = await client.text_document_inline_completion_async(inline_params(uri, 5, 6))
    assert answer.items[0].insert_text == first[2:]
    state = await status(client)
    assert state["last_generation"]["source"] == "cache" and state["suggestion_cache_hits"] == 1


async def test_a_settings_change_empties_the_suggestion_cache(client):
    """A suggestion made under other settings (global_tokens, cross_file_policy,
    model) must not be shown from the cache after they change."""
    await initialize(client)
    uri = open_document(client, BODY)
    first = (
        (await client.text_document_inline_completion_async(inline_params(uri, 5, 4)))
        .items[0]
        .insert_text
    )
    assert len(first) > 2, first
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"global_tokens": 0})
    )
    type_at(client, uri, 5, 4, first[:2], version=2)
    await client.text_document_inline_completion_async(inline_params(uri, 5, 6))
    state = await status(client)
    assert state["last_generation"]["source"] == "model" and state["suggestion_cache_hits"] == 0, (
        state
    )


def type_at(client, uri, line, column, text, version):
    here = types.Position(line, column)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version, uri),
            [types.TextDocumentContentChangePartial(range=types.Range(here, here), text=text)],
        )
    )


async def status(client) -> dict:
    return as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))


async def test_opening_a_document_warms_the_cache(client):
    await initialize(client)
    uri = open_document(client, BODY)
    for _ in range(100):  # the warm-up runs in the background after didOpen
        await asyncio.sleep(0.1)
        if (await status(client))["pending_jobs"] == 0 and (await status(client))[
            "state"
        ] == "ready":
            break
    await asyncio.sleep(1.0)
    await client.text_document_inline_completion_async(inline_params(uri, 5, 4))
    first = (await status(client))["last_generation"]
    assert first["source"] == "model"
    # the prompt up to the cursor line was read at didOpen: the first request is not cold
    assert first["n_reused"] > first["n_prompt"] // 3, first


async def test_past_the_time_budget_generation_ends_at_the_next_line_break(client):
    await initialize(client, options={"time_budget_ms": 1})
    uri = open_document(client, "def total(values):\n    \n")
    answer = await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
    last = (await status(client))["last_generation"]
    assert last["stop_reason"] == "time_budget", last
    assert all("\n" not in item.insert_text for item in answer.items)
