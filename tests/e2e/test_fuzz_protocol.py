"""Property-based fuzzing of the running server over raw stdio (hypothesis).

One server with the real default model serves the whole module. Each
example sends it malformed or hostile JSON-RPC and checks the answer: every
request whose id can be read gets an answer with that id (a result, or the
JSON-RPC error that fits, never an internal error); a message whose id cannot
be read gets an error with a null id; a bad notification gets nothing. After
each example the server still answers a correct request, and the documents
it holds equal an independent model of what the client sent.

The example counts are fixed and the generation is derandomized, so CI runs
the same messages every time (about 1,200). ``SMALLLSP_FUZZ_SCALE=20``
multiplies the counts and draws fresh examples, for a longer run by hand;
``SMALLLSP_FUZZ_REPORT=path`` writes the number of messages and the time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from .rawlsp import RawServer

pytestmark = pytest.mark.e2e

SCALE = int(os.environ.get("SMALLLSP_FUZZ_SCALE", "1"))
FUZZ = settings(
    deadline=None,
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
# A marker in every document the fuzzer opens: it must never reach the log at INFO.
MARKER = "fuzz-secret-4d1e"
INTERNAL_ERROR = -32603
SENT = {"messages": 0, "started": time.monotonic()}


@pytest.fixture(scope="module")
def server():
    raw = RawServer(log_level="INFO")
    answer = raw.initialize(
        {
            # short prompts and answers: the fuzzer tests the protocol, and CI machines are busy
            "max_tokens": 8,
            "max_lines": 2,
            "prefix_tokens": 128,
            "suffix_tokens": 32,
            "global_tokens": 0,
            "warmup": False,
            "workspace_index": False,
            "time_budget_ms": 60_000,
            "n_threads": 1,
        }
    )
    assert "result" in answer, answer
    assert raw.wait_loaded()["state"] == "ready"
    yield raw
    log = raw.log()
    code = raw.close()
    report = os.environ.get("SMALLLSP_FUZZ_REPORT")
    if report:
        Path(report).write_text(
            json.dumps(
                {
                    "messages": SENT["messages"],
                    "seconds": round(time.monotonic() - SENT["started"], 1),
                }
            )
        )
    assert code == 0
    assert MARKER not in log, "document text reached the log at INFO"
    assert "Traceback" not in log, log[-4000:]


def send(server: RawServer, message, *, raw_bytes: bool = False) -> None:
    SENT["messages"] += 1
    if raw_bytes:
        server.send_bytes(message)
    else:
        server.send(message, jsonrpc=False)


def still_serving(server: RawServer) -> dict:
    """A correct request gets a correct answer; nothing piles up."""
    status = server.status(timeout=60)
    SENT["messages"] += 1
    assert status["state"] == "ready"
    assert status["protocol_futures"] <= 2, status
    return status


# -- JSON values and envelopes ----------------------------------------------------

text = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=40
)  # surrogates, NUL, astral
scalars = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)

REQUESTS = [
    "textDocument/inlineCompletion",
    "textDocument/completion",
    "smalllsp/status",
    "smalllsp/documentState",
    "workspace/executeCommand",
    "initialize",
    "textDocument/hover",
    "$/unknown",
]
NOTIFICATIONS = [
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didClose",
    "$/cancelRequest",
    "initialized",
    "$/setTrace",
    "workspace/didChangeWorkspaceFolders",
    "window/workDoneProgress/cancel",
]
methods = st.sampled_from(REQUESTS + NOTIFICATIONS) | st.text(max_size=20)
positions = st.fixed_dictionaries(
    {"line": st.integers(-5, 2**40) | scalars, "character": st.integers(-5, 2**40) | scalars}
)
FUZZ_URI = "file:///fuzz/untracked.py"


@st.composite
def lsp_params(draw, method: str):
    """Params shaped like the method's, with any field missing, mistyped or out of range."""
    document = {"uri": draw(st.sampled_from([FUZZ_URI, "file:///fuzz/never-opened.py", ""]) | text)}
    shapes = {
        "textDocument/inlineCompletion": {
            "textDocument": document,
            "position": draw(positions),
            "context": {"triggerKind": draw(st.integers(0, 3) | scalars)},
        },
        "textDocument/completion": {"textDocument": document, "position": draw(positions)},
        "smalllsp/documentState": {"uri": document["uri"]},
        "textDocument/didOpen": {
            "textDocument": {
                **document,
                "languageId": draw(text),
                "version": draw(st.integers() | scalars),
                "text": MARKER + draw(text),
            }
        },
        "textDocument/didChange": {
            "textDocument": {**document, "version": draw(st.integers() | scalars)},
            "contentChanges": draw(
                st.lists(
                    st.fixed_dictionaries(
                        {"text": st.just(MARKER) | text},
                        optional={
                            "range": st.fixed_dictionaries({"start": positions, "end": positions})
                            | json_values
                        },
                    ),
                    max_size=3,
                )
                | json_values
            ),
        },
        "textDocument/didClose": {"textDocument": document},
        "$/cancelRequest": {"id": draw(scalars)},
        "workspace/executeCommand": {
            "command": draw(st.just("smalllsp.accepted") | text),
            "arguments": draw(json_values),
        },
    }
    params = shapes.get(method)
    if params is None or draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    # Drop or replace one field now and then.
    if draw(st.booleans()):
        key = draw(st.sampled_from(sorted(params)))
        if draw(st.booleans()):
            del params[key]
        else:
            params[key] = draw(json_values)
    return params


@st.composite
def envelopes(draw):
    """A JSON-RPC message with each part valid, missing or of the wrong type; and what the server owes."""
    method = draw(methods)
    message = {}
    jsonrpc = draw(st.sampled_from(["2.0", "2.0", "2.0", "1.0", 2, None, "absent"]))
    if jsonrpc != "absent":
        message["jsonrpc"] = jsonrpc
    id_kind = draw(
        st.sampled_from(
            ["int", "str", "absent", "absent", "null", "float", "bool", "list", "object"]
        )
    )
    shape = draw(st.integers(0, 19))
    if shape == 0:
        message["method"] = draw(scalars)
    elif shape == 1:  # a response from the client (no method): never answered
        message[draw(st.sampled_from(["result", "error", "neither"]))] = draw(json_values)
        return message, id_kind
    else:
        message["method"] = method
    if draw(st.integers(0, 9)):
        message["params"] = draw(lsp_params(method if isinstance(message["method"], str) else ""))
    return message, id_kind


def unique_id(kind: str, n: int):
    return {
        "int": 10_000_000 + n,
        "str": f"fuzz-{n}",
        "null": None,
        "float": n + 0.5,
        "bool": bool(n % 2),
        "list": [n],
        "object": {"n": n},
    }[kind]


@settings(FUZZ, max_examples=150 * SCALE)
@given(batch=st.lists(envelopes(), min_size=1, max_size=6))
def test_any_envelope_is_answered_or_dropped_and_the_server_keeps_serving(server, batch):
    expected: list = []
    nulls = 0
    for index, (message, id_kind) in enumerate(batch):
        n = SENT["messages"] * 10 + index
        if id_kind != "absent":
            message["id"] = unique_id(id_kind, n)
        if message.get("method") in ("shutdown", "exit", "workspace/didChangeConfiguration"):
            continue  # the life cycle and settings have tests of their own
        note(json.dumps(message)[:500])
        send(server, message)
        readable_id = id_kind in ("int", "str")
        if "method" not in message:
            pass  # a response: logged and dropped, whatever its id
        elif id_kind in ("null", "float", "bool", "list", "object"):
            nulls += 1
        elif (
            readable_id
            and message.get("jsonrpc") == "2.0"
            and not isinstance(message.get("method"), str)
        ):
            expected.append((message["id"], {-32600}))
        elif readable_id:
            expected.append((message["id"], None))
        elif message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"), str):
            pass  # an id-less bad message: logged and dropped (a notification gets no answer)
    for msg_id, codes in expected:
        answer = server.answer(msg_id, timeout=60)
        error = answer.get("error")
        assert ("result" in answer) != (error is not None), answer
        if error is not None:
            assert error["code"] != INTERNAL_ERROR, answer
            assert codes is None or error["code"] in codes, answer
    still_serving(server)
    got_nulls = server.take_null_id_answers()
    assert len(got_nulls) == nulls, got_nulls
    assert all(a["error"]["code"] == -32600 for a in got_nulls)


@settings(FUZZ, max_examples=100 * SCALE)
@given(
    body=st.binary(min_size=1, max_size=200)
    | st.text(min_size=1, max_size=200).map(str.encode)
    | st.builds(
        lambda value, cut: json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": "smalllsp/status", "params": value}
        ).encode()[:cut],
        json_values,
        st.integers(1, 60),
    )
)
def test_bodies_that_are_not_json_get_a_parse_error(server, body):
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        parsed = None
    assume(parsed is None)  # valid JSON is the other test's
    send(server, body, raw_bytes=True)
    still_serving(server)
    answers = server.take_null_id_answers()
    assert [a["error"]["code"] for a in answers] == [-32700]


def test_deep_nesting_and_a_frame_that_is_not_utf8(server):
    send(server, b"[" * 100_000 + b"]" * 100_000, raw_bytes=True)
    send(
        server,
        b'{"jsonrpc": "2.0", "id": "bad-utf8", "method": "smalllsp/status", "params": "\xff\xfe"}',
        raw_bytes=True,
    )
    still_serving(server)
    assert [a["error"]["code"] for a in server.take_null_id_answers()] == [-32700, -32700]


# -- documents: the server's copy against an independent model ----------------------

BREAK = re.compile(r"\r\n|\r|\n")
SURROGATE = re.compile("[\ud800-\udfff]")


def utf16_offset(line: str, character: int) -> int:
    units = 0
    for index, char in enumerate(line):
        width = 2 if ord(char) > 0xFFFF else 1
        if units + width > character:
            return index
        units += width
    return len(line)


def model_offset(text: str, line: int, character: int) -> int:
    """Where an LSP position (UTF-16) falls in ``text``: past the last line is
    the end of the text, past the end of a line the end of that line."""
    starts, ends = [0], []
    for match in BREAK.finditer(text):
        ends.append(match.start())
        starts.append(match.end())
    ends.append(len(text))
    if line >= len(starts):
        return len(text)
    return starts[line] + utf16_offset(text[starts[line] : ends[line]], character)


def as_sent(text: str) -> str:
    """``text`` as the server reads it from JSON (an escaped surrogate pair becomes one character)."""
    return json.loads(json.dumps(text))


def sha(text: str) -> str:
    return hashlib.sha256(SURROGATE.sub("\ufffd", text).encode("utf-8")).hexdigest()


doc_text = st.lists(
    st.characters(codec=None, exclude_categories=())
    | st.sampled_from(["\n", "\r\n", "\r", "    ", "def f(x):", "😀", "é"]),
    max_size=30,
).map("".join)
small_positions = st.fixed_dictionaries(
    {
        "line": st.integers(0, 8) | st.integers(-3, 2**31 - 1),
        "character": st.integers(0, 12) | st.integers(-3, 2**31 - 1),
    }
)
change = st.fixed_dictionaries(
    {"text": doc_text},
    optional={"range": st.fixed_dictionaries({"start": small_positions, "end": small_positions})},
)
operations = st.one_of(
    st.tuples(st.just("change"), st.lists(change, min_size=1, max_size=3)),
    st.tuples(st.just("bad-change"), json_values),
    st.tuples(st.just("complete"), small_positions),
    st.tuples(
        st.just("reopen"),
        doc_text,
        st.sampled_from(["python", "zz-unknown", "", "plaintext", "rust"]) | text,
    ),
)


class DocumentModel:
    """What the client believes the document holds."""

    def __init__(self, uri: str, text: str, version: int) -> None:
        self.uri, self.text, self.version = uri, text, version

    def apply(self, changes: list[dict], version: int) -> None:
        for item in changes:  # negative positions: the server drops the notification
            for end in ("start", "end"):
                if "range" in item and (
                    item["range"][end]["line"] < 0 or item["range"][end]["character"] < 0
                ):
                    return
        text = self.text
        for item in changes:
            if "range" not in item:
                text = as_sent(item["text"])
                continue
            start = model_offset(
                text, item["range"]["start"]["line"], item["range"]["start"]["character"]
            )
            end = model_offset(
                text, item["range"]["end"]["line"], item["range"]["end"]["character"]
            )
            if end < start:
                return  # the server refuses the whole batch, and keeps what it had
            text = text[:start] + as_sent(item["text"]) + text[end:]
        self.text, self.version = text, version


def assert_in_step(server: RawServer, model: DocumentModel) -> None:
    answer = server.request("smalllsp/documentState", {"uri": model.uri}, timeout=60)
    state = answer["result"]
    assert state["open"] and state["version"] == model.version
    assert state["sha256"] == sha(model.text), (state, model.text)


@settings(FUZZ, max_examples=60 * SCALE)
@given(initial=doc_text, steps=st.lists(operations, min_size=1, max_size=8))
def test_documents_stay_in_step_through_bad_changes_and_positions(server, initial, steps):
    uri = f"file:///fuzz/tracked-{SENT['messages']}.py"
    model = DocumentModel(uri, MARKER + as_sent(initial), 1)
    send(
        server,
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": uri,
                    "languageId": "python",
                    "version": 1,
                    "text": model.text,
                }
            },
        },
    )
    requests = []
    for step in steps:
        kind = step[0]
        if kind == "change":
            version = model.version + 1
            send(
                server,
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didChange",
                    "params": {
                        "textDocument": {"uri": uri, "version": version},
                        "contentChanges": step[1],
                    },
                },
            )
            model.apply(step[1], version)
        elif kind == "bad-change":
            send(
                server,
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didChange",
                    "params": {
                        "textDocument": {"uri": uri, "version": "x"},
                        "contentChanges": step[1],
                    },
                },
            )
        elif kind == "reopen":
            model = DocumentModel(uri, MARKER + as_sent(step[1]), model.version + 1)
            send(
                server,
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didOpen",
                    "params": {
                        "textDocument": {
                            "uri": uri,
                            "languageId": step[2],
                            "version": model.version,
                            "text": model.text,
                        }
                    },
                },
            )
        else:
            msg_id = f"complete-{SENT['messages']}"
            send(
                server,
                {
                    "jsonrpc": "2.0",
                    "id": msg_id,
                    "method": "textDocument/inlineCompletion",
                    "params": {
                        "textDocument": {"uri": uri},
                        "position": step[1],
                        "context": {"triggerKind": 1},
                    },
                },
            )
            requests.append((msg_id, step[1], BREAK.split(model.text)))
    for msg_id, position, lines in requests:
        answer = server.answer(msg_id, timeout=120)
        if "result" in answer:
            assert isinstance(answer["result"]["items"], list)
            assert 0 <= position["line"] < len(lines)
            continue
        code = answer["error"]["code"]
        negative = position["line"] < 0 or position["character"] < 0
        assert code == -32800 or (
            code == -32602 and (negative or position["line"] >= len(lines))
        ), (answer, position, len(lines))
    assert_in_step(server, model)
    send(
        server,
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didClose",
            "params": {"textDocument": {"uri": uri}},
        },
    )
    still_serving(server)


def test_a_correct_completion_after_all_that_is_a_real_suggestion(server):
    uri = "file:///fuzz/after.py"
    send(
        server,
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": uri,
                    "languageId": "python",
                    "version": 1,
                    "text": "def add(a, b):\n    \n",
                }
            },
        },
    )
    answer = server.request(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": uri},
            "position": {"line": 1, "character": 4},
            "context": {"triggerKind": 1},
        },
        timeout=120,
    )
    assert answer["result"]["items"] and "return" in answer["result"]["items"][0]["insertText"]
    status = still_serving(server)
    assert status["pending_jobs"] == 0 and status["documents"] <= 3


# -- big, binary and unknown documents ---------------------------------------------------


def test_a_10_mb_document_binary_content_and_unknown_languages(server):
    big = (
        MARKER
        + "\n"
        + "".join(
            f"def function_{i}(value):\n    return value * {i}\n\n" for i in range(10_000_000 // 40)
        )
    )
    assert len(big) >= 10_000_000
    uri = "file:///fuzz/big.py"
    started = time.monotonic()
    send(
        server,
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": big}
            },
        },
    )
    model = DocumentModel(uri, big, 1)
    last_line = len(BREAK.split(big)) - 1
    for version, (line, text) in enumerate(
        [(last_line, "def tail(x):\n    "), (0, "# top\n"), (last_line // 2, "\x00")], start=2
    ):
        change = {
            "range": {
                "start": {"line": line, "character": 0},
                "end": {"line": line, "character": 0},
            },
            "text": text,
        }
        send(
            server,
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [change],
                },
            },
        )
        model.apply([change], version)
    assert_in_step(server, model)
    assert (
        time.monotonic() - started < 30
    )  # opening and editing 10 MB (each change used to scan every line in Python)
    answer = server.request(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": uri},
            "position": {"line": last_line + 2, "character": 4},
            "context": {"triggerKind": 1},
        },
        timeout=180,
    )
    assert isinstance(answer["result"]["items"], list)
    send(
        server,
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didClose",
            "params": {"textDocument": {"uri": uri}},
        },
    )

    for language, body in (
        ("python", "\x00\x01\x02\ufffe\x7f binary\x00\n\x1b[31m"),
        ("zz-no-such-language", "fn main() {\n    \n}\n"),
        ("", "x = 1\n"),
    ):
        uri = f"file:///fuzz/odd-{len(language)}"
        send(
            server,
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {
                        "uri": uri,
                        "languageId": language,
                        "version": 1,
                        "text": MARKER + body,
                    }
                },
            },
        )
        answer = server.request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": 1, "character": 4},
                "context": {"triggerKind": 1},
            },
            timeout=120,
        )
        assert isinstance(answer["result"]["items"], list), answer
        send(
            server,
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didClose",
                "params": {"textDocument": {"uri": uri}},
            },
        )
    still_serving(server)


# -- the life cycle: before initialize, after shutdown ----------------------------------------


def test_before_initialize_and_after_shutdown():
    raw = RawServer(log_level="INFO")
    try:
        early = raw.request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": FUZZ_URI},
                "position": {"line": 0, "character": 0},
                "context": {"triggerKind": 1},
            },
        )
        assert early["error"]["code"] == -32002
        raw.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": FUZZ_URI,
                    "languageId": "python",
                    "version": 1,
                    "text": "x = 1\n",
                }
            },
        )
        assert raw.request("smalllsp/status")["error"]["code"] == -32002
        assert "result" in raw.initialize({"workspace_index": False})
        again = raw.request("initialize", {"capabilities": {}})
        assert again["error"]["code"] == -32600
        assert raw.request("smalllsp/documentState", {"uri": FUZZ_URI})["result"] == {
            "uri": FUZZ_URI,
            "open": False,
        }
        assert "result" in raw.request("shutdown")
        late = raw.request("smalllsp/status")
        assert late["error"]["code"] == -32600 and "shutdown" in late["error"]["message"]
        raw.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": FUZZ_URI,
                    "languageId": "python",
                    "version": 1,
                    "text": "x = 1\n",
                }
            },
        )
        raw.notify("exit", None)
        assert raw.process.wait(20) == 0
        assert "Traceback" not in raw.log()
    finally:
        raw.kill()


def test_exit_without_shutdown_exits_with_1():
    raw = RawServer(log_level="WARNING")
    try:
        raw.notify("exit", None)
        assert raw.process.wait(20) == 1
    finally:
        raw.kill()
