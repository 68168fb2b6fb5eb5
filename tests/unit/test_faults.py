"""Faults below the protocol: bad model files, too little memory, a GPU that runs
out of memory, a model thread that raises, a workspace folder that goes away.

The GPU cases inject the failure (this project's machines have no GPU): a
CPU-only llama-cpp-python is told it can offload, and every load that asks
for GPU layers fails the way an out-of-memory load does (llama-cpp-python
raises ValueError). The loads that succeed are real loads of the real model.
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
from smalllsp.config import Config
from smalllsp.documents import Document, valid_text
from smalllsp.engine import Engine
from smalllsp.engine import preflight as llama_module  # the memory checks live there
from smalllsp.engine.llama import (
    LlamaRuntime,
    ModelError,
    check_memory,
    check_model_file,
    gpu_layer_attempts,
)
from smalllsp.workspace.index import WorkspaceIndex
from smalllsp.workspace.watcher import WorkspaceWatcher

# -- model files ------------------------------------------------------------------------


def test_a_truncated_model_is_refused_with_the_sizes(default_model, tmp_path):
    cut = tmp_path / "cut.gguf"
    with default_model.open("rb") as source, cut.open("wb") as target:
        target.write(source.read(32 * 2**20))  # the whole header, a fraction of the weights
    with pytest.raises(
        ModelError, match=r"truncated: its tensors need 0\.4\d GiB but the file has 0\.03 GiB"
    ):
        check_model_file(cut)
    header_only = tmp_path / "header.gguf"
    header_only.write_bytes(cut.read_bytes()[:4096])
    with pytest.raises(ModelError, match="damaged or truncated"):
        check_model_file(header_only)


def test_a_directory_and_an_empty_file_are_refused(tmp_path):
    with pytest.raises(ModelError, match="not a file"):
        check_model_file(tmp_path)
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="not a GGUF file"):
        check_model_file(empty)


def test_a_model_too_large_for_memory_names_the_size_needed(default_model, monkeypatch):
    monkeypatch.setattr(llama_module, "available_memory_bytes", lambda: 300 * 2**20)
    with pytest.raises(ModelError) as refused:
        LlamaRuntime(default_model, Config(n_ctx=4096))
    message = str(refused.value)
    # 469 MiB of weights + 48 MiB of KV cache at n_ctx 4096 + 256 MiB of compute buffers
    assert (
        "needs about 0.75 GiB of memory (weights 0.46 GiB, KV cache 0.05 GiB for n_ctx 4096)"
        in message
    ), message
    assert "0.29 GiB of free memory" in message and "smaller n_ctx" in message


def test_the_memory_check_counts_the_kv_cache_of_the_context(default_model, monkeypatch):
    monkeypatch.setattr(llama_module, "available_memory_bytes", lambda: 2 * 2**30)
    check_memory(default_model, Config(n_ctx=4096))  # fits
    with pytest.raises(ModelError, match=r"KV cache 3\.00 GiB for n_ctx 262144"):
        check_memory(default_model, Config(n_ctx=262_144))
    check_memory(default_model, Config(n_ctx=262_144), gpu_free=8 * 2**30)  # the GPU holds the rest


# -- out of GPU memory -------------------------------------------------------------------------


def test_gpu_layer_attempts_halve_then_fall_back_to_the_cpu():
    assert gpu_layer_attempts(-1, 25) == [-1, 12, 6, 0]
    assert gpu_layer_attempts(10, 25) == [10, 5, 2, 0]
    assert gpu_layer_attempts(1, 25) == [1, 0]
    assert gpu_layer_attempts(0, 25) == [0]


@pytest.fixture
def gpu_that_is_always_full(monkeypatch):
    """llama_cpp says it can offload, and every load with GPU layers fails as an out-of-memory one does."""
    import llama_cpp

    real = llama_cpp.Llama
    attempts: list[int] = []

    def load(*args, n_gpu_layers=0, **kwargs):
        attempts.append(n_gpu_layers)
        if n_gpu_layers != 0:
            raise ValueError(
                "Failed to load model from file (injected: cudaMalloc failed: out of memory)"
            )
        return real(*args, n_gpu_layers=0, **kwargs)

    monkeypatch.setattr(llama_cpp, "Llama", load)
    monkeypatch.setattr(llama_cpp, "llama_supports_gpu_offload", lambda: True)
    monkeypatch.setattr(llama_module.placement, "free_vram_bytes", lambda: 8 * 2**30)
    return attempts


def test_out_of_gpu_memory_falls_back_to_fewer_layers_then_the_cpu_with_a_warning(
    default_model, gpu_that_is_always_full
):
    runtime = LlamaRuntime(default_model, Config(n_ctx=512, n_gpu_layers=-1))
    try:
        assert gpu_that_is_always_full == [
            -1,
            12,
            6,
            0,
        ]  # qwen2.5 0.5B: 24 blocks + the output layer
        assert runtime.device == "cpu" and runtime.gpu_layers == 0
        assert len(runtime.warnings) == 1
        assert (
            "did not fit on the GPU with n_gpu_layers = -1" in runtime.warnings[0]
            and "CPU only" in runtime.warnings[0]
        )
        prompt = runtime.fim.layout(
            runtime.tokenize("def add(a, b):\n"), runtime.tokenize("\n"), runtime.tokenize("    ")
        )
        assert runtime.generate(prompt, max_tokens=4).tokens  # and it works
    finally:
        runtime.close()


def test_when_even_the_cpu_load_fails_every_attempt_is_reported(
    tmp_path, default_model, gpu_that_is_always_full, monkeypatch
):
    import llama_cpp

    def load(*args, n_gpu_layers=0, **kwargs):
        gpu_that_is_always_full.append(n_gpu_layers)
        raise ValueError("no memory at all")

    monkeypatch.setattr(llama_cpp, "Llama", load)
    with pytest.raises(ModelError) as refused:
        LlamaRuntime(default_model, Config(n_ctx=512, n_gpu_layers=4))
    assert gpu_that_is_always_full == [4, 2, 1, 0]
    assert "no memory at all" in str(refused.value) and "n_gpu_layers 4" in str(refused.value)


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


def test_a_generation_that_raises_midway_fails_its_request_and_the_next_one_works(default_model):
    async def scenario():
        engine = Engine()
        await engine.load(lambda: LlamaRuntime(default_model, Config(n_ctx=512)))
        calls = []

        def boom():
            calls.append(1)
            if len(calls) == 4:  # past the prompt, between two generated tokens
                raise RuntimeError("injected failure in the model thread")
            return False

        def layout(runtime):
            return runtime.fim.layout(
                runtime.tokenize("def fib(n):\n"), runtime.tokenize("\n"), runtime.tokenize("    ")
            )

        with pytest.raises(RuntimeError, match="injected"):
            await engine.run(
                "doc",
                lambda runtime, cancelled: runtime.generate(
                    layout(runtime), max_tokens=16, cancelled=boom
                ),
            )
        after = await engine.run(
            "doc",
            lambda runtime, cancelled: runtime.generate(
                layout(runtime), max_tokens=8, cancelled=cancelled
            ),
        )
        fresh = await engine.run(
            "other",
            lambda runtime, cancelled: (
                setattr(runtime.llm, "n_tokens", 0),
                runtime.generate(layout(runtime), max_tokens=8),
            )[1],
        )
        assert after.tokens and after.text == fresh.text  # the KV cache was not left half-written
        assert engine.status()["state"] == "ready" and engine.pending == 0
        engine.close()

    asyncio.run(asyncio.wait_for(scenario(), 300))


# -- documents ------------------------------------------------------------------------------------


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    text=st.text(alphabet="ab\r\n😀", max_size=60),
    line=st.integers(0, 30),
    character=st.integers(0, 8),
)
def test_line_starts_counted_by_blocks_match_a_line_by_line_walk(text, line, character):
    saved = documents._BLOCK
    documents._BLOCK = 3  # blocks that end between \r and \n, and inside lines
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
        documents._BLOCK = saved


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
