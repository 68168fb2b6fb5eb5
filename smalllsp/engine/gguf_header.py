"""Read a GGUF file's metadata and tensor table, fast, without the weights.

The ``gguf`` package's reader builds every metadata value in Python, which
costs seconds for a 152k-token vocabulary on a slow CPU: too slow for every
server start. Placement needs a few scalars and the tensor sizes, so this
reader skips over arrays it is not asked for.
"""

from __future__ import annotations

import dataclasses
import mmap
import struct
from pathlib import Path
from typing import Any, Collection

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

MAGIC = b"GGUF"
# GGUF value types: id -> struct format of a scalar (strings and arrays are special).
_SCALAR = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9


@dataclasses.dataclass(frozen=True)
class Tensor:
    name: str
    n_bytes: int


@dataclasses.dataclass(frozen=True)
class Header:
    metadata: dict[str, Any]  # scalars and strings; arrays as their length unless asked for
    tensors: tuple[Tensor, ...]


class NotGguf(ValueError):
    """The file does not start with the GGUF magic; the message names the path and what it starts with."""


def require_gguf(path: Path | str) -> None:
    """The one check that ``path`` is a GGUF file (by its magic), for every caller.

    Raises :class:`NotGguf` (a ValueError) with the bytes it found, or
    OSError when it cannot be read.
    """
    with open(path, "rb") as handle:
        magic = handle.read(len(MAGIC))
    if magic != MAGIC:
        raise NotGguf(f"{path} is not a GGUF file (it starts with {magic!r}, not {MAGIC!r})")


class _Cursor:
    def __init__(self, data: mmap.mmap) -> None:
        self.data = data
        self.at = 0

    def unpack(self, fmt: str) -> Any:
        value = struct.unpack_from("<" + fmt, self.data, self.at)[0]
        self.at += struct.calcsize("<" + fmt)
        return value

    def string(self) -> str:
        length = self.unpack("Q")
        text = self.data[self.at : self.at + length].decode("utf-8", errors="replace")
        self.at += length
        return text

    def skip_string(self) -> None:
        self.at += 8 + struct.unpack_from("<Q", self.data, self.at)[0]

    def value(self, kind: int, *, whole: bool = False) -> Any:
        """The value at the cursor; an array only as its length unless ``whole``."""
        if kind in _SCALAR:
            return self.unpack(_SCALAR[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, count = self.unpack("I"), self.unpack("Q")
            if whole:
                return [self.value(item_kind, whole=True) for _ in range(count)]
            if item_kind in _SCALAR:
                self.at += count * struct.calcsize("<" + _SCALAR[item_kind])
            else:
                for _ in range(count):
                    if item_kind == _STRING:
                        self.skip_string()
                    else:
                        self.value(item_kind)
            return count
        raise ValueError(f"unknown GGUF value type {kind} at byte {self.at}")


def read_header(path: Path | str, *, arrays: Collection[str] = ()) -> Header:
    """Metadata and tensor sizes of the GGUF at ``path``; ValueError if it is not one.

    The arrays named in ``arrays`` (e.g. ``tokenizer.ggml.tokens``) are read whole.
    """
    require_gguf(path)
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        cursor = _Cursor(data)
        cursor.at = 4
        version = cursor.unpack("I")
        if version < 2:
            raise ValueError(f"{path} is GGUF version {version}; versions 2 and 3 are supported")
        n_tensors, n_kv = cursor.unpack("Q"), cursor.unpack("Q")
        metadata: dict[str, Any] = {}
        try:
            for _ in range(n_kv):
                key = cursor.string()
                metadata[key] = cursor.value(cursor.unpack("I"), whole=key in arrays)
            tensors = []
            for _ in range(n_tensors):
                name = cursor.string()
                dims = [cursor.unpack("Q") for _ in range(cursor.unpack("I"))]
                kind = GGMLQuantizationType(cursor.unpack("I"))
                cursor.unpack("Q")  # offset in the data section
                block, block_bytes = GGML_QUANT_SIZES[kind]
                elements = 1
                for dim in dims:
                    elements *= dim
                tensors.append(Tensor(name, elements // block * block_bytes))
        except (struct.error, ValueError) as exc:
            raise ValueError(f"{path} has a damaged GGUF header: {exc}") from exc
        return Header(metadata, tuple(tensors))
