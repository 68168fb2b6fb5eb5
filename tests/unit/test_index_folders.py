"""Workspace folders added and dropped at run time, index settings changed without a
restart, renames, and no inotify watch on the folders the index ignores."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from smalllsp.context.sources import ContextSources
from smalllsp.workspace.index import WorkspaceIndex
from smalllsp.workspace.outline_cache import CacheSettings
from smalllsp.workspace.watcher import WorkspaceWatcher

TIMEOUT_S = 20.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(f"not within {TIMEOUT_S} s: {what}")


def folder(root: Path, name: str, count: int = 3) -> Path:
    path = root / name
    for n in range(count):
        (path / "pkg").mkdir(parents=True, exist_ok=True)
        (path / "pkg" / f"{name}_{n}.py").write_text(f"def {name}_func{n}(x):\n    return x\n")
    return path


def names(index: WorkspaceIndex, name: str) -> list[str]:
    return [s.relpath for s in index.definitions(name)]


def test_folders_added_and_removed_are_indexed_and_dropped(tmp_path):
    one, two = folder(tmp_path, "one"), folder(tmp_path, "two")
    cache = CacheSettings(tmp_path / "cache", 64 << 20)
    index = WorkspaceIndex([one], workers=1, cache=cache)
    index.build()
    assert names(index, "one_func0") == ["pkg/one_0.py"] and names(index, "two_func0") == []
    assert index.set_roots([one, two]) == ([str(two)], [])
    assert names(index, "two_func2") == ["pkg/two_2.py"] and index.stats()["files"] == 6
    assert index.set_roots([two]) == ([], [str(one)])
    assert names(index, "one_func0") == [] and index.stats()["files"] == 3
    assert index.relpath(one / "pkg" / "one_0.py") == str(one / "pkg" / "one_0.py")
    index.update_path(one / "pkg" / "one_1.py")  # a stray event from the dropped folder
    assert names(index, "one_func1") == []
    parsed = index.parsed
    index.set_roots([two, one])  # back again: its outlines come from the cache
    assert names(index, "one_func0") == ["pkg/one_0.py"] and index.parsed == parsed
    index.close()


def test_a_nested_folder_dropped_keeps_files_the_outer_one_holds(tmp_path):
    outer = folder(tmp_path, "outer")
    inner = folder(outer, "inner")
    index = WorkspaceIndex([outer, inner], workers=1)
    index.build()
    assert names(index, "inner_func0") == ["pkg/inner_0.py"]  # relative to the innermost root
    index.set_roots([outer])
    assert names(index, "inner_func0") == ["inner/pkg/inner_0.py"]


def sources_for(roots: list[Path], **limits) -> ContextSources:
    sources = ContextSources(4, 16)
    done = []
    sources.start(
        [str(r) for r in roots],
        max_files=limits.get("max_files", 1000),
        max_file_bytes=limits.get("max_file_bytes", 1 << 20),
        workers=1,
        progress=lambda *args: None,
        done=lambda: done.append(True),
    )
    wait_for(lambda: bool(done), "the first build")
    return sources


def test_the_reconciler_follows_folders_settings_and_renames(tmp_path):
    one, two = folder(tmp_path, "one"), folder(tmp_path, "two")
    (two / "big.py").write_text("def big_one():\n    pass\n" + "# padding\n" * 400)
    sources = sources_for([one])
    index = sources.index
    assert index is not None
    try:
        changes = sources.changes
        changes.want([str(one), str(two)], True, 1000, 1 << 20)
        wait_for(lambda: names(index, "two_func0") == ["pkg/two_0.py"], "a folder added")
        wait_for(changes.idle, "the change applied")
        assert sources._watcher is not None and set(sources._watcher.roots) == {str(one), str(two)}
        # live updates in the added folder: its watch is there
        (two / "pkg" / "later.py").write_text("def later_func():\n    pass\n")
        wait_for(lambda: names(index, "later_func") == ["pkg/later.py"], "a file in it")
        # index_max_file_kb lowered: the large file leaves; raised: it is back
        changes.want([str(one), str(two)], True, 1000, 2048)
        wait_for(lambda: names(index, "big_one") == [] and changes.idle(), "a lower size limit")
        changes.want([str(one), str(two)], True, 1000, 1 << 20)
        wait_for(lambda: names(index, "big_one") == ["big.py"], "a higher size limit")
        changes.want([str(one), str(two)], True, 4, 1 << 20)
        wait_for(lambda: index.stats()["files"] == 4 and changes.idle(), "index_max_files lowered")
        assert index.stats()["truncated"]
        # renamed by the editor: the index moves it without waiting for the watcher
        changes.want([str(one), str(two)], True, 1000, 1 << 20)
        wait_for(lambda: changes.idle() and index.stats()["files"] == 8, "the limit raised")
        os.rename(one / "pkg" / "one_0.py", one / "pkg" / "renamed.py")
        changes.renamed([(str(one / "pkg" / "one_0.py"), str(one / "pkg" / "renamed.py"))])
        wait_for(lambda: names(index, "one_func0") == ["pkg/renamed.py"], "a rename")
        # workspace_index turned off, then on
        changes.want([str(one), str(two)], False, 1000, 1 << 20)
        wait_for(lambda: changes.idle() and index.stats()["files"] == 0, "the index off")
        changes.want([str(two)], True, 1000, 1 << 20)
        wait_for(lambda: changes.idle() and names(index, "two_func1") == ["pkg/two_1.py"], "on")
        assert names(index, "one_func1") == [] and sources.roots == [two]
    finally:
        sources.stop()


def inotify_watched_inodes() -> set[int]:
    """The inodes this process's inotify instances watch, as the kernel lists them."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                for line in info:
                    if line.startswith("inotify wd:"):
                        fields = dict(part.split(":", 1) for part in line.split()[1:])
                        inodes.add(int(fields["ino"], 16))
        except OSError:
            continue
    return inodes


@pytest.mark.skipif(not os.path.isdir("/proc/self/fdinfo"), reason="inotify is Linux's")
def test_no_inotify_watch_on_ignored_folders(tmp_path):
    root = folder(tmp_path, "ws")
    watched = [root, root / "pkg", root / "src", root / "src" / "deep"]
    (root / "src" / "deep").mkdir(parents=True)
    ignored = []
    for name in ("node_modules/left-pad/lib", ".venv/lib/site", "env2/lib", ".git/objects/ab"):
        (root / name).mkdir(parents=True)
        ignored.append(root / name.split("/")[0])
    (root / "env2" / "pyvenv.cfg").write_text("home = /usr\n")  # a venv by its marker
    (root / ".venv" / "bin").mkdir()
    (root / ".venv" / "bin" / "activate").write_text("")  # a venv by its name and script
    index = WorkspaceIndex([root], workers=1)
    index.build()
    watcher = WorkspaceWatcher(index, [root], debounce_s=0.05)
    before = inotify_watched_inodes()
    watcher.start()
    try:
        inodes = inotify_watched_inodes() - before
        assert inodes == {os.stat(p).st_ino for p in watched}
        # a dependency folder created later is not watched either; a source folder is
        (root / "src" / "node_modules" / "x").mkdir(parents=True)
        (root / "src" / "new").mkdir()
        (root / "src" / "new" / "fresh.py").write_text("def fresh():\n    pass\n")
        wait_for(lambda: names(index, "fresh") == ["src/new/fresh.py"], "a new source folder")
        inodes = inotify_watched_inodes() - before
        assert os.stat(root / "src" / "new").st_ino in inodes
        assert os.stat(root / "src" / "node_modules").st_ino not in inodes
        assert not any(os.stat(p).st_ino in inodes for p in ignored)
    finally:
        watcher.stop()
