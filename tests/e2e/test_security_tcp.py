"""Security of ``serve --tcp``: attacks by a hostile local peer against the real server (real default model).

Client A is a raw JSON-RPC client on a socket; the attacker opens more
connections. Each test asserts the exact safe outcome.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .conftest import BODY_EXAMPLE, free_port

pytestmark = pytest.mark.e2e

OPTIONS = {"time_budget_ms": 120_000, "max_tokens": 32, "workspace_index": False}


def frame(message: dict) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Peer:
    """A raw client on one TCP connection: every read has a time limit."""

    def __init__(self, port: int, attempts: int = 200) -> None:
        for _ in range(attempts):
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server never listened")
        self.buffer = b""
        self.ids = 0

    def send(self, message: dict) -> None:
        self.sock.sendall(frame(message))

    def request(self, method: str, params=None, timeout: float = 60) -> dict:
        self.ids += 1
        self.send({"id": self.ids, "method": method, "params": params})
        return self.answer(self.ids, timeout)

    def notify(self, method: str, params=None) -> None:
        self.send({"method": method, "params": params})

    def read(self, timeout: float = 30) -> dict | None:
        """The next message; None when the server closed the connection."""
        deadline = time.monotonic() + timeout
        while True:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if sep:
                length = int(
                    next(
                        l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")
                    ).split(b":")[1]
                )
                if len(rest) >= length:
                    self.buffer = rest[length:]
                    return json.loads(rest[:length])
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"nothing read within {timeout} s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buffer += chunk

    def answer(self, msg_id, timeout: float = 60) -> dict:
        while True:
            message = self.read(timeout)
            assert message is not None, f"the connection closed before the answer to {msg_id}"
            if message.get("id") == msg_id and "method" not in message:
                return message
            if "method" in message and "id" in message:  # progress tokens
                self.sock.sendall(frame({"id": message["id"], "result": None}))

    def initialize(self, options: dict | None = None) -> dict:
        answer = self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": None,
                "capabilities": {},
                "initializationOptions": {**OPTIONS, **(options or {})},
            },
            timeout=60,
        )
        self.notify("initialized", {})
        return answer

    def wait_loaded(self, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while (status := self.request("smalllsp/status")["result"])["state"] == "loading":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        return status

    def complete(self, uri: str = "file:///tmp/a.py") -> dict:
        self.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "python",
                    "version": 1,
                    "text": BODY_EXAMPLE,
                }
            },
        )
        return self.request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": 5, "character": 4},
                "context": {"triggerKind": 1},
            },
            timeout=300,
        )

    def close(self) -> None:
        self.sock.close()


class TcpServer:
    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.port = free_port()
        self.stderr = tempfile.NamedTemporaryFile(
            "w+b", prefix="smalllsp-tcp-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "smalllsp", "serve", "--tcp", f"127.0.0.1:{self.port}", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            env={**os.environ, **(env or {})},
        )

    def log(self) -> str:
        return Path(self.stderr.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self.stderr.close()
        os.unlink(self.stderr.name)


@pytest.fixture
def tcp_server():
    servers = []

    def start(*args: str, env: dict | None = None) -> TcpServer:
        servers.append(TcpServer(*args, env=env))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def end_session(peer: Peer, server: TcpServer) -> None:
    assert "result" in peer.request("shutdown")
    peer.notify("exit")
    assert server.process.wait(10) == 0


def test_a_second_client_is_refused_while_the_first_works(tcp_server):
    server = tcp_server()
    a = Peer(server.port)
    assert "result" in a.initialize()
    a.wait_loaded()
    b = Peer(server.port)
    refusal = b.read(10)
    assert refusal == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": -32600,
            "message": "smalllsp: another client is connected (one client per server)",
        },
    }
    assert b.read(10) is None  # and closed
    # B sending anything changes nothing: A's answers still come to A.
    answer = a.complete()
    assert answer["result"]["items"] and answer["result"]["items"][0]["insertText"].strip()
    end_session(a, server)
    assert "refused a TCP connection from" in server.log()


def test_a_port_scan_does_not_stop_the_server(tcp_server):
    server = tcp_server()
    for _ in range(20):  # connect-and-close, as a scanner does
        probe = Peer(server.port)
        probe.close()
    half = Peer(server.port)  # a scanner that sends half a header and goes
    half.sock.sendall(b"Content-Len")
    half.close()
    time.sleep(0.5)
    assert server.process.poll() is None
    a = Peer(server.port)
    assert a.initialize()["result"]["capabilities"]["inlineCompletionProvider"] is not None
    a.wait_loaded()
    assert "items" in a.complete()["result"]
    end_session(a, server)
    log = server.log()
    assert log.count("closed before its first message") == 20
    assert (
        log.count("refused a TCP connection from") == 1
        and ": the connection closed in the middle of a frame" in log
    )


def test_oversized_frames_are_refused_without_reading_them(tcp_server):
    server = tcp_server()
    attacker = Peer(server.port)
    attacker.sock.sendall(b"Content-Length: 999999999999\r\n\r\n" + b"x" * 65536)
    assert attacker.read(10) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": -32600,
            "message": "smalllsp: Content-Length 999999999999 is over the limit of 67108864 bytes",
        },
    }
    assert attacker.read(10) is None
    headers = Peer(server.port)
    try:
        headers.sock.sendall(b"X-Padding: " + b"a" * 20000 + b"\r\n")
    except OSError:
        pass
    assert headers.read(10) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "smalllsp: headers over 8192 bytes"},
    }
    # The server is still there, and small.
    rss_kb = int(
        next(
            l
            for l in Path(f"/proc/{server.process.pid}/status").read_text().splitlines()
            if l.startswith("VmRSS")
        ).split()[1]
    )
    assert rss_kb < 400_000
    a = Peer(server.port)
    assert "result" in a.initialize()
    # A's own oversized frame ends A's session (its stream cannot resynchronise): the server says why and exits.
    a.sock.sendall(b"Content-Length: 70000000\r\n\r\n")
    error = a.answer(None, 10)
    assert (
        error["error"]["message"]
        == "smalllsp: Content-Length 70000000 is over the limit of 67108864 bytes; closing the connection"
    )
    assert server.process.wait(10) == 0


def test_a_partial_frame_times_out_and_a_hundred_do_not_cut_off_client_a(tcp_server):
    server = tcp_server("--tcp-timeout", "2")
    stalled = Peer(server.port)
    stalled.sock.sendall(b'Content-Length: 100\r\n\r\n{"jsonrpc"')
    started = time.monotonic()
    assert stalled.read(10) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "smalllsp: no complete first message within 2 s"},
    }
    assert 1.5 < time.monotonic() - started < 6
    a = Peer(server.port)
    assert "result" in a.initialize()
    a.wait_loaded()
    attackers = []
    for n in range(100):
        peer = Peer(server.port)
        peer.sock.sendall(b'Content-Length: 50\r\n\r\n{"jsonrpc":')
        attackers.append(peer)
    answer = a.complete()
    assert answer["result"]["items"]
    refused = [peer.read(10) for peer in attackers]
    assert all(
        r["error"]["message"] == "smalllsp: another client is connected (one client per server)"
        for r in refused
    )
    assert a.request("smalllsp/status")["result"]["state"] == "ready"
    # A's own frame left half-sent ends A's session after the timeout, with the reason.
    a.sock.sendall(b"Content-Length: 100\r\n\r\n{")
    assert (
        a.answer(None, 10)["error"]["message"]
        == "smalllsp: a frame not complete within 2 s; closing the connection"
    )
    assert server.process.wait(10) == 0


def test_the_token_is_checked_in_the_first_message(tcp_server, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("t0ken-of-the-user\n")
    server = tcp_server("--token-file", str(token_file))
    wrong = Peer(server.port)
    answer = wrong.initialize({"token": "guess"})
    assert answer == {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {
            "code": -32600,
            "message": "smalllsp: this server needs its token in initializationOptions.token",
        },
    }
    assert wrong.read(10) is None
    missing = Peer(server.port)
    assert "needs its token" in missing.initialize()["error"]["message"]
    not_initialize = Peer(server.port)
    assert (
        not_initialize.request("smalllsp/status")["error"]["message"]
        == "smalllsp: the first message must be an initialize request"
    )
    a = Peer(server.port)
    assert "result" in a.initialize({"token": "t0ken-of-the-user"})
    a.wait_loaded()
    assert (
        "unknown setting" not in server.log()
    )  # the token is taken out before the settings are read
    assert "t0ken-of-the-user" not in server.log()
    end_session(a, server)


def test_beyond_loopback_needs_the_flag_and_then_a_token():
    port = free_port()
    refused = subprocess.run(
        [sys.executable, "-m", "smalllsp", "serve", "--tcp", f"0.0.0.0:{port}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "smalllsp: 0.0.0.0 is not a loopback address: anyone who can reach it could drive the server; "
        "add --allow-non-loopback (a token is then required) or listen on 127.0.0.1"
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smalllsp",
            "serve",
            "--tcp",
            f"0.0.0.0:{port}",
            "--allow-non-loopback",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        line = server.stderr.readline().decode()
        prefix = "smalllsp: token for this server (send it as initializationOptions.token): "
        assert line.startswith(prefix)
        token = line[len(prefix) :].strip()
        assert len(token) == 32
        without = Peer(port)
        assert "needs its token" in without.initialize()["error"]["message"]
        a = Peer(port)
        assert "result" in a.initialize({"smalllsp": {"token": token}})
        assert "result" in a.request("shutdown")
        a.notify("exit")
        assert server.wait(10) == 0
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(10)
