"""Importing a GGUF file the user brings into the store, sha256-checked against the catalog."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from pathlib import Path

from smalllsp.engine import gguf_header
from smalllsp.models import store
from smalllsp.models import catalog as catalog_file
from smalllsp.models.catalog import CatalogModel, StoreError, check_name
from smalllsp.models.store import Progress, installed_path, store_dir


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
        magic = handle.read(len(gguf_header.MAGIC))
    if magic != gguf_header.MAGIC:
        raise StoreError(
            f"{source} is not a GGUF file (it starts with {magic!r}, not {gguf_header.MAGIC!r})"
        )
    size = source.stat().st_size
    # What can be refused without reading the file is refused before copying it.
    named = _import_target_by_name(name, size, trust) if name is not None else None
    if name is None and trust:
        _name_from_file(source)
    folder = store_dir()
    with store._store_lock():
        store._require_space(folder, size, f"importing {source.name}")
        digest = hashlib.sha256()
        descriptor, temporary = tempfile.mkstemp(prefix=".import-", suffix=".partial", dir=folder)
        try:
            with (
                os.fdopen(descriptor, "wb") as out,
                source.open("rb") as data,
                store._disk_errors(folder, size),
            ):
                progress(f"copying {source} into {folder}")
                store._copy(data, out, digest)
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
            store._fsync_directory(folder)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        if model.trusted or model.sha256 is None:
            records = store._trust_records()
            records[model.name] = {
                "file": model.file,
                "sha256": actual,
                "size": size,
                "imported_from": str(source),
            }
            store._write_trust_records(records)
            progress(
                f"recorded sha256 {actual} for {model.name} (trusted on your word: the catalog has no hash for it)"
            )
    progress(f"imported {model.name}: {target}")
    return target


def _import_target_by_name(name: str, size: int, trust: bool) -> CatalogModel:
    """The model an import with ``--name`` fills, checked before any byte is copied."""
    known = catalog_file.catalog()
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
    for model in catalog_file.catalog().values():
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
