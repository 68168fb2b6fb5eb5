"""Issue 16 over stdio with the real model: the server keeps reading its input,
whatever the size of a document or the length of a line.

Before the fix, on this 2-core machine: the didOpen of a 200,000-line
document held the loop 42.7 s (a status request waited that long), one edit
of it 117.7 s; 20,000 edits in one didChange got no answer within 30 s; an
8,000-character cursor line was answered with an internal error carrying a
traceback.

STATUS_BOUND_S is chosen from measurements: with the fix, over four runs at
load average 4.8-8 (the model running, three other engineers' suites on the
same two cores), a status request took at most 0.038-0.061 s while the big
document was opened and edited, 0.074-0.081 s after the edit of a 5 MB line
and 0.36-1.0 s after the didChange of 20,000 edits (reading and structuring
that message is most of it). A freeze is tens of seconds.
"""

from __future__ import annotations

import hashlib
import time

import pytest

from .conftest import BODY_EXAMPLE
from .rawlsp import RawServer

pytestmark = pytest.mark.e2e

STATUS_BOUND_S = 3.0
BIG_LINES = 200_000

# One block of the big document (7 lines); the last block ends with the function the cursor is in.
BLOCK = '''def area_{i}(radius):
    """Area of circle number {i}."""
    pi = 3.14159
    return pi * radius * radius


value_{i} = area_{i}(2)
'''
TAIL = '''def circumference(radius):
    """Return the circumference of a circle with the given radius."""
    

def unrelated():
    return 42
'''


def big_document() -> str:
    blocks = (BIG_LINES - TAIL.count("\n")) // BLOCK.count("\n")
    text = "".join(BLOCK.format(i=i) for i in range(blocks))
    return text + "\n" * (BIG_LINES - TAIL.count("\n") - text.count("\n")) + TAIL


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("never-freeze")
    raw = RawServer(log_level="INFO", cwd=str(workspace))
    answer = raw.initialize(
        {
            "time_budget_ms": 120_000,
            "max_tokens": 48,
            "prefix_tokens": 256,
            "suffix_tokens": 64,
            "global_tokens": 256,
        }
    )
    assert "result" in answer, answer
    assert raw.wait_loaded()["state"] == "ready"
    raw.workspace = workspace
    yield raw
    raw.close()


def timed_status(server: RawServer) -> float:
    started = time.monotonic()
    status = server.status(timeout=120)
    assert status["state"] == "ready"
    return time.monotonic() - started


def send_request(server: RawServer, method: str, params: dict) -> str:
    msg_id = server.next_id()
    server.send({"id": msg_id, "method": method, "params": params})
    return msg_id


def inline(uri: str, line: int, character: int) -> dict:
    return {
        "textDocument": {"uri": uri},
        "position": {"line": line, "character": character},
        "context": {"triggerKind": 2},
    }


def document_state(server: RawServer, uri: str) -> dict:
    return server.request("smalllsp/documentState", {"uri": uri}, timeout=120)["result"]


def open_doc(server: RawServer, name: str, text: str, language: str = "python") -> str:
    uri = (server.workspace / name).as_uri()
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
    )
    return uri


def test_a_200k_line_document_being_edited_never_stops_the_server_answering(server):
    text = big_document()
    assert text.count("\n") == BIG_LINES
    waits = []
    big = open_doc(server, "big.py", text)
    waits.append(timed_status(server))
    small = open_doc(server, "small.py", BODY_EXAMPLE)
    small_id = send_request(server, "textDocument/inlineCompletion", inline(small, 5, 4))
    lines = text.split("\n")
    for i in range(20):  # spread over the document, each replacing one line
        row = i * (BIG_LINES // 20) + 3
        new = f"    pi = 3.1416  # edit {i}"
        server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": big, "version": i + 2},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": row, "character": 0},
                            "end": {"line": row, "character": len(lines[row])},
                        },
                        "text": new,
                    }
                ],
            },
        )
        lines[row] = new
        waits.append(timed_status(server))
        if i % 5 == 0:  # a request of the small document meanwhile, superseding the one in flight
            server.answer(small_id, timeout=300)
            small_id = send_request(server, "textDocument/inlineCompletion", inline(small, 5, 4))
    small_answer = server.answer(small_id, timeout=300)
    assert small_answer["result"]["items"], f"no suggestion for the small document: {small_answer}"
    assert small_answer["result"]["items"][0]["insertText"].strip()

    expected = "\n".join(lines)
    state = document_state(server, big)
    assert (state["version"], state["length"]) == (21, len(expected))
    assert state["sha256"] == hashlib.sha256(expected.encode()).hexdigest()

    # Near the end, inside the last function: cut to that function like anywhere else.
    row = BIG_LINES - TAIL.count("\n") + 2
    assert lines[row] == "    "
    big_id = send_request(server, "textDocument/inlineCompletion", inline(big, row, 4))
    for _ in range(3):
        waits.append(timed_status(server))
    big_answer = server.answer(big_id, timeout=300)
    items = big_answer["result"]["items"]
    assert items, f"no suggestion near the end of the big document: {big_answer}"
    suggestion = items[0]["insertText"]
    body = ("    " + suggestion).split("\n")
    assert all(line.startswith("    ") for line in body if line.strip()), (
        f"left the function: {suggestion!r}"
    )
    assert "def unrelated" not in suggestion and "__main__" not in suggestion
    status = server.status()
    assert (
        status["last_generation"]["prompt"]["window_lines"][1] >= row
    )  # the window is the cursor's
    assert status["trees"]["trees"] == 1  # the small one: the big one is over max_document_kb
    assert "over max_document_kb" in server.log() and server.log().count("big.py is ") == 1
    print(
        f"status waits: max {max(waits):.3f} s, mean {sum(waits) / len(waits):.3f} s over {len(waits)}"
    )
    assert max(waits) < STATUS_BOUND_S, waits
    server.notify("textDocument/didClose", {"textDocument": {"uri": big}})
    server.notify("textDocument/didClose", {"textDocument": {"uri": small}})
    assert server.status()["documents"] == 0


def test_an_edit_on_a_5_mb_line_and_20000_edits_in_one_did_change(server):
    line = "var a=1;" * (5 * 1024 * 1024 // 8)
    uri = open_doc(server, "bundle.js", line + "\n", "javascript")
    middle = len(line) // 2
    server.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": 0, "character": middle},
                        "end": {"line": 0, "character": middle + 1},
                    },
                    "text": "V",
                }
            ],
        },
    )
    wait = timed_status(server)
    print(f"status after an edit on a 5 MB line: {wait:.3f} s")
    expected = line[:middle] + "V" + line[middle + 1 :] + "\n"
    assert document_state(server, uri)["sha256"] == hashlib.sha256(expected.encode()).hexdigest()
    assert wait < STATUS_BOUND_S

    edits = [
        {
            "range": {"start": {"line": 0, "character": k}, "end": {"line": 0, "character": k + 1}},
            "text": "b",
        }
        for k in range(0, 160_000, 8)
    ]  # 20,000 edits: every "v" of the first 20,000 statements
    assert len(edits) == 20_000
    server.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 3}, "contentChanges": edits},
    )
    wait = timed_status(server)
    expected = "bar a=1;" * 20_000 + expected[160_000:]
    state = document_state(server, uri)
    assert (
        state["version"] == 3 and state["sha256"] == hashlib.sha256(expected.encode()).hexdigest()
    )
    print(f"status after 20,000 edits in one didChange: {wait:.3f} s")
    assert wait < STATUS_BOUND_S
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def test_an_8000_character_cursor_line_is_answered_within_the_context(server):
    blob = "QmFzZTY0IGlzIGFuIGVuY29kaW5n" * 286  # 8,008 base64 characters
    text = f"import base64\n\n\ndef payload():\n    data = '{blob}\n    return data\n"
    uri = open_doc(server, "payload.py", text)
    column = len(f"    data = '{blob}")
    answer = server.request("textDocument/inlineCompletion", inline(uri, 4, column), timeout=300)
    assert "error" not in answer, answer
    assert isinstance(answer["result"]["items"], list)
    generation = server.status()["last_generation"]
    assert generation["n_prompt"] + 48 <= 4096, generation
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def test_a_closed_minified_file_costs_later_completions_nothing(server):
    minified = "function a(b){return b+1};" * 40_000  # 1 MB on one line
    uri = open_doc(server, "lib.min.js", minified + "\n", "javascript")
    timed_status(server)
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert timed_status(server) < STATUS_BOUND_S
    small = open_doc(server, "after.py", BODY_EXAMPLE)
    answer = server.request("textDocument/inlineCompletion", inline(small, 5, 4), timeout=300)
    assert answer["result"]["items"], answer
    prompt = server.status()["last_generation"]["prompt"]
    chunks = [block for block in prompt["global_blocks"] if block["path"] == "lib.min.js"]
    # the ring keeps at most 512 characters of the line: well under 512 tokens, never 250,000
    assert all(block["tokens"] <= 300 for block in chunks), chunks
    assert prompt["tokens"] + 48 <= 4096
    server.notify("textDocument/didClose", {"textDocument": {"uri": small}})
