"""One incremental tree-sitter tree per open document, kept off the event loop.

The event loop only hands over the latest text of a document
(:meth:`DocumentTrees.update`, constant time: strings are immutable, nothing
is copied). One background thread takes the documents in the order they
changed, each at its latest version (versions superseded while it waited are
never parsed), finds the one edit between the text it parsed last and the new
one (a common prefix and suffix, compared at C speed), applies it with
``tree.edit`` and reparses with ``parser.parse(new, old_tree)``. Then it
hands the tree to ``parsed`` (the server reads the document's outline from
it there, still off the loop).

py-tree-sitter holds the GIL while it parses: the source is handed to the
parser in :data:`READ_CHUNK` pieces through a callback, so the interpreter
can switch to the event loop between two pieces. What it cannot split is
the balancing of a long flat list at the end of a parse: measured at load
6.5 on 2 cores, the longest wait of another thread was 16-35 ms while the
223-295 KiB stdlib modules parsed (0.05-0.14 s), 144 ms for 512 KiB of
one-line statements, 369 ms for 1 MiB (1.8 s when parsed in one piece). The
``max_document_kb`` default (512) follows from that.

A document over ``max_bytes`` gets no tree: it is still synced and served
from a bounded window, and ``parsed`` is told so (tree None) once per
document.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
from typing import Callable, TypedDict

from tree_sitter import Parser, Point, Tree

from smalllsp.syntax import languages

log = logging.getLogger(__name__)

READ_CHUNK = 1024
# The step of the common-prefix scan; the last step is bisected.
_SCAN = 4096

Parsed = Callable[[str, str, int, bytes, "Tree | None"], None]


@dataclasses.dataclass
class _State:
    language_id: str
    version: int
    text: str  # the text the tree was parsed from (the document's own string, not a copy)
    tree: Tree | None


def common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix of ``a`` and ``b``."""
    n = min(len(a), len(b))
    i = 0
    while i + _SCAN <= n and a[i : i + _SCAN] == b[i : i + _SCAN]:
        i += _SCAN
    lo, hi = i, min(i + _SCAN, n)
    while lo < hi:  # invariant: a[:lo] == b[:lo]; the answer is at most hi
        mid = (lo + hi + 1) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def common_suffix(a: str, b: str, limit: int) -> int:
    """Length of the longest common suffix of ``a`` and ``b``, at most ``limit``."""
    n = min(len(a), len(b), limit)
    i = 0
    while (
        i + _SCAN <= n and a[len(a) - i - _SCAN : len(a) - i] == b[len(b) - i - _SCAN : len(b) - i]
    ):
        i += _SCAN
    lo, hi = i, min(i + _SCAN, n)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid : len(a) - lo] == b[len(b) - mid : len(b) - lo]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _point(text: str, index: int) -> tuple[int, Point]:
    """Byte offset and tree-sitter point (row, byte column) of code-point ``index`` in ``text``."""
    row = text.count("\n", 0, index)
    line_start = text.rfind("\n", 0, index) + 1
    column = len(text[line_start:index].encode("utf-8", errors="replace"))
    start_byte = len(text[:line_start].encode("utf-8", errors="replace")) if line_start else 0
    return start_byte + column, Point(row, column)


class TreeEdit(TypedDict):
    """The keyword arguments of ``Tree.edit``."""

    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: Point
    old_end_point: Point
    new_end_point: Point


def edit_between(old: str, new: str) -> TreeEdit | None:
    """The one ``tree.edit`` that turns ``old`` into ``new`` (None when they are equal)."""
    prefix = common_prefix(old, new)
    if prefix == len(old) == len(new):
        return None
    suffix = common_suffix(old, new, min(len(old), len(new)) - prefix)
    start_byte, start_point = _point(old, prefix)
    old_end_byte, old_end_point = _point(old, len(old) - suffix)
    new_end_byte, new_end_point = _point(new, len(new) - suffix)
    return TreeEdit(
        start_byte=start_byte,
        old_end_byte=old_end_byte,
        new_end_byte=new_end_byte,
        start_point=start_point,
        old_end_point=old_end_point,
        new_end_point=new_end_point,
    )


def parse_in_pieces(parser: Parser, source: bytes, old_tree: Tree | None = None) -> Tree | None:
    """``parser.parse(source, old_tree)``, reading ``source`` a :data:`READ_CHUNK` at a time
    (each read is a point where the interpreter may run another thread)."""
    view = memoryview(source)

    def read(offset: int, _point: Point) -> bytes:
        return bytes(view[offset : offset + READ_CHUNK])

    return parser.parse(read, old_tree) if old_tree is not None else parser.parse(read)


class DocumentTrees:
    """The trees of the open documents, each kept by one background thread."""

    def __init__(self, parsed: Parsed, max_bytes: int) -> None:
        self._parsed = parsed
        self.max_bytes = max_bytes
        self._pending: collections.OrderedDict[str, tuple[str, int, str]] = (
            collections.OrderedDict()
        )
        self._states: dict[str, _State] = {}
        self._open: set[str] = set()
        self._too_big: set[str] = set()  # documents the log said were over the limit
        self._parsers: dict[str, Parser | None] = {}
        self._busy = False
        self._stopping = False
        self._cond = threading.Condition()
        self.parses = 0  # full parses
        self.reparses = 0  # incremental ones
        self._thread = threading.Thread(target=self._run, name="smalllsp-trees", daemon=True)
        self._thread.start()

    # -- the event loop's side: constant time ---------------------------------

    def update(self, uri: str, language_id: str, version: int, text: str) -> None:
        """The document's latest text; a version still waiting is replaced (latest wins)."""
        with self._cond:
            self._pending.pop(uri, None)
            self._pending[uri] = (language_id, version, text)
            self._open.add(uri)
            self._cond.notify()

    def close(self, uri: str) -> None:
        """Forget the document: its tree and its text are freed."""
        with self._cond:
            self._pending.pop(uri, None)
            self._states.pop(uri, None)
            self._open.discard(uri)
            self._too_big.discard(uri)

    def tree(self, uri: str) -> tuple[int, Tree] | None:
        """The version and tree last parsed for ``uri`` (it may lag the document by the edits in flight)."""
        state = self._states.get(uri)
        return (state.version, state.tree) if state is not None and state.tree is not None else None

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify()

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing waits or runs (for tests and benchmarks)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def status(self) -> dict[str, int]:
        with self._cond:
            return {
                "trees": sum(1 for s in self._states.values() if s.tree is not None),
                "waiting": len(self._pending),
                "parses": self.parses,
                "reparses": self.reparses,
            }

    # -- the background thread ------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._pending or self._stopping)
                if self._stopping:
                    return
                uri, (language_id, version, text) = self._pending.popitem(last=False)
                self._busy = True
                old = self._states.get(uri)
            try:
                self._parse(uri, language_id, version, text, old)
            except Exception:  # one document's failure must not stop the others' trees
                log.exception("could not parse %s", uri)

    def _parser(self, language_id: str) -> Parser | None:
        if language_id not in self._parsers:
            self._parsers[language_id] = languages.parser(language_id)
        return self._parsers[language_id]

    def _parse(
        self, uri: str, language_id: str, version: int, text: str, old: _State | None
    ) -> None:
        parser = self._parser(language_id)
        source = text.encode("utf-8", errors="replace")
        tree: Tree | None = None
        if len(source) > self.max_bytes:
            if uri not in self._too_big:
                self._too_big.add(uri)
                log.info(
                    "%s is %d KB, over max_document_kb (%d KB): served from a window around the cursor, "
                    "without a syntax tree or an outline of the whole document",
                    uri,
                    len(source) // 1024,
                    self.max_bytes // 1024,
                )
        elif parser is not None:
            if old is not None and old.tree is not None and old.language_id == language_id:
                edit = edit_between(old.text, text)
                if edit is None:
                    tree = old.tree
                else:
                    old.tree.edit(**edit)
                    tree = parse_in_pieces(parser, source, old.tree)
                    self.reparses += 1
            else:
                tree = parse_in_pieces(parser, source)
                self.parses += 1
        with self._cond:
            if uri not in self._open or self._stopping:
                return  # closed meanwhile: its tree goes with it
            self._states[uri] = _State(language_id, version, text, tree)
            if uri in self._pending:
                return  # superseded while it parsed: the next version starts from this tree, reports nothing
        self._parsed(uri, language_id, version, source, tree)
