"""How long a message waits for the server's event loop while a person types (issue 16).

Starts ``smalllsp serve`` (the real default model) in a child process whose
stdin reader and message handler are timed, and drives it over stdio as an
editor would:

1. typing: into a large real file (a stdlib module, about 10,000 lines) and
   into a 200,000-line file, key by key at a typist's pace: a didChange per
   key, an inline completion request per key with a ``$/cancelRequest`` of
   the one before, and a ``smalllsp/status`` every few keys;
2. hostile: 1,500 malformed and hostile messages (bodies that are not JSON,
   bad envelopes, positions past the end, bad ranges, unknown methods,
   requests for documents never opened, and one in ten a didOpen of a
   200,000-line document, later closed), then the same typing again.

For every message it reports the time from its arrival (the client's write,
on the machine's monotonic clock, which both processes share) to the start
of its handling (``handle_message`` on the loop): p50, p99 and max, and the
server's RSS before and after the hostile messages.

    .venv/bin/python scripts/bench_loop_lag.py [--keys 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TYPED = "    total = compute_total(items, tax_rate=0.2)  # typed by the benchmark\n"
KEY_INTERVAL_S = 0.08  # 12 keys a second: a fast typist
STATUS_EVERY = 10

# -- the child: the real server, with its message path timed ----------------------------------


def _child() -> None:
    """Run ``smalllsp serve`` with the stdin reader and the protocol's handler timed."""
    from smalllsp import cli
    from smalllsp.lsp.protocol import MessageReader, SmalllspProtocol

    out = Path(os.environ["SMALLLSP_LAG_OUT"])
    rows: list[
        list
    ] = []  # per body read, in order: [read, handling starts (None: not JSON), method]

    # The server's reader reads a whole message in one trip to a pool thread (MessageReader):
    # its end is the message's read time.
    read_message = MessageReader._read_message

    def timed_read_message(self) -> None:
        read_message(self)
        if self._lines and self._lines[-1]:
            rows.append([time.monotonic(), None, ""])

    MessageReader._read_message = timed_read_message
    original = SmalllspProtocol.handle_message

    def handle_message(self, message):
        if rows:
            rows[-1][1] = time.monotonic()
            rows[-1][2] = str(message.get("method", "")) if isinstance(message, dict) else ""
        if isinstance(message, dict) and message.get("method") == "bench/flush":
            out.write_text(json.dumps(rows[:-1]))
            rows.clear()
            return
        original(self, message)

    SmalllspProtocol.handle_message = handle_message
    sys.argv = ["smalllsp", "serve", "--log-level", "WARNING"]
    sys.exit(cli.main())


# -- the parent: an editor ----------------------------------------------------------------


class Client:
    def __init__(self, workdir: Path) -> None:
        self.out = workdir / "lag.json"
        env = {**os.environ, "SMALLLSP_LAG_OUT": str(self.out)}
        self.stderr = open(workdir / "server.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            cwd=workdir,
        )
        self.sent: list[float] = []  # write time of every message, in order
        self.answers: dict[Any, dict] = {}
        self._cond = threading.Condition()
        self._ids = 0
        self._write = threading.Lock()
        self.versions: dict[str, int] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while (line := stream.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line or length is None:
                return
            message = json.loads(stream.read(length))
            if "method" in message and "id" in message:
                self.send_json({"jsonrpc": "2.0", "id": message["id"], "result": None})
            elif "id" in message:
                with self._cond:
                    self.answers[message["id"]] = message
                    self._cond.notify_all()

    def send_bytes(self, body: bytes) -> None:
        with self._write:  # the reader thread answers the server's requests too
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()
            self.sent.append(time.monotonic())

    def send_json(self, message: Any) -> None:
        self.send_bytes(json.dumps(message).encode())

    def notify(self, method: str, params: Any) -> None:
        self.send_json({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any) -> int:
        self._ids += 1
        self.send_json({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
        return self._ids

    def wait(self, msg_id: int, timeout: float = 300) -> dict:
        with self._cond:
            if not self._cond.wait_for(lambda: msg_id in self.answers, timeout):
                raise TimeoutError(f"no answer to {msg_id} within {timeout} s")
            return self.answers.pop(msg_id)

    def flush_lags(self) -> list[tuple[float, float, float, str]]:
        """(arrival → handling, read → handling, handling start, method) for every message so far."""
        self.out.unlink(missing_ok=True)
        sent = list(self.sent)
        self.notify("bench/flush", None)
        self.sent.clear()
        deadline = time.monotonic() + 120
        while not self.out.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the server never wrote its timings")
            time.sleep(0.05)
        time.sleep(0.05)
        rows = json.loads(self.out.read_text())
        if len(rows) != len(sent):
            raise RuntimeError(
                f"the server read {len(rows)} messages, the client wrote {len(sent)}"
            )
        # Messages arrive in the order they were written; one that was not JSON is never handled.
        return [
            (start - sent[i], start - read, start, method)
            for i, (read, start, method) in enumerate(rows)
            if start is not None
        ]

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def close(self) -> None:
        try:
            self.wait(self.request("shutdown", None), 60)
            self.notify("exit", None)
            self.process.wait(30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.stderr.close()


def status(client: Client) -> dict:
    return client.wait(client.request("smalllsp/status", None))["result"]


def type_into(client: Client, uri: str, line: int, keys: int, encoding_units=len) -> int:
    """Type ``keys`` characters of TYPED at the start of ``line``: a didChange, a completion request
    (cancelling the previous one) per key, a status every STATUS_EVERY keys. Returns the version."""
    version = client.versions[uri]
    row, column, pending = line, 0, None
    for n in range(keys):
        char = TYPED[n % len(TYPED)]
        version += 1
        client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": row, "character": column},
                            "end": {"line": row, "character": column},
                        },
                        "text": char,
                    }
                ],
            },
        )
        if char == "\n":
            row, column = row + 1, 0
        else:
            column += 1
        if pending is not None:
            client.notify("$/cancelRequest", {"id": pending})
        pending = client.request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": row, "character": column},
                "context": {"triggerKind": 2},
            },
        )
        if n % STATUS_EVERY == 0:
            client.request("smalllsp/status", None)
        time.sleep(KEY_INTERVAL_S)
    if pending is not None:
        client.wait(pending)
    client.versions[uri] = version
    return version


def hostile(client: Client, count: int, big_text: str, workdir: Path) -> None:
    """``count`` malformed and hostile messages; one in ten opens a 200,000-line document (closed later)."""
    small = (workdir / "hostile_small.py").as_uri()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": small, "languageId": "python", "version": 1, "text": "x = 1\n"}},
    )
    opened: list[str] = []
    for i in range(count):
        kind = i % 10
        if kind == 0:
            uri = (workdir / f"hostile_big_{i % 40}.py").as_uri()
            client.notify(
                "textDocument/didOpen",
                {
                    "textDocument": {
                        "uri": uri,
                        "languageId": "python",
                        "version": 1,
                        "text": big_text,
                    }
                },
            )
            opened.append(uri)
            if len(opened) > 3:  # an editor closes what it opened
                client.notify("textDocument/didClose", {"textDocument": {"uri": opened.pop(0)}})
        elif kind == 1:
            client.send_bytes(b"{not json" + bytes([i % 256]) * (i % 7))
        elif kind == 2:
            client.send_json({"jsonrpc": "1.0", "id": [i], "method": 5})
        elif kind == 3:
            client.request(
                "textDocument/inlineCompletion",
                {
                    "textDocument": {"uri": small},
                    "position": {"line": 10**9, "character": -1},
                    "context": {"triggerKind": 2},
                },
            )
        elif kind == 4:
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": small, "version": i},
                    "contentChanges": [
                        {
                            "range": {
                                "start": {"line": 0, "character": 5},
                                "end": {"line": 0, "character": 1},
                            },
                            "text": "y",
                        }
                    ],
                },
            )
        elif kind == 5:
            client.request(
                "textDocument/inlineCompletion",
                {
                    "textDocument": {"uri": "file:///never/opened.py"},
                    "position": {"line": 0, "character": 0},
                    "context": {"triggerKind": 2},
                },
            )
        elif kind == 6:
            client.request(f"unknown/method{i}", {"x": "y" * (i % 100)})
        elif kind == 7:
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": small, "version": i},
                    "contentChanges": [
                        {
                            "range": {
                                "start": {"line": 0, "character": 0},
                                "end": {"line": 0, "character": 0},
                            },
                            "text": "\ud800" * 3,
                        }
                    ],
                },
            )
        elif kind == 8:
            client.send_json(
                {
                    "jsonrpc": "2.0",
                    "id": f"s{i}",
                    "method": "smalllsp/documentState",
                    "params": [None],
                }
            )
        else:
            client.notify(
                "textDocument/didClose", {"textDocument": {"uri": f"file:///never/{i}.py"}}
            )
    for uri in opened:
        client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.notify("textDocument/didClose", {"textDocument": {"uri": small}})


def summary(lags: list[float]) -> dict[str, float]:
    ordered = sorted(lags)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "messages": len(ordered),
        "p50_ms": round(pick(0.5) * 1000, 2),
        "p99_ms": round(pick(0.99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


def stdlib_module() -> Path:
    lib = Path(sysconfig.get_paths()["stdlib"])
    for candidate in ("test/test_typing.py", "_pydecimal.py", "typing.py"):
        if (lib / candidate).is_file():
            return lib / candidate
    raise FileNotFoundError("no large stdlib module found")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=300, help="keys typed into each file per phase")
    parser.add_argument("--hostile", type=int, default=1500)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child()
        return 0
    module = stdlib_module()
    real = module.read_text(encoding="utf-8")
    big = "x = 1\n" * 200_000
    with tempfile.TemporaryDirectory(prefix="smalllsp-lag-") as folder:
        workdir = Path(folder)
        client = Client(workdir)
        report: dict[str, Any] = {
            "module": str(module),
            "module_lines": real.count("\n") + 1,
            "keys": args.keys,
        }
        try:
            client.wait(
                client.request(
                    "initialize",
                    {
                        "processId": os.getpid(),
                        "rootUri": None,
                        "capabilities": {},
                        "initializationOptions": {"workspace_index": False},
                    },
                )
            )
            client.notify("initialized", {})
            while status(client)["state"] == "loading":
                time.sleep(0.2)
            files = {
                "stdlib": (workdir / module.name).as_uri(),
                "200k": (workdir / "big_200k.py").as_uri(),
            }
            for name, uri in files.items():
                text = real if name == "stdlib" else big
                client.notify(
                    "textDocument/didOpen",
                    {
                        "textDocument": {
                            "uri": uri,
                            "languageId": "python",
                            "version": 1,
                            "text": text,
                        }
                    },
                )
                client.versions[uri] = 1
            time.sleep(5)  # the first warm-ups and trees
            client.flush_lags()
            report["rss_start_mb"] = round(client.rss_mb(), 1)
            stdlib_row = real[: real.index("\ndef ")].count("\n") + 1 if "\ndef " in real else 10
            for phase in ("typing", "after_hostile"):
                if phase == "after_hostile":
                    hostile(client, args.hostile, big, workdir)
                    status(client)
                    report["hostile"] = summary([lag for lag, *_ in client.flush_lags()])
                    time.sleep(5)
                    report["rss_after_hostile_mb"] = round(client.rss_mb(), 1)
                for name, uri in files.items():
                    row = stdlib_row if name == "stdlib" else 150_000
                    type_into(client, uri, row, args.keys)
                    rows = client.flush_lags()
                    report[f"{phase}_{name}"] = {
                        **summary([lag for lag, *_ in rows]),
                        "loop_only": summary([loop for _, loop, *_ in rows]),
                    }
            report["rss_end_mb"] = round(client.rss_mb(), 1)
            report["rss_ratio_after_hostile"] = round(
                report["rss_after_hostile_mb"] / report["rss_start_mb"], 3
            )
        finally:
            client.close()
    report["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
