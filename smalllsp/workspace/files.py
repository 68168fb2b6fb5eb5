"""One source file read and outlined for the workspace index, or the reason it is left out.

The same function runs in the build thread and in the worker processes of
:mod:`smalllsp.workspace.parallel`, so a file is indexed the same either way.
"""

from __future__ import annotations

import dataclasses
import os

from smalllsp.syntax import languages, symbols
from smalllsp.syntax.symbols import Outline

BINARY_PROBE_BYTES = 8192  # a NUL byte in this many first bytes makes a file binary
SKIP_REASONS = ("ignored", "too large", "binary", "unreadable", "vanished", "not utf-8", "symlinked directory")


class Unindexable(Exception):
    """A file that is left out, with the reason (one of SKIP_REASONS)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedFile:
    """What the index stores for one file: an outline, a skip reason, or both
    (a file that is not UTF-8 is outlined with replacement characters)."""

    path: str
    outline: Outline | None  # None: left out (see skip), or a language without a grammar
    size: int = 0
    mtime_ns: int = 0
    bytes_read: int = 0
    skip: str | None = None  # one of SKIP_REASONS
    detail: str = ""


def language_of(path: str) -> str | None:
    extension = os.path.splitext(path)[1]
    return languages.EXTENSIONS.get(extension) or languages.EXTENSIONS.get(extension.lower())


def read_source(path: str, max_bytes: int) -> tuple[bytes, int, int]:
    """The file's bytes (UTF-8), its size and mtime; raises Unindexable.

    Reads at most ``max_bytes`` + 1 bytes, so a huge file costs nothing.
    """
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            data = handle.read(max_bytes + 1)
    except FileNotFoundError as problem:
        raise Unindexable("vanished", str(problem)) from problem
    except OSError as problem:  # permissions, a directory, a device
        raise Unindexable("unreadable", str(problem)) from problem
    if len(data) > max_bytes:
        raise Unindexable("too large", f"over {max_bytes} bytes")
    if b"\0" in data[:BINARY_PROBE_BYTES]:
        raise Unindexable("binary")
    return data, status.st_size, status.st_mtime_ns


def outline_file(path: str, language_id: str, max_bytes: int) -> ParsedFile:
    """Read and outline one file; never raises for a file that cannot be indexed."""
    try:
        data, size, mtime_ns = read_source(path, max_bytes)
    except Unindexable as problem:
        return ParsedFile(path, None, skip=problem.reason, detail=str(problem))
    except OSError as problem:
        reason = "vanished" if isinstance(problem, FileNotFoundError) else "unreadable"
        return ParsedFile(path, None, skip=reason, detail=str(problem))
    skip = None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        skip = "not utf-8"
        data = data.decode("utf-8", errors="replace").encode("utf-8")
    outline = symbols.outline(language_id, data)
    detail = "decoded with replacement characters" if skip else ""
    return ParsedFile(path, outline, size, mtime_ns, len(data), skip, detail)
