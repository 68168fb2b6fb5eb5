"""A 50,000-file workspace neither crashes nor stalls the server, and
completion answers while the index is still being built."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from lsprotocol import types

from smalllsp.lspclient import as_dict
from smalllsp.workspace.parallel import auto_workers

from .conftest import TEST_SETTINGS, capabilities, inline_params

FILES = 50_000
BODY = '''def circle_area(radius):
    """Return the area of a circle with the given radius."""
    
'''


@pytest.fixture
def big_workspace():
    # tmpfs when there is one: writing 50,000 files to a busy disk takes minutes
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    root = Path(tempfile.mkdtemp(prefix="smalllsp-50k-", dir=base))
    for folder in range(FILES // 500):
        directory = root / f"pkg{folder}"
        directory.mkdir()
        for i in range(500):
            (directory / f"m{i}.py").write_text(f"def f{folder}_{i}(x):\n    return x + {i}\n")
    (root / "bad.py").write_bytes(b"def caf\xe9(x):\n    return x\n")  # not UTF-8
    os.symlink(root, root / "loop")  # a symlink loop
    yield root
    shutil.rmtree(root, ignore_errors=True)


async def test_completion_answers_while_a_50k_file_workspace_is_indexed(client, big_workspace):
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities("neovim"),
            root_uri=big_workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(big_workspace.as_uri(), "big")],
            initialization_options=TEST_SETTINGS,
        )
    )
    uri = (big_workspace / "area.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, BODY))
    )
    answer = await client.text_document_inline_completion_async(inline_params(uri, 2, 4))
    assert answer.items and answer.items[0].insert_text.strip()
    for _ in range(1200):
        status = as_dict(await client.protocol.send_request_async("smalllsp/status", None))
        if status["index"]["state"] != "indexing":
            break
        await asyncio.sleep(0.1)
    index = status["index"]
    assert index["state"] == "ready", index
    assert index["files"] == 20_000 and index["truncated"]  # index_max_files, with a warning
    assert (
        index["workers"] == auto_workers()
    )  # the server (python -m smalllsp) started its worker processes
