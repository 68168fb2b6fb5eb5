"""The workspace index on the fixture workspace and on generated trees in tmp_path."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from smalllsp.context.sources import ContextSources
from smalllsp.workspace import files as files_module
from smalllsp.workspace import build as build_module
from smalllsp.workspace.index import WorkspaceIndex

WORKSPACE = Path(__file__).resolve().parent.parent / "fixtures" / "workspace"

INDEXED = {
    "billing/__init__.py",
    "billing/api.py",
    "billing/keep_pb2.py",  # re-included by !keep_pb2.py
    "deploy/env/production.py",  # a directory named env that is no virtual environment
    "engine/src/lib.rs",
    "java/com/example/inventory/Inventory.java",
    "native/matrix.cpp",
    "native/ring.c",
    "native/ring.h",
    "shop/__init__.py",
    "shop/checkout.py",
    "shop/local_keep.py",  # re-included by shop/.gitignore's !local_keep.py
    "shop/menu_latin1.py",  # not UTF-8: indexed with replacement characters
    "shop/nested/secret.py",  # /secret.py is anchored to the root
    "store/store.go",
    "web/Badge.tsx",
    "web/cart.js",
    "web/client.ts",
}


@pytest.fixture(scope="module")
def fixture_index() -> WorkspaceIndex:
    built = WorkspaceIndex([WORKSPACE])
    built.build()
    return built


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A writable copy of the fixture workspace."""
    copy = tmp_path / "ws"
    shutil.copytree(WORKSPACE, copy, symlinks=True)
    return copy


def relpaths(index: WorkspaceIndex) -> set[str]:
    return {index.relpath(path) for path in index.paths()}


def test_indexes_exactly_the_source_files_that_are_not_ignored(fixture_index):
    assert relpaths(fixture_index) == INDEXED
    stats = fixture_index.stats()
    # .venv (pyvenv.cfg), node_modules, build/, generated/, tools/env (activate script),
    # /secret.py, billing/events_pb2.py, shop/local_settings.py
    assert stats["skipped"]["ignored"] == 8
    assert stats["skipped"]["binary"] == 1  # assets/firmware.c
    assert stats["skipped"]["not utf-8"] == 1
    assert stats["files"] == len(INDEXED) and stats["definitions"] > 80 and not stats["truncated"]
    assert stats["bytes_read"] > 5000 and stats["seconds"] > 0 and stats["files_per_second"] > 0


def test_definitions_by_name_across_languages(fixture_index):
    found = fixture_index.definitions("charge")
    assert [(s.relpath, s.definition.kind) for s in found] == [
        ("billing/api.py", "function"),
        ("web/client.ts", "method"),
    ]
    assert found[0].path == str(WORKSPACE / "billing" / "api.py")
    assert found[0].definition.parameters.names == ("amount", "currency")
    assert [s.relpath for s in fixture_index.definitions("Get")] == [
        "store/store.go",
        "store/store.go",
    ]
    assert fixture_index.definitions("get") == []  # only in the ignored .venv
    assert fixture_index.definitions("leftpad") == []  # only in node_modules
    assert fixture_index.definitions("prix")[0].relpath == "shop/menu_latin1.py"


def test_referencing_files(fixture_index):
    users = [fixture_index.relpath(p) for p in fixture_index.referencing_files("charge")]
    assert "shop/checkout.py" in users and "billing/__init__.py" in users
    assert all(not u.startswith(("node_modules", ".venv", "build")) for u in users)
    assert fixture_index.referencing_files("no_such_name_anywhere") == []


def test_outline_of_relpath_and_root_of(fixture_index):
    api = str(WORKSPACE / "billing" / "api.py")
    assert fixture_index.outline_of(api).imports[0] == "from __future__ import annotations"
    assert fixture_index.relpath(api) == "billing/api.py"
    assert fixture_index.root_of(api) == WORKSPACE
    assert fixture_index.root_of("/somewhere/else.py") is None
    assert (
        fixture_index.outline_of(str(WORKSPACE / "node_modules" / "leftpad" / "index.js")) is None
    )


def test_gitignore_directory_only_anchored_and_nested_patterns(tmp_path):
    (tmp_path / ".gitignore").write_text("tmp*/\n/top.py\n*.gen.py\n")
    (tmp_path / "tmp_dir").mkdir()
    (tmp_path / "tmp_dir" / "a.py").write_text("def in_ignored_dir(): pass\n")
    (tmp_path / "tmp_file.py").write_text("def file_matching_a_dir_only_pattern(): pass\n")
    (tmp_path / "top.py").write_text("def anchored(): pass\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "top.py").write_text("def not_anchored_here(): pass\n")
    (tmp_path / "sub" / "x.gen.py").write_text("def generated(): pass\n")
    (tmp_path / "sub" / ".gitignore").write_text("!x.gen.py\n")  # a deeper file overrides
    (tmp_path / "sub" / "y.gen.py").write_text("def still_generated(): pass\n")
    index = WorkspaceIndex([tmp_path])
    index.build()
    assert relpaths(index) == {"tmp_file.py", "sub/top.py", "sub/x.gen.py"}


def test_too_large_files_are_skipped(tmp_path):
    (tmp_path / "big.py").write_text("x = 1\n" * 1000)
    (tmp_path / "small.py").write_text("y = 1\n")
    index = WorkspaceIndex([tmp_path], max_file_bytes=1024)
    index.build()
    assert relpaths(index) == {"small.py"}
    assert index.stats()["skipped"]["too large"] == 1


def test_symlink_loop_is_not_followed(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("def once(): pass\n")
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "loop")
    os.symlink(tmp_path, tmp_path / "pkg" / "up")
    index = WorkspaceIndex([tmp_path])
    index.build()
    assert relpaths(index) == {"pkg/mod.py"}
    assert len(index.definitions("once")) == 1
    assert index.stats()["skipped"]["symlinked directory"] == 2


def test_unreadable_file(tmp_path, monkeypatch):
    (tmp_path / "ok.py").write_text("def fine(): pass\n")
    locked = tmp_path / "locked.py"
    locked.write_text("def secret(): pass\n")
    locked.chmod(0)
    index = WorkspaceIndex([tmp_path])
    index.build()
    if os.geteuid() == 0:
        # chmod 000 does not stop root: the file is read like any other.
        print(
            "running as root: chmod 000 does not make a file unreadable; checking the refusal with a patched open"
        )
        assert "locked.py" in relpaths(index)

        real_open = os.open  # files are opened with os.open (O_NONBLOCK, see smalllsp.safeio)

        def refusing_open(path, *args, **kwargs):
            if os.path.realpath(path) == os.path.realpath(locked):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr("os.open", refusing_open)
        index = WorkspaceIndex([tmp_path])
        index.build()
    assert relpaths(index) == {"ok.py"}
    assert index.stats()["skipped"]["unreadable"] == 1


def test_unreadable_directory_as_non_root(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not make a directory unreadable")
    (tmp_path / "closed").mkdir()
    (tmp_path / "closed" / "a.py").write_text("x = 1\n")
    (tmp_path / "closed").chmod(0)
    try:
        index = WorkspaceIndex([tmp_path])
        index.build()
        assert index.stats()["skipped"]["unreadable"] == 1
    finally:
        (tmp_path / "closed").chmod(0o755)


def test_file_vanishing_during_the_build(tmp_path, monkeypatch):
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text(f"def from_{name[0]}(): pass\n")
    real_read = files_module.read_source

    def vanishing_read(path, max_bytes, roots=()):
        if path.endswith("b.py"):
            os.remove(path)
        return real_read(path, max_bytes, roots)

    monkeypatch.setattr(files_module, "read_source", vanishing_read)
    index = WorkspaceIndex([tmp_path])
    index.build()
    assert relpaths(index) == {"a.py", "c.py"}
    assert index.stats()["skipped"]["vanished"] == 1


def test_non_utf8_file_is_indexed_with_replacement(fixture_index):
    prix = fixture_index.definitions("prix")[0].definition
    assert prix.parameters.names == ("article",)
    assert "\ufffd" in prix.doc  # the Latin-1 currency sign


def test_overlay_wins_until_closed(workspace):
    index = WorkspaceIndex([workspace])
    index.build()
    api = workspace / "billing" / "api.py"
    edited = api.read_text().replace(
        'def charge(amount, currency="EUR")', "def charge(amount, currency, *, retries=3)"
    )
    index.set_open_document(api, "python", edited)
    found = [s for s in index.definitions("charge") if s.relpath == "billing/api.py"]
    assert found[0].definition.parameters.names == ("amount", "currency", "retries")
    saved = [d for d in index.saved_definitions(api) if d.name == "charge"]
    assert saved[0].parameters.names == (
        "amount",
        "currency",
    )  # what other files were written against
    assert "retries" in index.outline_of(api).references
    # A new name only in the editor's text is found; a name it deleted is not.
    index.set_open_document(api, "python", edited.replace("def refund(", "def give_back("))
    assert [s.relpath for s in index.definitions("give_back")] == ["billing/api.py"]
    assert index.definitions("refund") == []
    index.close_document(api)
    assert [
        s.definition.parameters.names
        for s in index.definitions("charge")
        if s.relpath == "billing/api.py"
    ] == [("amount", "currency")]
    assert index.definitions("give_back") == [] and len(index.definitions("refund")) == 1


def test_overlay_of_an_unsaved_new_file(workspace):
    index = WorkspaceIndex([workspace])
    index.build()
    new = workspace / "shop" / "coupons.py"
    index.set_open_document(new, "python", "def apply_coupon(cart, code):\n    return cart\n")
    assert [s.relpath for s in index.definitions("apply_coupon")] == ["shop/coupons.py"]
    assert index.saved_definitions(new) == ()
    assert str(new) in index.referencing_files("cart")
    index.close_document(new)
    assert index.definitions("apply_coupon") == []


def test_max_files_truncates_with_a_warning(workspace, caplog):
    index = WorkspaceIndex([workspace], max_files=5)
    with caplog.at_level(logging.WARNING, logger="smalllsp.workspace.index"):
        index.build()
    stats = index.stats()
    assert stats["files"] == 5 and stats["truncated"]
    assert any("stopped at 5 files" in record.getMessage() for record in caplog.records)


def test_live_updates_without_the_watcher(workspace):
    index = WorkspaceIndex([workspace])
    index.build()
    checkout = workspace / "shop" / "checkout.py"
    checkout.write_text(checkout.read_text() + "\n\ndef refund_order(order):\n    return order\n")
    index.update_path(checkout)
    assert [s.relpath for s in index.definitions("refund_order")] == ["shop/checkout.py"]
    # A file that became ignored, then un-ignored, by editing .gitignore.
    (workspace / ".gitignore").write_text((workspace / ".gitignore").read_text() + "checkout.py\n")
    index.update_path(workspace / ".gitignore")
    assert index.definitions("refund_order") == []
    (workspace / ".gitignore").write_text("")
    index.update_path(workspace / ".gitignore")
    assert index.definitions("refund_order") != [] and index.definitions("generated_function") != []
    # Move a directory, then remove it.
    shutil.move(workspace / "store", workspace / "storage")
    index.move_path(workspace / "store", workspace / "storage")
    assert {s.relpath for s in index.definitions("NewStore")} == {"storage/store.go"}
    shutil.rmtree(workspace / "storage")
    index.remove_path(workspace / "storage")
    assert index.definitions("NewStore") == []
    # A deleted file passed to update_path is dropped.
    (workspace / "web" / "cart.js").unlink()
    index.update_path(workspace / "web" / "cart.js")
    assert index.definitions("cartTotal") == []
    # Ignored paths are not indexed by update_path either.
    (workspace / "node_modules" / "leftpad" / "more.js").write_text("function padMore() {}\n")
    index.update_path(workspace / "node_modules" / "leftpad" / "more.js")
    assert index.definitions("padMore") == []


def test_progress_is_rate_limited_and_cancel_stops_early(tmp_path):
    for n in range(300):
        (tmp_path / f"m{n}.py").write_text(f"def f{n}(a, b=1):\n    return a\n")
    calls = []
    index = WorkspaceIndex([tmp_path])
    started = time.monotonic()
    index.build(progress=lambda done, total, message: calls.append((done, total, message)))
    elapsed = time.monotonic() - started
    assert calls[-1][:2] == (300, 300)
    assert len(calls) <= elapsed / build_module.PROGRESS_INTERVAL_S + 3
    seen = []
    cancelled = WorkspaceIndex([tmp_path])
    cancelled.build(
        progress=lambda done, total, message: seen.append(done),
        cancelled=lambda: len(cancelled.paths()) >= 50,
    )
    assert 50 <= cancelled.stats()["files"] < 300


def test_searchable_while_building_from_another_thread(tmp_path):
    for n in range(400):
        (tmp_path / f"m{n:03}.py").write_text(f"def shared(x{n}):\n    return {n}\n")
    index = WorkspaceIndex([tmp_path])
    counts: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def reader():
        try:
            while not done.is_set():
                counts.append(len(index.definitions("shared")))
                index.referencing_files("shared")
        except BaseException as problem:  # noqa: BLE001 - reported below, not swallowed
            errors.append(problem)

    thread = threading.Thread(target=reader)
    thread.start()
    index.build()
    done.set()
    thread.join()
    assert not errors
    assert counts == sorted(counts) and len(index.definitions("shared")) == 400
    assert any(0 < c < 400 for c in counts), "lookups during the build see the files indexed so far"


SHARED_MEMORY = Path("/dev/shm")


@pytest.fixture
def fifty_thousand_files(tmp_path):
    """250 packages of 200 tiny modules, removed afterwards.

    On a tmpfs when there is one: creating and deleting 50,000 files on this
    machine's disk took from 3 s to 40 s each, with other work on it; the test
    is about the index, not the disk (the index's own build reads them either way).
    """
    use_memory = SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK)
    base = (
        Path(tempfile.mkdtemp(prefix="smalllsp-50k-", dir=SHARED_MEMORY))
        if use_memory
        else tmp_path
    )
    root = base / "big"
    for d in range(250):
        directory = root / f"pkg{d:03}"
        directory.mkdir(parents=True)
        for f in range(200):
            (directory / f"m{f:03}.py").write_bytes(b"def f%d(a):\n    return a\n" % f)
    yield root
    shutil.rmtree(base if use_memory else root)


def test_fifty_thousand_files_stop_at_max_files(fifty_thousand_files, caplog):
    index = WorkspaceIndex([fifty_thousand_files])  # default max_files: 20000
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="smalllsp.workspace.index"):
        index.build()
    seconds = time.perf_counter() - started
    stats = index.stats()
    print(f"indexed {stats['files']} of 50,000 files in {seconds:.1f} s")
    assert stats["files"] == 20000 and stats["truncated"]
    assert any("stopped at 20000 files" in r.getMessage() for r in caplog.records)
    assert seconds < 30


# -- worker processes ---------------------------------------------------------


def many_files(root: Path, count: int) -> Path:
    for n in range(count):
        (root / f"m{n:04}.py").write_text(
            f'def f{n}(a, b=1):\n    """Doc {n}."""\n    return a\n\nK{n} = {n}\n'
        )
    return root


def entries(index: WorkspaceIndex) -> dict:
    return {
        path: (entry.relpath, entry.outline, entry.size) for path, entry in index._files.items()
    }


def test_worker_processes_index_exactly_what_the_build_thread_does(monkeypatch):
    monkeypatch.setattr(build_module, "POOL_MIN_FILES", 0)
    alone = WorkspaceIndex([WORKSPACE], workers=1)
    alone.build()
    pooled = WorkspaceIndex([WORKSPACE], workers=2)
    pooled.build()
    assert pooled.stats()["workers"] == 2 and alone.stats()["workers"] == 1
    assert entries(pooled) == entries(alone)
    assert pooled._names.keys() == alone._names.keys()
    assert pooled.stats()["skipped"] == alone.stats()["skipped"]  # binary, not utf-8, ignored
    assert pooled.definitions("charge") == alone.definitions("charge")
    assert pooled.referencing_files("charge") == alone.referencing_files("charge")
    assert multiprocessing.active_children() == []


def test_worker_processes_report_progress_and_stop_when_cancelled(tmp_path):
    many_files(tmp_path, 1200)
    calls = []
    index = WorkspaceIndex([tmp_path], workers=2)
    index.build(progress=lambda done, total, message: calls.append((done, total)))
    assert index.stats()["workers"] == 2 and index.stats()["files"] == 1200
    assert calls[-1] == (1200, 1200) and any(
        0 < done < 1200 for done, total in calls if total == 1200
    )
    assert index.definitions("f1199")[0].definition.parameters.names == ("a", "b")
    assert multiprocessing.active_children() == []

    cancelled = WorkspaceIndex([tmp_path], workers=2)
    cancelled.build(cancelled=lambda: len(cancelled.paths()) >= 100)
    assert 100 <= cancelled.stats()["files"] < 400  # at most the batches in flight are added
    assert multiprocessing.active_children() == []


def test_a_pool_that_cannot_start_falls_back_with_a_warning(tmp_path, monkeypatch, caplog):
    many_files(tmp_path, 600)

    def no_processes(*args, **kwargs):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(build_module.parallel, "OutlinePool", no_processes)
    index = WorkspaceIndex([tmp_path], workers=2)
    with caplog.at_level(logging.WARNING, logger="smalllsp.workspace.index"):
        index.build()
    assert index.stats()["files"] == 600 and index.stats()["workers"] == 1
    assert any("worker processes failed (OSError" in r.getMessage() for r in caplog.records)


def test_a_worker_killed_mid_build_leaves_the_rest_to_the_build_thread(
    tmp_path, monkeypatch, caplog
):
    many_files(tmp_path, 1200)
    pools = []
    real_pool = build_module.parallel.OutlinePool

    def recorded(*args, **kwargs):
        pools.append(real_pool(*args, **kwargs))
        return pools[-1]

    monkeypatch.setattr(build_module.parallel, "OutlinePool", recorded)
    killed = []

    def kill_one_worker(done, total, message):
        if total and done >= 100 and not killed:
            killed.append(next(iter(pools[0]._executor._processes)))
            os.kill(killed[0], signal.SIGKILL)

    index = WorkspaceIndex([tmp_path], workers=2)
    with caplog.at_level(logging.WARNING, logger="smalllsp.workspace.index"):
        index.build(progress=kill_one_worker)
    assert killed
    assert any(
        "worker processes failed (BrokenProcessPool" in r.getMessage() for r in caplog.records
    )
    assert index.stats()["files"] == 1200 and len(index.definitions("f1199")) == 1
    assert multiprocessing.active_children() == []


def test_stopping_the_sources_mid_build_leaves_no_process(tmp_path):
    many_files(tmp_path, 3000)
    sources = ContextSources(ring_chunks=0, ring_chunk_lines=8)
    started = threading.Event()
    finished = threading.Event()

    def progress(done, total, message):
        if total and done > 0:
            started.set()

    sources.start(
        [str(tmp_path)],
        max_files=20000,
        max_file_bytes=1 << 20,
        progress=progress,
        done=finished.set,
        workers=2,
    )
    assert started.wait(60)
    assert multiprocessing.active_children(), "the build runs in worker processes"
    sources.stop()  # what the server's shutdown does
    assert finished.is_set() and sources.index.stats()["files"] < 3000
    assert multiprocessing.active_children() == []


CHILD = """
import multiprocessing, sys, time
from smalllsp.workspace.index import WorkspaceIndex

def hang(done, total, message):
    if total and done >= 50:
        print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
        time.sleep(600)

if __name__ == "__main__":
    WorkspaceIndex([sys.argv[1]], workers=2).build(progress=hang)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads process states from /proc")
def test_workers_exit_when_the_server_is_killed(tmp_path):
    """SIGKILL gives the server no chance to stop its pool: the workers notice and leave."""
    (tmp_path / "ws").mkdir()
    many_files(tmp_path / "ws", 1200)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    server = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "ws")], stdout=subprocess.PIPE, text=True
    )
    try:
        workers = [int(pid) for pid in server.stdout.readline().split()]
        assert len(workers) == 2 and all(alive(pid) for pid in workers)
    finally:
        server.kill()
        server.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers), "worker processes outlived the server"


def alive(pid: int) -> bool:
    """Running (an exited process whose new parent has not reaped it yet is a zombie: not alive)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
