"""The workspace index on disk: one outline per file, so a restart re-parses only what changed.

One SQLite database per workspace folder, under ``$XDG_CACHE_HOME/smalllsp/index``
(``~/.cache`` without it), one row per file: its path, size, mtime, a
content hash and its outline (definitions, imports, referenced names),
never its text. Rows are stamped with the outline format's version, the
grammar wheels' versions and a hash of the code that extracts outlines, so
an upgrade of any of them makes the old rows miss instead of lying.

Why SQLite: one read loads a whole workspace (thousands of small files would
cost a syscall each), writes are atomic transactions, and two servers on the
same folder share the file under SQLite's own locking. A row is used only
after its checksum matches (smalllsp.workspace.outline_codec); a row that
fails is counted and its file parsed again. A database SQLite cannot read,
or one that another program wrote, is moved aside and started afresh.
Writes go through a thread of their own, batched. The folder is private to
the user (0700: outlines name a project's functions) and bounded: the
databases of other workspaces are deleted, least recently used first, when
the total is over the bound.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import smalllsp
from smalllsp.syntax import languages
from smalllsp.syntax.symbols import Outline
from smalllsp.workspace import outline_codec
from smalllsp.workspace.outline_codec import Row

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1  # of the table; a database with another is started afresh
APPLICATION_ID = 0x534C4958  # "SLIX" in the database header: a file without it is not ours
SUFFIX = ".sqlite"
BUSY_TIMEOUT_MS = 5000  # another server's write transaction is waited for this long
# Opening while another server holds the database (switching it to WAL, a long write) can
# fail at once with "database is locked": tried again this many times, a little later each.
BUSY_RETRIES = 6
BUSY_PAUSE_S = 0.25


def _busy(problem: BaseException) -> bool:
    """Another connection holds the database: wait, never take it for a damaged file."""
    text = str(problem).lower()
    return isinstance(problem, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


WRITE_BATCH = 500  # rows per write transaction
WRITE_PAUSE_S = 0.2  # the writer gathers rows for this long before a transaction
EXTRACTOR_MODULES = (
    "smalllsp/syntax/symbols.py",
    "smalllsp/syntax/languages.py",
    "smalllsp/workspace/files.py",
)


def settings(enabled: bool, max_mb: int) -> CacheSettings | None:
    """The cache the index_cache and index_cache_max_mb settings ask for (None: off)."""
    return CacheSettings(default_directory(), max_mb << 20) if enabled else None


@dataclasses.dataclass(frozen=True)
class CacheSettings:
    """Where the cache lives and how large it may grow."""

    directory: Path
    max_bytes: int


def default_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "smalllsp" / "index"


def grammar_versions() -> dict[str, str]:
    """The tree-sitter runtime's and each grammar wheel's version."""
    found = {}
    for distribution in ["tree-sitter", *sorted({m for m, _ in languages.GRAMMARS.values()})]:
        name = distribution.replace("_", "-")
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def extractor_fingerprint() -> str:
    """A hash of the code that turns a file into an outline: a change to it makes every row miss."""
    package = Path(smalllsp.__file__).parent.parent
    hasher = hashlib.sha256(smalllsp.__version__.encode())
    for relative in EXTRACTOR_MODULES:
        try:
            hasher.update((package / relative).read_bytes())
        except OSError:  # installed without sources: the version alone
            hasher.update(relative.encode())
    return hasher.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def current_stamp() -> str:
    return stamp_of(outline_codec.FORMAT_VERSION, grammar_versions(), extractor_fingerprint())


def stamp_of(version: int, grammars: dict[str, str], extractor: str) -> str:
    text = json.dumps([version, grammars, extractor], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


# -- one workspace folder's database ----------------------------------------------------


class OutlineCache:
    """The rows of one workspace folder. Reads on the caller's thread, writes on the writer's."""

    def __init__(self, root: str, directory: Path, max_bytes: int, stamp: str) -> None:
        self.root = root
        key = hashlib.sha256(os.path.realpath(root).encode("utf-8", "surrogateescape")).hexdigest()
        self.path = directory / f"{key[:32]}{SUFFIX}"
        self.max_bytes = max_bytes
        self.stamp = stamp
        self.rejected = 0  # rows that failed their checksum or decoding
        self.written = 0
        self.full = False  # the database alone is over max_bytes: new rows are not added
        self._queue: queue.Queue[tuple[str, tuple] | None] = queue.Queue()
        self._writer: threading.Thread | None = None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            application_id = connection.execute("PRAGMA application_id").fetchone()[0]
            schema = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables and (application_id, schema) != (APPLICATION_ID, SCHEMA_VERSION):
                raise sqlite3.DatabaseError(
                    f"not an index cache of this version ({application_id:#x}, {schema})"
                )
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS outlines (path TEXT PRIMARY KEY, stamp TEXT NOT NULL,"
                " size INTEGER, mtime_ns INTEGER, digest BLOB, read_ns INTEGER, names TEXT,"
                " refs TEXT, checksum BLOB, blob BLOB)"
            )
        except BaseException:
            connection.close()
            raise
        return connection

    def _open(self) -> sqlite3.Connection | None:
        """A connection, after moving aside a database that SQLite cannot read or that is not ours."""
        discarded = busy = 0
        while True:
            try:
                return self._connect()
            except sqlite3.DatabaseError as problem:
                if _busy(problem):
                    busy += 1
                    if busy > BUSY_RETRIES:
                        log.warning("index cache %s busy (%s): not used", self.path, problem)
                        return None
                    time.sleep(BUSY_PAUSE_S * busy)
                    continue
                discarded += 1
                if discarded == 2:
                    log.warning("index cache %s unusable (%s): not used", self.path, problem)
                    return None
                log.warning("index cache %s unreadable (%s): starting afresh", self.path, problem)
                self._discard()
            except OSError as problem:
                log.warning("index cache %s cannot be opened (%s): not used", self.path, problem)
                return None

    def _discard(self) -> None:
        aside = self.path.with_name(f"{self.path.name}.bad-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            try:
                os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
                os.unlink(f"{aside}{suffix}")
            except FileNotFoundError:
                pass
            except OSError as problem:
                log.warning("index cache: cannot remove %s%s: %s", self.path, suffix, problem)

    def load(self) -> dict[str, Row]:
        """Every row with the current stamp, not yet decoded; {} when the database is unusable."""
        connection = self._open()
        if connection is None:
            return {}
        try:
            rows = connection.execute(
                "SELECT path, size, mtime_ns, digest, read_ns, names, refs, checksum, blob"
                " FROM outlines WHERE stamp = ?",
                (self.stamp,),
            ).fetchall()
        except sqlite3.DatabaseError as problem:  # damaged pages show up only when read
            connection.close()
            if _busy(problem):  # another server's long write: its rows are fine, parse this time
                log.warning("index cache %s busy (%s): parsing instead", self.path, problem)
                return {}
            log.warning("index cache %s unreadable (%s): starting afresh", self.path, problem)
            self._discard()
            return {}
        finally:
            connection.close()
        found = {}
        for path, *fields in rows:
            try:
                row = Row(*fields)
                if row.intact(path):
                    found[path] = row
                    continue
            except (TypeError, AttributeError, UnicodeError):  # a column of the wrong type
                pass
            self.rejected += 1
            log.info("index cache: the entry of %s is damaged or not its own: parsed again", path)
        try:
            os.utime(self.path)  # its last use, for the eviction of the least recently used
        except OSError:
            pass
        return found

    def put(
        self,
        path: str,
        size: int,
        mtime_ns: int,
        content_digest: bytes,
        read_ns: int,
        outline: Outline,
    ) -> None:
        """Store a file's outline, read at ``read_ns`` (the writer thread encodes and writes it)."""
        self._queue.put(("put", (path, size, mtime_ns, content_digest, read_ns, outline)))
        self._start_writer()

    def touch(self, path: str, size: int, mtime_ns: int, read_ns: int) -> None:
        """The file has a new size or mtime and the same content: its row says so."""
        self._queue.put(("touch", (path, size, mtime_ns, read_ns)))
        self._start_writer()

    def delete(self, paths: Iterable[str]) -> None:
        paths = tuple(paths)
        if paths:
            self._queue.put(("delete", paths))
            self._start_writer()

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every queued write is on disk (tests, and stop)."""
        done = threading.Event()
        self._queue.put(("flush", (done,)))
        self._start_writer()
        done.wait(timeout)

    def close(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(30)
            self._writer = None

    def _start_writer(self) -> None:
        if self._writer is None or not self._writer.is_alive():
            self._writer = threading.Thread(
                target=self._write_loop, name="smalllsp-index-cache", daemon=True
            )
            self._writer.start()

    def _write_loop(self) -> None:
        connection = self._open()
        try:
            stopping = False
            while not stopping:
                batch = [self._queue.get()]
                deadline = time.monotonic() + WRITE_PAUSE_S
                while len(batch) < WRITE_BATCH and batch[-1] is not None:
                    try:
                        batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                    except queue.Empty:
                        break
                stopping = batch[-1] is None
                self._write(connection, [item for item in batch if item is not None])
        finally:
            if connection is not None:
                connection.close()

    def _write(self, connection: sqlite3.Connection | None, batch: list[tuple[str, tuple]]) -> None:
        puts: list[tuple] = []
        deletes: list[tuple[str]] = []
        flushed: list[threading.Event] = []
        touches: list[tuple[int, int, int, str]] = []
        for kind, values in batch:
            if kind == "put":
                path, size, mtime_ns, content_digest, read_ns, outline = values
                names, references, blob, checksum = outline_codec.encode(path, outline)
                puts.append(
                    (path, self.stamp, size, mtime_ns, content_digest, read_ns)
                    + (names, references, checksum, blob)
                )
            elif kind == "touch":
                path, size, mtime_ns, read_ns = values
                touches.append((size, mtime_ns, read_ns, path))
            elif kind == "delete":
                deletes.extend((path,) for path in values)
            else:
                flushed.append(values[0])
        try:
            if connection is not None and (puts or deletes or touches):
                self._full_check()
                if self._commit(connection, puts, deletes, touches) and self._queue.empty():
                    # a pause: the log folds into the file, then the bound is kept
                    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    evict(self.path.parent, self.max_bytes, keep=[self.path])
        except sqlite3.Error as problem:  # the rows are in; the log folds in at the next pause
            log.warning("index cache %s: not checkpointed (%s)", self.path, problem)
        finally:
            for done in flushed:
                done.set()

    def _commit(
        self,
        connection: sqlite3.Connection,
        puts: list[tuple],
        deletes: list[tuple[str]],
        touches: list[tuple[int, int, int, str]],
    ) -> bool:
        """One transaction of the batch; another server's write is waited for. False: not written
        (disk full, a damaged file: the index in memory is unaffected)."""
        for attempt in range(BUSY_RETRIES + 1):
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany("DELETE FROM outlines WHERE path = ?", deletes)
                connection.executemany(
                    "UPDATE outlines SET size = ?, mtime_ns = ?, read_ns = ? WHERE path = ?",
                    touches,
                )
                if self.full:  # only rows already there are refreshed
                    puts = [p for p in puts if _exists(connection, p[0])]
                connection.executemany(
                    "INSERT OR REPLACE INTO outlines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", puts
                )
                connection.execute("COMMIT")
                self.written += len(puts)
                return True
            except sqlite3.Error as problem:
                try:
                    connection.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # no transaction was open
                if _busy(problem) and attempt < BUSY_RETRIES:
                    time.sleep(BUSY_PAUSE_S * (attempt + 1))
                    continue
                log.warning(
                    "index cache %s: %d rows not written (%s)", self.path, len(puts), problem
                )
                return False
        return False

    def _full_check(self) -> None:
        size = _size_on_disk(self.path)
        full = size > self.max_bytes
        if full and not self.full:
            log.warning(
                "index cache %s holds %d MiB, over index_cache_max_mb: new files are not cached",
                self.path,
                size >> 20,
            )
        self.full = full


def _exists(connection: sqlite3.Connection, path: str) -> bool:
    return (
        connection.execute("SELECT 1 FROM outlines WHERE path = ?", (path,)).fetchone() is not None
    )


def _size_on_disk(path: Path) -> int:
    total = 0
    for suffix in ("", "-wal"):
        try:
            total += os.stat(f"{path}{suffix}").st_size
        except OSError:
            pass
    return total


def evict(directory: Path, max_bytes: int, keep: Iterable[Path]) -> list[Path]:
    """Delete other workspaces' databases, least recently used first, until the
    folder holds at most ``max_bytes``; returns what was deleted."""
    keep = {Path(p) for p in keep}
    try:
        databases = [p for p in directory.iterdir() if p.name.endswith(SUFFIX)]
    except OSError:
        return []
    sizes = {p: _size_on_disk(p) for p in databases}
    total = sum(sizes.values())
    removed = []
    for path in sorted((p for p in databases if p not in keep), key=_last_used):
        if total <= max_bytes:
            break
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(f"{path}{suffix}")
            except FileNotFoundError:
                pass
            except OSError as problem:
                log.warning("index cache: cannot evict %s: %s", path, problem)
        total -= sizes[path]
        removed.append(path)
    if removed:
        log.info("index cache: evicted %d other workspaces' caches", len(removed))
    return removed


def _last_used(path: Path) -> float:
    try:
        used = os.stat(path).st_mtime
    except OSError:
        return 0.0
    try:
        return max(used, os.stat(f"{path}-wal").st_mtime)
    except OSError:
        return used
