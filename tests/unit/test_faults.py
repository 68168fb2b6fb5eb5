"""Faults below the protocol, without the model: files that are not models, the GPU
fallback's plan, the server's warning, documents, a workspace folder that goes away.

The faults that load the real model are in tests/e2e/test_model_faults.py.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types

from smalllsp import documents
from smalllsp import lines as text_lines
from smalllsp.config import Config
from smalllsp.documents import Document, valid_text
from smalllsp.engine.llama import ModelError, check_model_file, gpu_layer_attempts
from smalllsp.workspace.index import WorkspaceIndex
from smalllsp.workspace.watcher import WorkspaceWatcher

# -- model files ------------------------------------------------------------------------


def test_a_directory_and_an_empty_file_are_refused(tmp_path):
    with pytest.raises(ModelError, match="not a file"):
        check_model_file(tmp_path)
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="not a GGUF file"):
        check_model_file(empty)


# -- out of GPU memory -------------------------------------------------------------------------


def test_gpu_layer_attempts_halve_then_fall_back_to_the_cpu():
    assert gpu_layer_attempts(-1, 25) == [-1, 12, 6, 0]
    assert gpu_layer_attempts(10, 25) == [10, 5, 2, 0]
    assert gpu_layer_attempts(1, 25) == [1, 0]
    assert gpu_layer_attempts(0, 25) == [0]


def test_the_server_shows_the_fallback_warning_to_the_user():
    from smalllsp.server import SmalllspServer

    shown: list[types.ShowMessageParams] = []
    server = SmalllspServer(Config())
    server.window_show_message = shown.append
    server.window_log_message = lambda params: None

    class Runtime:
        name, load_seconds, device = "m.gguf", 0.1, "cpu"
        warnings = ["smalllsp: m.gguf did not fit on the GPU ...; it runs on the CPU only"]

    loop = asyncio.new_event_loop()
    future = loop.create_future()
    future.set_result(Runtime())
    server._loaded(future)
    loop.close()
    assert [(m.type, m.message) for m in shown] == [
        (types.MessageType.Warning, Runtime.warnings[0])
    ]


# -- the model thread raises mid-generation -------------------------------------------------------


# -- documents ------------------------------------------------------------------------------------


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    text=st.text(alphabet="ab\r\n😀", max_size=60),
    line=st.integers(0, 30),
    character=st.integers(0, 8),
)
def test_line_starts_counted_by_blocks_match_a_line_by_line_walk(text, line, character):
    saved = text_lines._BLOCK
    text_lines._BLOCK = 3  # blocks that end between \r and \n, and inside lines
    try:
        doc = Document("file:///a", "python", 1, text)
        lines = documents._LINE_BREAK.split(text)
        starts = [0] + [m.end() for m in documents._LINE_BREAK.finditer(text)]
        if line >= len(lines):
            assert doc.offset(
                types.Position(line, character), types.PositionEncodingKind.Utf16, clamp=True
            ) == len(text)
            with pytest.raises(documents.PositionError):
                doc.offset(types.Position(line, character), types.PositionEncodingKind.Utf16)
        else:
            expected = starts[line] + documents.column_to_index(
                lines[line], character, types.PositionEncodingKind.Utf16
            )
            assert (
                doc.offset(types.Position(line, character), types.PositionEncodingKind.Utf16)
                == expected
            )
    finally:
        text_lines._BLOCK = saved


def test_lone_surrogates_become_replacement_characters_and_positions_keep_their_meaning():
    assert valid_text("a\ud800b\udfffc😀") == "a\ufffdb\ufffdc😀"
    doc = Document("file:///a", "python", 1, valid_text("x\ud800y"))
    doc.apply(
        types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(0, 2), types.Position(0, 2)), text="\udc00Z"
        ),
        types.PositionEncodingKind.Utf16,
    )
    assert doc.text == "x\ufffd\ufffdZy"
    doc.text.encode("utf-8")  # what the model and the parser need


# -- the workspace watcher loses its folder ------------------------------------------------------------


def wait_for(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"not within {timeout} s: {what}")


@pytest.fixture
def watched(tmp_path: Path):
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "a.py").write_text("def alpha(): pass\n")
    (root / "pkg" / "b.py").write_text("def beta(): pass\n")
    index = WorkspaceIndex([root])
    index.build()
    watcher = WorkspaceWatcher(index, [root], debounce_s=0.05)
    watcher.start()
    yield root, index, watcher
    watcher.stop()


def test_a_deleted_workspace_folder_leaves_the_index_and_is_watched_again_when_it_returns(watched):
    root, index, watcher = watched
    shutil.rmtree(root)
    wait_for(
        lambda: not index.definitions("alpha") and not index.definitions("beta"),
        "the deleted folder's files leave the index",
    )
    root.mkdir()
    (root / "c.py").write_text("def gamma(): pass\n")
    wait_for(lambda: index.definitions("gamma"), "a file in the recreated folder")
    (root / "d.py").write_text(
        "def delta(): pass\n"
    )  # a change after it came back: the new watch sees it
    wait_for(lambda: index.definitions("delta"), "a change in the recreated folder")
    assert watcher.failures == 0


def test_a_folder_moved_away_and_back(watched, tmp_path):
    root, index, _ = watched
    root.rename(tmp_path / "elsewhere")
    wait_for(lambda: not index.definitions("alpha"), "the moved folder's files leave the index")
    (tmp_path / "elsewhere").rename(root)
    wait_for(
        lambda: index.definitions("alpha") and index.definitions("beta"), "the folder back in place"
    )


def test_a_path_that_cannot_be_read_is_logged_and_the_watcher_goes_on(watched, monkeypatch, caplog):
    # Tests run as root here, so chmod 000 would not stop a read: the index's
    # read fails by injection, as it does for a folder whose permission was removed.
    root, index, watcher = watched
    real = index.update_path

    def update(path):
        if "locked" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        real(path)

    monkeypatch.setattr(index, "update_path", update)
    (root / "locked").mkdir()
    (root / "locked" / "secret.py").write_text("def hidden(): pass\n")
    time.sleep(0.3)
    (root / "after.py").write_text("def after(): pass\n")
    wait_for(lambda: index.definitions("after"), "a file written after the unreadable one")
    assert watcher.failures >= 1 and not index.definitions("hidden")
    assert "Permission denied" in caplog.text
