"""The catalog of models smalllsp knows (``registry.toml``, built from the repository's ``models/``).

A catalog entry names a model, the file it lives in, the file's exact size
and sha256 where they were checked, and where it comes from; everything else
(family, parameters, memory guidance) travels in ``info``. The catalog is
checked when it is read: names and file names are plain file names, hashes
are hashes, so nothing it says can lead outside the store.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import re
import sys
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT = "default"
# Names and file names in the store: no path separators, no leading dot, no "..".
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,199}\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


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
    """The models in the catalog shipped with smalllsp (``smalllsp/models/registry.toml``,
    which is the repository's ``models/registry.toml``)."""
    return parse_catalog(
        importlib.resources.files("smalllsp.models").joinpath("registry.toml").read_text("utf-8")
    )
