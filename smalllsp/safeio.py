"""Opening files a setting or a workspace names, without blocking and without surprises.

A path may name a FIFO (``open`` waits for a writer for ever), a device
(``/dev/zero`` never ends), or a symlink to anywhere. Files are opened with
``O_NONBLOCK`` (a FIFO opens at once), then ``fstat`` must say it is a
regular file before a byte is read, and reads are bounded.
"""

from __future__ import annotations

import os
import stat

MAX_SECRET_BYTES = 4096


class NotRegularFile(OSError):
    """The path names a FIFO, a device, a socket or a directory."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str, *, follow_symlinks: bool = True) -> tuple[int, os.stat_result]:
    """A read-only descriptor of ``path`` and its status; raises NotRegularFile or OSError.

    The descriptor is blocking again once the file is known to be regular.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise NotRegularFile(f"{_kind(status.st_mode)}, not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, status


def read_regular(
    path: str, max_bytes: int, *, follow_symlinks: bool = True
) -> tuple[bytes, os.stat_result]:
    """At most ``max_bytes`` + 1 bytes of a regular file, and its status."""
    fd, status = open_regular(path, follow_symlinks=follow_symlinks)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(max_bytes + 1), status


class SecretFileError(ValueError):
    """A key or token file that cannot be used; the message never holds its content."""


def read_secret_file(path: str, what: str) -> str:
    """The one line of a key or token file: a regular file of at most 4 KiB,
    one line of printable ASCII (a trailing newline is allowed)."""
    try:
        data, _ = read_regular(path, MAX_SECRET_BYTES)
    except NotRegularFile as problem:
        raise SecretFileError(f"{what} {path} is {problem}") from None
    except OSError as problem:
        raise SecretFileError(
            f"{what} {path} cannot be read: {problem.strerror or type(problem).__name__}"
        ) from None
    if len(data) > MAX_SECRET_BYTES:
        raise SecretFileError(
            f"{what} {path} is over {MAX_SECRET_BYTES} bytes (a key file holds one line)"
        )
    text = data.rstrip(b"\r\n").strip(b" \t")
    if not text:
        raise SecretFileError(f"{what} {path} is empty")
    if b"\n" in text or b"\r" in text:
        lines = len(text.splitlines())
        raise SecretFileError(f"{what} {path} has {lines} lines; a key file holds one line")
    if not all(0x21 <= byte <= 0x7E for byte in text):
        raise SecretFileError(
            f"{what} {path} holds characters other than printable ASCII (spaces or control characters)"
        )
    return text.decode("ascii")


def check_secret_text(text: str, what: str) -> str:
    """A key from the environment: one token of printable ASCII, else an error without the text."""
    text = text.strip()
    if not text or not all(0x21 <= ord(c) <= 0x7E for c in text):
        raise SecretFileError(
            f"{what} holds characters other than printable ASCII (a key is one token)"
        )
    return text
