"""The real server (``python -m smalllsp serve``, the real default model) and its index at
run time: the open file's imports are indexed while the rest of the workspace is not yet;
folders added and dropped, renames and index settings follow without a restart; and a
restart takes the outlines from the cache instead of parsing them again."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig

from smalllsp.lspclient import as_dict

from .conftest import SERVER, TEST_SETTINGS, capabilities

FILLER = 3000
HOUR_NS = 3600 * 10**9
CHAIN = "zz/deep/er/still"  # the walk goes in reverse name order: the chain comes last


def write(root: Path, relpath: str, text: str) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = time.time_ns() - HOUR_NS  # written long ago: a warm start need not read it
    os.utime(path, ns=(stamp, stamp))
    return path


def workspace(root: Path) -> Path:
    for n in range(FILLER):
        write(root, f"aa/d{n % 50}/f{n}.py", f"def filler{n}(a, b=1):\n    return a + {n}\n")
    write(root, f"{CHAIN}/one.py", "from .two import two\n\ndef one():\n    return two()\n")
    write(root, f"{CHAIN}/two.py", "from .three import three\n\ndef two():\n    return 2\n")
    write(root, f"{CHAIN}/three.py", "def three():\n    return 3\n")
    return write(
        root, f"{CHAIN}/open.py", "from .one import one\n\ndef main():\n    return one()\n"
    )


async def start(root: Path, cache: Path, folders: list[Path], options: dict | None = None):
    config = ClientServerConfig(
        server_command=SERVER, server_env={**os.environ, "XDG_CACHE_HOME": str(cache)}
    )
    client = await config.start()
    caps = capabilities("visual-studio-code")
    caps.workspace.file_operations = types.FileOperationClientCapabilities(did_rename=True)
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(f.as_uri(), f.name) for f in folders],
            initialization_options={**TEST_SETTINGS, "index_workers": 1, **(options or {})},
        )
    )
    return client, result


async def status(client) -> dict:
    return as_dict(await client.protocol.send_request_async("smalllsp/status", None))["index"]


async def until(client, condition, what: str, timeout_s: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        index = await status(client)
        if condition(index):
            return index
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout_s} s; last status {index}")


def open_file(client, path: Path) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(path.as_uri(), "python", 1, path.read_text())
        )
    )


def folders_changed(client, added: list[Path], removed: list[Path]) -> None:
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(f.as_uri(), f.name) for f in added],
                removed=[types.WorkspaceFolder(f.as_uri(), f.name) for f in removed],
            )
        )
    )


async def test_imports_first_folders_at_run_time_and_a_restart_from_the_cache(tmp_path):
    main, cache = tmp_path / "main", tmp_path / "cache"
    opened = workspace(main)
    other = tmp_path / "other"
    for n in range(10):
        write(other, f"lib/m{n}.py", f"def other{n}(x):\n    return x\n")
    total = FILLER + 4

    client, result = await start(main, cache, [main])
    try:
        workspace_caps = result.capabilities.workspace
        assert workspace_caps.workspace_folders.change_notifications is True
        assert workspace_caps.file_operations.did_rename.filters[0].pattern.glob == "**/*"
        open_file(client, opened)
        # The open file's imports (one, two, three) are indexed while the build still runs.
        early = await until(client, lambda i: i.get("imports_ready_s") is not None, "imports")
        assert early["priority_files"] == 3
        assert early["state"] == "indexing" and early["files"] < total, early
        ready = await until(client, lambda i: i["state"] == "ready", "the first build")
        assert ready["files"] == total and ready["parsed"] == total and ready["from_cache"] == 0

        folders_changed(client, [other], [])
        both = sorted([str(main), str(other)])
        await until(
            client,
            lambda i: i["files"] == total + 10 and sorted(i["roots"]) == both,
            "a folder added",
        )
        folders_changed(client, [], [main])
        await until(
            client, lambda i: i["files"] == 10 and i["roots"] == [str(other)], "a folder dropped"
        )

        old, new = other / "lib" / "m0.py", other / "lib" / "renamed.py"
        old.rename(new)
        client.workspace_did_rename_files(
            types.RenameFilesParams([types.FileRename(old.as_uri(), new.as_uri())])
        )
        await until(client, lambda i: i["files"] == 10, "the rename")

        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams({"smalllsp": {"index_max_files": 4}})
        )
        limited = await until(client, lambda i: i["files"] == 4, "index_max_files lowered")
        assert limited["truncated"]
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams({"smalllsp": {"workspace_index": False}})
        )
        await until(client, lambda i: i["files"] == 0 and i["roots"] == [], "the index off")
    finally:
        await client.shutdown_session()

    # A restart on the first folder: nothing is parsed, every outline comes from the cache.
    client, _ = await start(main, cache, [main])
    try:
        open_file(client, opened)
        warm = await until(client, lambda i: i["state"] == "ready", "the warm build")
        assert warm["files"] == total and warm["parsed"] == 0
        assert warm["from_cache"] == total and warm["cache_rejected"] == 0
        assert warm["imports_ready_s"] is not None
    finally:
        await client.shutdown_session()
    assert len(list((cache / "smalllsp" / "index").glob("*.sqlite"))) == 2  # main and other


async def test_two_servers_on_one_workspace_share_the_cache_safely(tmp_path):
    """Two real servers index the same folder at once, both writing the cache; a third start
    then finds every outline intact and parses nothing."""
    main, cache = tmp_path / "main", tmp_path / "cache"
    for n in range(800):
        write(main, f"pkg{n % 8}/m{n}.py", f"def shared{n}(a, b=1):\n    return a\n")
    first, second = await asyncio.gather(start(main, cache, [main]), start(main, cache, [main]))
    clients = [first[0], second[0]]
    try:
        for client in clients:
            ready = await until(client, lambda i: i["state"] == "ready", "both builds")
            assert ready["files"] == 800 and ready["parsed"] == 800
    finally:
        await asyncio.gather(*(client.shutdown_session() for client in clients))
    client, _ = await start(main, cache, [main])
    try:
        warm = await until(client, lambda i: i["state"] == "ready", "the third start")
        assert warm["files"] == 800 and warm["parsed"] == 0 and warm["cache_rejected"] == 0
        assert warm["from_cache"] == 800
    finally:
        await client.shutdown_session()


async def test_index_cache_off_writes_nothing(tmp_path):
    main, cache = tmp_path / "main", tmp_path / "cache"
    for n in range(20):
        write(main, f"m{n}.py", f"def f{n}():\n    pass\n")
    client, _ = await start(main, cache, [main], {"index_cache": False})
    try:
        ready = await until(client, lambda i: i["state"] == "ready", "the build")
        assert ready["files"] == 20 and ready["cache"] is False
    finally:
        await client.shutdown_session()
    assert not (cache / "smalllsp" / "index").exists()
