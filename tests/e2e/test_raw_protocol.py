"""Messages no well-behaved client library would send, written as raw JSON-RPC."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


class RawClient:
    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "smalllsp", "serve", "--log-level", "WARNING"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def receive(self) -> dict:
        length = 0
        while (line := self.process.stdout.readline()) != b"\r\n":
            if not line:
                raise EOFError("the server closed its output")
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.process.stdout.read(length))

    def answer_to(self, msg_id) -> dict:
        while (message := self.receive()).get("id") != msg_id or "method" in message:
            pass
        return message

    def close(self) -> None:
        self.send({"id": "bye", "method": "shutdown"})
        self.answer_to("bye")
        self.send({"method": "exit"})
        assert self.process.wait(10) == 0


@pytest.fixture
def raw():
    client = RawClient()
    client.send({"id": 1, "method": "initialize", "params": {"capabilities": {}}})
    client.answer_to(1)
    client.send({"method": "initialized", "params": {}})
    client.send(
        {
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": "file:///a.py",
                    "languageId": "python",
                    "version": 1,
                    "text": "def f():\n    \n",
                }
            },
        }
    )
    yield client
    if client.process.poll() is None:  # a test that failed before close()
        client.process.kill()


def inline(msg_id, line, character):
    return {
        "id": msg_id,
        "method": "textDocument/inlineCompletion",
        "params": {
            "textDocument": {"uri": "file:///a.py"},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 1},
        },
    }


def test_params_outside_the_lsp_types_are_answered_with_invalid_params(raw):
    raw.send(inline(2, -1, 0))
    answer = raw.answer_to(2)
    assert answer["error"]["code"] == -32602 and "position" in answer["error"]["message"]
    raw.send({"id": 3, "method": "textDocument/inlineCompletion", "params": {"textDocument": {}}})
    assert raw.answer_to(3)["error"]["code"] == -32602
    raw.send(inline(4, 1, 4))  # the server still answers correct requests
    assert raw.answer_to(4)["result"]["items"]
    raw.close()


def test_an_unknown_method_is_method_not_found(raw):
    raw.send({"id": 2, "method": "smalllsp/noSuchThing", "params": {}})
    assert raw.answer_to(2)["error"]["code"] == -32601
    raw.close()
