"""A raw JSON-RPC client for ``smalllsp serve`` over stdio, for messages no client library sends.

A reader thread parses the server's output, so every wait has a time limit
and a server that stops answering fails the test instead of hanging it. The
server's stderr goes to a file the tests read (what was logged).
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable

NO_ID = object()  # a request id that was not sent


class ServerGone(AssertionError):
    """The server closed its output or exited."""


class RawServer:
    def __init__(
        self,
        *args: str,
        log_level: str = "INFO",
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.stderr = tempfile.NamedTemporaryFile(
            "w+b", prefix="smalllsp-stderr-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "smalllsp", "serve", "--log-level", log_level, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        self._answers: dict[str, list[dict]] = {}
        self._cond = threading.Condition()
        self.notifications: queue.Queue[dict] = queue.Queue()
        self.eof = False
        self._ids = itertools.count(1)
        self._reader = threading.Thread(target=self._read, name="raw-lsp-reader", daemon=True)
        self._reader.start()

    # -- output ----------------------------------------------------------------

    def _read(self) -> None:
        out = self.process.stdout
        try:
            while True:
                length = None
                while (line := out.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if not line or length is None:
                    break
                message = json.loads(out.read(length))
                if "method" in message:
                    if "id" in message:  # a request to the client (progress tokens): say yes
                        self.send({"id": message["id"], "result": None})
                    self.notifications.put(message)
                else:
                    with self._cond:
                        self._answers.setdefault(json.dumps(message.get("id")), []).append(message)
                        self._cond.notify_all()
        finally:
            with self._cond:
                self.eof = True
                self._cond.notify_all()

    def answer(self, msg_id: Any, timeout: float = 30) -> dict:
        """The server's answer to request ``msg_id`` (``None``: the id-less error answers)."""
        key = json.dumps(msg_id)
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._answers.get(key):
                if self.eof:
                    raise ServerGone(
                        f"the server closed its output before answering {msg_id!r} (exit {self.process.poll()})"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no answer to {msg_id!r} within {timeout} s")
                self._cond.wait(left)
            return self._answers[key].pop(0)

    def take_null_id_answers(self) -> list[dict]:
        """The answers with a null id (to messages whose id could not be read) so far."""
        with self._cond:
            return self._answers.pop("null", [])

    def unclaimed(self) -> dict[str, list[dict]]:
        with self._cond:
            return {key: list(items) for key, items in self._answers.items() if items}

    def drain_notifications(self) -> list[dict]:
        items = []
        while True:
            try:
                items.append(self.notifications.get_nowait())
            except queue.Empty:
                return items

    def notifications_until(self, seen: Callable[[dict], bool], timeout: float = 30) -> list[dict]:
        """The notifications so far, and those that follow until one is ``seen`` (or ``timeout``)."""
        items = self.drain_notifications()
        deadline = time.monotonic() + timeout
        while not any(seen(n) for n in items) and time.monotonic() < deadline:
            try:
                items.append(self.notifications.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return items + self.drain_notifications()

    # -- input -----------------------------------------------------------------

    def send_bytes(self, body: bytes) -> None:
        try:
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise ServerGone(f"the server's input is closed (exit {self.process.poll()})") from exc

    def send(self, message: Any, *, jsonrpc: bool = True) -> None:
        if jsonrpc and isinstance(message, dict):
            message = {"jsonrpc": "2.0", **message}
        self.send_bytes(json.dumps(message).encode())

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: Any = None, *, timeout: float = 30) -> dict:
        msg_id = self.next_id()
        self.send({"id": msg_id, "method": method, "params": params})
        return self.answer(msg_id, timeout)

    def next_id(self) -> str:
        return f"r{next(self._ids)}"

    # -- session ---------------------------------------------------------------

    def initialize(self, options: dict | None = None, capabilities: dict | None = None) -> dict:
        answer = self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": None,
                "capabilities": capabilities or {},
                "initializationOptions": options or {},
            },
        )
        self.notify("initialized", {})
        return answer

    def status(self, timeout: float = 30) -> dict:
        answer = self.request("smalllsp/status", None, timeout=timeout)
        assert "result" in answer, answer
        return answer["result"]

    def wait_loaded(self, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while (status := self.status())["state"] == "loading":
            assert time.monotonic() < deadline, "the model did not load"
            time.sleep(0.1)
        return status

    final_log = ""

    def log(self) -> str:
        if self.stderr.closed:
            return self.final_log
        self.stderr.flush()
        with open(self.stderr.name, "rb") as handle:
            return handle.read().decode("utf-8", errors="replace")

    def close(self, timeout: float = 20) -> int:
        """shutdown, exit; the exit status."""
        if self.process.poll() is None:
            try:
                self.request("shutdown", None, timeout=timeout)
                self.notify("exit", None)
            except ServerGone:
                pass
        try:
            return self.process.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except (BrokenPipeError, OSError, ValueError):
                pass
        if not self.stderr.closed:
            self.final_log = self.log()
            self.stderr.close()
            os.unlink(self.stderr.name)
