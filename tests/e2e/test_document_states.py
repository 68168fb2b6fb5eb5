"""Per-document prompt states with the real default model: coming back to a file reads only what changed."""

import asyncio

import pytest

from smalllsp import modelstore
from smalllsp.config import Config
from smalllsp.engine.kv_states import MIN_REUSE
from smalllsp.engine.llama import LlamaRuntime
from smalllsp.lspclient import as_dict
from smalllsp.server import STATUS_REQUEST

from .conftest import initialize, inline_params, open_document, type_text

pytestmark = pytest.mark.e2e

FIRST = '''"""Shapes and their areas."""

import math


class Circle:
    def __init__(self, radius):
        self.radius = radius

    def area(self):
        return math.pi * self.radius ** 2

    def perimeter(self):
        return 2 * math.pi * self.radius


class Rectangle:
    def __init__(self, width, height):
        self.width = width
        self.height = height

    def area(self):
        return self.width * self.height

    def perimeter(self):
        return 2 * (self.width + self.height)


def total_area(shapes):
    result = 0.0
    for shape in shapes:
'''
SECOND = '''"""Reading a configuration file into a dictionary."""

import json
from pathlib import Path


def load(path):
    with Path(path).open(encoding="utf-8") as handle:
        return json.load(handle)


def save(path, data):
    with Path(path).open("w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)


def get(config, dotted, default=None):
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def merge(base, override):
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
'''
# The cursor: the empty last line of each, in the loop's body.
FIRST_LINE, SECOND_LINE = FIRST.count("\n"), SECOND.count("\n")


@pytest.fixture(scope="module")
def runtime():
    rt = LlamaRuntime(modelstore.resolve(""), Config(n_ctx=1024))
    yield rt
    rt.close()


def prompt(rt, prefix, middle="        "):
    return rt.fim.layout(rt.tokenize(prefix), rt.tokenize("\n"), rt.tokenize(middle))


def test_coming_back_to_a_document_reads_only_what_was_typed_since(runtime):
    first, second = prompt(runtime, FIRST), prompt(runtime, SECOND)
    typed = prompt(runtime, FIRST, "        result +=")
    assert len(first) > 2 * MIN_REUSE and len(second) > 2 * MIN_REUSE
    # What it costs without leaving the document: the reference.
    runtime.use_document("first")
    runtime.generate(first, max_tokens=8)
    stayed = runtime.generate(typed, max_tokens=8)
    runtime.generate(first, max_tokens=8)  # the cache as it was before typing

    runtime.use_document("second")
    away = runtime.generate(second, max_tokens=8)
    assert away.n_reused < MIN_REUSE  # another file: read from (nearly) cold
    runtime.use_document("first")
    back = runtime.generate(typed, max_tokens=8)

    assert runtime.states.restored == 1
    assert back.n_evaluated == stayed.n_evaluated <= len(typed) - len(first) + 1
    assert back.text == stayed.text  # the restored state is the same model state


def test_a_state_is_dropped_when_its_document_changed_above_the_window(runtime):
    dropped, restored = runtime.states.dropped_stale, runtime.states.restored
    runtime.use_document("second")  # saves "first", brings back "second"
    runtime.generate(prompt(runtime, SECOND), max_tokens=0)
    assert "first" in runtime.states and runtime.states.restored == restored + 1
    changed = prompt(runtime, "# a new first line\n" + FIRST)
    runtime.use_document("first")
    cold = runtime.generate(changed, max_tokens=0)
    assert runtime.states.dropped_stale == dropped + 1
    assert "first" not in runtime.states
    assert cold.n_reused < MIN_REUSE and cold.n_evaluated == len(changed) - cold.n_reused


def test_the_status_shows_the_budget_and_its_use(runtime):
    status = runtime.kv_states()
    assert status["budget_mib"] == 128.0
    assert status["documents"] == 1 and 0 < status["used_mib"] < status["budget_mib"]


def test_two_places_in_one_document_keep_their_own_states(runtime):
    """A cold hint and the full window, or two far places of one file: reading one
    does not throw the other away, and coming back reads only what was typed."""
    full, hint = prompt(runtime, FIRST), prompt(runtime, FIRST[-200:])
    typed = prompt(runtime, FIRST, "        result +=")
    runtime.use_document("places")
    runtime.use_region(0)
    runtime.generate(full, max_tokens=0)
    restored = runtime.states.restored
    runtime.use_region(40)
    away = runtime.generate(hint, max_tokens=0)
    assert away.n_reused < MIN_REUSE  # the hint shares little with the full window
    runtime.use_region(0)
    back = runtime.generate(typed, max_tokens=8)
    assert runtime.states.restored == restored + 1
    assert back.n_evaluated <= len(typed) - len(full) + 1
    assert back.text == runtime.generate(typed, max_tokens=8).text  # the same model state


async def test_over_lsp_returning_to_a_file_reuses_its_state(client):
    # Without the ring of other files' chunks (the test after the next has it on).
    await initialize(client, options={"ring_chunks": 0})
    first = open_document(client, FIRST + "        ", name="shapes.py")
    shown = await client.text_document_inline_completion_async(inline_params(first, FIRST_LINE, 8))
    # Typed off the shown suggestion, so the request after it needs the model.
    typed = "x" if not shown.items[0].insert_text.startswith("x") else "y"
    second = open_document(client, SECOND + "        ", name="config_merge.py")
    await client.text_document_inline_completion_async(inline_params(second, SECOND_LINE, 8))
    away = as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))
    type_text(client, first, 2, FIRST_LINE, 8, typed)
    await client.text_document_inline_completion_async(inline_params(first, FIRST_LINE, 9))
    status = as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))
    states = status["kv_states"]
    assert states["budget_mib"] == 128.0 and states["restored"] > away["kv_states"]["restored"]
    last = status["last_generation"]
    # the typed part of the line, read again with its indentation (a few tokens), not the file
    assert last["source"] == "model" and last["n_evaluated"] <= 4, last


def typed_off(shown) -> str:
    """A character that is not what was shown, so the request after it needs the model."""
    text = shown.items[0].insert_text if shown.items else ""
    return "x" if not text.startswith("x") else "y"


async def test_with_the_ring_on_a_return_is_warm_and_the_ring_is_read_while_idle(client):
    """The ring of other files' chunks leads the prompt and a visit elsewhere changes
    it: the returning request keeps the chunks its prompt was read with (its saved
    state serves it), and the ring as it is now is read while the user is idle."""
    await initialize(client, options={"ring_chunks": 8})
    first = open_document(client, FIRST + "        ", name="shapes_ring.py")
    shown = await client.text_document_inline_completion_async(inline_params(first, FIRST_LINE, 8))
    second = open_document(client, SECOND + "        ", name="config_ring.py")
    await client.text_document_inline_completion_async(inline_params(second, SECOND_LINE, 8))

    type_text(client, first, 2, FIRST_LINE, 8, typed_off(shown))
    shown = await client.text_document_inline_completion_async(inline_params(first, FIRST_LINE, 9))
    status = as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))
    back = status["last_generation"]
    paths = [b["path"] for b in back["prompt"]["global_blocks"] if b["kind"] == "chunk"]
    assert "config_ring.py" not in paths, back["prompt"]  # the chunks it was read with
    assert back["n_evaluated"] <= 4, back  # its state, not the file again

    for _ in range(2400):  # the ring as it is now, read in the background
        now = as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))
        if now["ring_reads"] >= 1:
            break
        await asyncio.sleep(0.25)
    assert now["ring_reads"] == 1, now
    type_text(client, first, 3, FIRST_LINE, 9, typed_off(shown))
    await client.text_document_inline_completion_async(inline_params(first, FIRST_LINE, 10))
    after = as_dict(await client.protocol.send_request_async(STATUS_REQUEST, None))[
        "last_generation"
    ]
    paths = [b["path"] for b in after["prompt"]["global_blocks"] if b["kind"] == "chunk"]
    assert paths == ["config_ring.py"], after["prompt"]  # the other file's chunk is in now
    assert after["n_evaluated"] <= 4, after  # and it was read while idle
