"""The index's on-disk outline cache, with real files and a real SQLite database:
a warm start parses nothing, a change is parsed again, an upgrade or a damaged
entry is never trusted, two processes share it safely, and it stays bounded."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from smalllsp.syntax import symbols
from smalllsp.workspace import files as files_module
from smalllsp.workspace import outline_cache, outline_codec
from smalllsp.workspace.index import WorkspaceIndex
from smalllsp.workspace.outline_cache import CacheSettings

HOUR_NS = 3600 * 10**9


def make_tree(root: Path, count: int = 30, *, old: bool = True) -> list[Path]:
    """``count`` Python files in nested folders; ``old``: mtimes an hour back (not racy)."""
    made = []
    for n in range(count):
        folder = root / f"pkg{n % 3}" / f"sub{n % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"m{n}.py"
        path.write_text(
            f'"""Module {n}."""\n\nLIMIT_{n} = {n}\n\n\n'
            f"def f{n}(a, b=1, *args, key=None):\n    # a comment only in the source {n}\n"
            f'    note = "body text {n} never cached"\n    return a\n\n\n'
            f"class K{n}:\n    def method(self, x):\n        return f{n}(x)\n"
        )
        if old:
            stamp = time.time_ns() - HOUR_NS
            os.utime(path, ns=(stamp, stamp))
        made.append(path)
    return made


def cached_index(root: Path, cache_dir: Path, **kwargs) -> WorkspaceIndex:
    return WorkspaceIndex([root], workers=1, cache=CacheSettings(cache_dir, 64 << 20), **kwargs)


def built(root: Path, cache_dir: Path, **kwargs) -> WorkspaceIndex:
    index = cached_index(root, cache_dir, **kwargs)
    index.build()
    index.flush_cache()
    index.close()
    return index


@pytest.fixture
def parses(monkeypatch):
    """Every call of the tree-sitter outline extractor made while indexing, by path-less count."""
    calls = []
    real = symbols.outline

    def counting(language_id, source, tree=None):
        calls.append(language_id)
        return real(language_id, source, tree)

    monkeypatch.setattr(files_module.symbols, "outline", counting)
    return calls


def snapshot(index: WorkspaceIndex) -> dict:
    return {path: (e.relpath, e.outline, e.size, e.mtime_ns) for path, e in index._files.items()}


def test_a_warm_start_parses_nothing_and_reads_no_file(tmp_path, parses):
    root, cache_dir = tmp_path / "ws", tmp_path / "cache"
    make_tree(root)
    cold = built(root, cache_dir)
    assert len(parses) == 30 and cold.stats()["parsed"] == 30
    parses.clear()
    warm = built(root, cache_dir)
    stats = warm.stats()
    assert parses == [] and stats["parsed"] == 0
    assert stats["from_cache"] == 30 and stats["rehashed"] == 0 and stats["bytes_read"] == 0
    assert snapshot(warm) == snapshot(cold)
    assert (
        warm.definitions("f7")[0].definition.parameters
        == cold.definitions("f7")[0].definition.parameters
    )
    assert (
        warm.referencing_files("f3")
        == cold.referencing_files("f3")
        == [str(root / "pkg0" / "sub1" / "m3.py")]
    )


def test_files_written_just_before_the_build_are_checked_by_content(tmp_path, parses):
    """mtime within RACY_NS of the read: a same-size change in the same tick could hide,
    so the warm start hashes those files again, and parses only if the bytes differ."""
    root, cache_dir = tmp_path / "ws", tmp_path / "cache"
    paths = make_tree(root, 10, old=False)
    built(root, cache_dir)
    parses.clear()
    stamp = os.stat(paths[4]).st_mtime_ns
    paths[4].write_text(paths[4].read_text().replace("def f4(", "def g4("))  # same size
    os.utime(paths[4], ns=(stamp, stamp))  # and the same mtime: only the content tells
    warm = built(root, cache_dir)
    assert warm.stats()["parsed"] == 1 and len(parses) == 1
    assert warm.stats()["rehashed"] == 9
    assert warm.definitions("f4") == [] and warm.definitions("g4")[0].relpath == "pkg1/sub0/m4.py"


def test_a_changed_file_is_parsed_again_and_a_touched_one_is_not(tmp_path, parses):
    root, cache_dir = tmp_path / "ws", tmp_path / "cache"
    paths = make_tree(root)
    built(root, cache_dir)
    paths[5].write_text(paths[5].read_text() + "\n\ndef added_later(q):\n    return q\n")
    os.utime(paths[6])  # a new mtime, the same bytes (a checkout, a touch)
    paths[7].unlink()
    parses.clear()
    warm = built(root, cache_dir)
    stats = warm.stats()
    assert len(parses) == 1 and stats["parsed"] == 1
    assert stats["rehashed"] == 1 and stats["from_cache"] == 27 and stats["files"] == 29
    assert [s.relpath for s in warm.definitions("added_later")] == ["pkg2/sub1/m5.py"]
    assert warm.definitions("f7") == []
    parses.clear()
    again = built(root, cache_dir)  # the new rows were written: nothing to parse now
    assert parses == [] and again.stats()["files"] == 29
    rows = sqlite3.connect(next(cache_dir.glob("*.sqlite"))).execute("SELECT path FROM outlines")
    assert str(paths[7]) not in {path for (path,) in rows}  # the deleted file's row is gone


@pytest.mark.parametrize("change", ["grammar", "format", "extractor"])
def test_a_grammar_format_or_extractor_change_invalidates(tmp_path, parses, monkeypatch, change):
    root, cache_dir = tmp_path / "ws", tmp_path / "cache"
    make_tree(root)
    built(root, cache_dir)
    outline_cache.current_stamp.cache_clear()
    if change == "grammar":
        versions = {**outline_cache.grammar_versions(), "tree-sitter-python": "99.0.0"}
        monkeypatch.setattr(outline_cache, "grammar_versions", lambda: versions)
    elif change == "format":
        monkeypatch.setattr(outline_codec, "FORMAT_VERSION", outline_codec.FORMAT_VERSION + 1)
    else:
        monkeypatch.setattr(outline_cache, "extractor_fingerprint", lambda: "another extractor")
    parses.clear()
    try:
        upgraded = built(root, cache_dir)
        assert len(parses) == 30 and upgraded.stats()["from_cache"] == 0
        parses.clear()
        assert built(root, cache_dir).stats()["from_cache"] == 30 and parses == []
    finally:
        outline_cache.current_stamp.cache_clear()


def database(cache_dir: Path) -> Path:
    (path,) = cache_dir.glob("*.sqlite")
    return path


def test_a_corrupt_or_foreign_entry_is_ignored_and_rebuilt(tmp_path, parses):
    root, cache_dir = tmp_path / "ws", tmp_path / "cache"
    paths = make_tree(root)
    cold = built(root, cache_dir)
    with sqlite3.connect(database(cache_dir)) as db:
        # a truncated blob; another file's entry put under this path (checksum and all);
        # a damaged name list
        db.execute(
            "UPDATE outlines SET blob = substr(blob, 1, 40) WHERE path = ?", (str(paths[1]),)
        )
        other = db.execute(
            "SELECT names, refs, checksum, blob FROM outlines WHERE path = ?", (str(paths[2]),)
        ).fetchone()
        db.execute(
            "UPDATE outlines SET names = ?, refs = ?, checksum = ?, blob = ? WHERE path = ?",
            (*other, str(paths[3])),
        )
        db.execute("UPDATE outlines SET names = 'f4x' WHERE path = ?", (str(paths[4]),))
    parses.clear()
    warm = built(root, cache_dir)
    assert len(parses) == 3 and warm.stats()["cache_rejected"] == 3
    assert snapshot(warm) == snapshot(cold)
    parses.clear()
    assert built(root, cache_dir).stats()["from_cache"] == 30 and parses == []  # rebuilt


def test_an_entry_that_passes_its_checksum_but_does_not_decode_is_parsed(tmp_path, parses):
    """Only a program that computes the checksum writes such a row; still, it is not believed."""
    root, cache_dir = tmp_path / "ws", tmp_path / "cache"
    paths = make_tree(root)
    cold = built(root, cache_dir)
    path = str(paths[6])
    bad = b'["python",[[1,2]],[],0]'
    with sqlite3.connect(database(cache_dir)) as db:
        names, refs = db.execute(
            "SELECT names, refs FROM outlines WHERE path = ?", (path,)
        ).fetchone()
        db.execute(
            "UPDATE outlines SET blob = ?, checksum = ? WHERE path = ?",
            (bad, outline_codec.checksum(path, names, refs, bad), path),
        )
    parses.clear()
    warm = built(root, cache_dir)
    assert parses == [] and warm.stats()["from_cache"] == 30  # names and references are fine
    assert warm.definitions("f6")[0].definition == cold.definitions("f6")[0].definition
    assert len(parses) == 1  # its outline, when first needed, came from the file


@pytest.mark.parametrize("damage", ["truncated", "garbage", "another program's database"])
def test_a_damaged_or_foreign_database_is_moved_aside(tmp_path, parses, damage):
    root, cache_dir = tmp_path / "ws", tmp_path / "cache"
    make_tree(root, 200)
    cold = built(root, cache_dir)
    path = database(cache_dir)
    if damage == "truncated":
        with open(path, "r+b") as handle:
            handle.truncate(os.path.getsize(path) // 3)
    elif damage == "garbage":
        path.write_bytes(b"this is not a database at all" * 100)
    else:
        path.unlink()
        with sqlite3.connect(path) as other:
            other.execute(
                "CREATE TABLE outlines (path TEXT, stamp TEXT, size INT, mtime_ns INT,"
                " digest BLOB, read_ns INT, checksum BLOB, blob BLOB)"
            )
    parses.clear()
    warm = built(root, cache_dir)
    assert snapshot(warm) == snapshot(cold)
    assert warm.stats()["from_cache"] + len(parses) == 200 and len(parses) > 0
    parses.clear()
    assert built(root, cache_dir).stats()["from_cache"] == 200 and parses == []
    assert [p.name for p in cache_dir.iterdir() if ".bad-" in p.name] == []


def test_the_cache_holds_outlines_never_file_text(tmp_path):
    root, cache_dir = tmp_path / "ws", tmp_path / "cache"
    make_tree(root, 5)
    built(root, cache_dir)
    raw = b"".join(p.read_bytes() for p in cache_dir.iterdir())
    assert b"def f3(a, b=1, *args, key=None)" in raw  # the signature is the outline's
    assert b"never cached" not in raw and b"return a" not in raw and b"return f3(x)" not in raw
    assert os.stat(cache_dir).st_mode & 0o777 == 0o700  # outlines name a project's code: private


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from smalllsp.workspace.index import WorkspaceIndex
    from smalllsp.workspace.outline_cache import CacheSettings
    root, cache_dir, rounds = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    for n in range(rounds):
        index = WorkspaceIndex([root], workers=1, cache=CacheSettings(cache_dir, 64 << 20))
        index.build()
        for path in sorted(root.rglob("*.py"))[n::3]:  # rewrite a third: both servers write rows
            path.write_text(path.read_text() + f"\\n\\ndef extra_{sys.argv[4]}_{n}():\\n    pass\\n")
            index.update_path(path)
        index.flush_cache()
        index.close()
    print(index.stats()["files"])
    """
)


def test_two_servers_on_one_workspace_do_not_corrupt_the_cache(tmp_path, parses):
    root, cache_dir = tmp_path / "ws", tmp_path / "cache"
    make_tree(root, 300)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), str(cache_dir), "4", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for name in ("a", "b")
    ]
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
        assert out.strip() == "300"
        assert "not written" not in err and "unreadable" not in err, err
    with sqlite3.connect(database(cache_dir)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    parses.clear()
    warm = cached_index(root, cache_dir)
    warm.build()
    stats = warm.stats()
    # Rows were written by both, sometimes for an older version of a file: those miss and are
    # parsed; whatever was loaded is exactly what a fresh parse gives.
    assert stats["cache_rejected"] == 0 and stats["files"] == 300
    fresh = WorkspaceIndex([root], workers=1)
    fresh.build()
    assert snapshot(warm) == snapshot(fresh)
    assert stats["from_cache"] + stats["rehashed"] >= 200


def test_a_database_another_server_holds_is_waited_for_never_thrown_away(
    tmp_path, parses, monkeypatch, caplog
):
    """Two servers starting at once: one saw "database is locked" and moved the cache aside."""
    root, cache_dir = tmp_path / "ws", tmp_path / "cache"
    make_tree(root, 20)
    built(root, cache_dir)
    monkeypatch.setattr(outline_cache, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(outline_cache, "BUSY_RETRIES", 2)
    monkeypatch.setattr(outline_cache, "BUSY_PAUSE_S", 0.01)
    holder = sqlite3.connect(database(cache_dir), isolation_level=None)
    holder.execute("PRAGMA journal_mode = DELETE")  # so that its lock keeps readers out too
    holder.execute("BEGIN EXCLUSIVE")
    try:
        parses.clear()
        busy = cached_index(root, cache_dir)
        busy.build()
        busy.close()
        assert len(parses) == 20  # nothing could be read: every file parsed
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "busy" in caplog.text and "starting afresh" not in caplog.text
    parses.clear()
    warm = cached_index(root, cache_dir)
    warm.build()
    assert parses == [] and warm.stats()["from_cache"] == 20  # the rows are all still there
    warm.close()


def test_other_workspaces_are_evicted_least_recently_used_first(tmp_path):
    cache_dir = tmp_path / "cache"
    sizes = {}
    for n, name in enumerate(["oldest", "middle", "newest"]):
        root = tmp_path / name
        make_tree(root, 100)
        built(root, cache_dir)
        path = max(cache_dir.glob("*.sqlite"), key=os.path.getmtime)
        os.utime(path, (1_000_000 + n, 1_000_000 + n))  # used long ago, in this order
        sizes[name] = path
    one = os.path.getsize(sizes["oldest"]) + 4096
    current = tmp_path / "current"
    make_tree(current, 100)
    index = WorkspaceIndex([current], workers=1, cache=CacheSettings(cache_dir, 2 * one + 8192))
    index.build()
    index.flush_cache()
    index.close()
    left = {p.name for p in cache_dir.glob("*.sqlite")}
    assert sizes["oldest"].name not in left and sizes["middle"].name not in left
    assert sizes["newest"].name in left and len(left) == 2  # the newest other one, and ours


def test_a_workspace_alone_over_the_bound_caches_no_new_files(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(outline_cache, "WRITE_BATCH", 50)  # the bound is checked per transaction
    root, cache_dir = tmp_path / "ws", tmp_path / "cache"
    make_tree(root, 400)
    index = WorkspaceIndex([root], workers=1, cache=CacheSettings(cache_dir, 40_000))
    index.build()
    index.flush_cache()
    index.close()
    rows = (
        sqlite3.connect(database(cache_dir)).execute("SELECT count(*) FROM outlines").fetchone()[0]
    )
    assert 0 < rows < 400
    assert any("over index_cache_max_mb" in r.getMessage() for r in caplog.records)
