"""One source file read and outlined for the workspace index, or the reason it is left out.

The same function runs in the build thread and in the worker processes of
:mod:`smalllsp.workspace.parallel`, so a file is indexed the same either way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Sequence

from smalllsp import safeio
from smalllsp.syntax import symbols
from smalllsp.syntax.languages import (
    language_of as language_of,
)  # re-exported: the index imports it here
from smalllsp.syntax.symbols import Outline

BINARY_PROBE_BYTES = 8192  # a NUL byte in this many first bytes makes a file binary
SKIP_REASONS = (
    "ignored",
    "too large",
    "binary",
    "unreadable",
    "vanished",
    "not utf-8",
    "symlinked directory",
    "private",
    "outside the workspace",
    "not a regular file",
)


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
    digest: bytes = b""  # content hash (the index cache's key)
    read_ns: int = 0  # wall-clock time just before the read
    reused: bool = False  # the content hash was the one expected: not parsed, outline None


def content_digest(data: bytes) -> bytes:
    """16 bytes of BLAKE2b: what the index cache keys a file's outline by."""
    return hashlib.blake2b(data, digest_size=16).digest()


def read_source(path: str, max_bytes: int, roots: Sequence[str] = ()) -> tuple[bytes, int, int]:
    """The file's bytes (UTF-8), its size and mtime; raises Unindexable.

    Reads at most ``max_bytes`` + 1 bytes, so a huge file costs nothing. The
    file is opened without blocking and must be a regular file (a FIFO put in
    a file's place after the walk is refused at once, not waited on). With
    ``roots`` (real paths), a path that resolves outside them is not opened:
    the resolved path is opened with O_NOFOLLOW.
    """
    if roots:
        real = os.path.realpath(path)
        if not any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots):
            raise Unindexable(
                "outside the workspace", "a symlink to a place outside the workspace roots"
            )
        path = real
    try:
        data, status = safeio.read_regular(path, max_bytes, follow_symlinks=not roots)
    except safeio.NotRegularFile as problem:
        raise Unindexable("not a regular file", str(problem)) from problem
    except FileNotFoundError as problem:
        raise Unindexable("vanished", str(problem)) from problem
    except OSError as problem:  # permissions, a directory, a symlink swapped in after the check
        raise Unindexable("unreadable", str(problem)) from problem
    if len(data) > max_bytes:
        raise Unindexable("too large", f"over {max_bytes} bytes")
    if b"\0" in data[:BINARY_PROBE_BYTES]:
        raise Unindexable("binary")
    return data, status.st_size, status.st_mtime_ns


def outline_file(
    path: str,
    language_id: str,
    max_bytes: int,
    roots: Sequence[str] = (),
    expected_digest: bytes = b"",
) -> ParsedFile:
    """Read and outline one file; never raises for a file that cannot be indexed.

    With ``expected_digest`` (the hash of a cached outline), a file whose bytes
    still hash to it is not parsed: the result says ``reused``.
    """
    read_ns = time.time_ns()
    try:
        data, size, mtime_ns = read_source(path, max_bytes, roots)
    except Unindexable as problem:
        return ParsedFile(path, None, skip=problem.reason, detail=str(problem))
    except OSError as problem:
        reason = "vanished" if isinstance(problem, FileNotFoundError) else "unreadable"
        return ParsedFile(path, None, skip=reason, detail=str(problem))
    hashed = content_digest(data)
    if expected_digest and hashed == expected_digest:
        return ParsedFile(
            path, None, size, mtime_ns, len(data), digest=hashed, read_ns=read_ns, reused=True
        )
    skip = None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        skip = "not utf-8"
        data = data.decode("utf-8", errors="replace").encode("utf-8")
    outline = symbols.outline(language_id, data)
    detail = "decoded with replacement characters" if skip else ""
    return ParsedFile(path, outline, size, mtime_ns, len(data), skip, detail, hashed, read_ns)
