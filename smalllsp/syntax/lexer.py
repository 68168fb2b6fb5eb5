"""The references lexer: which identifiers a file uses, without walking its tree.

Collecting every identifier node through Python costs more than the parse,
so references are read by one regular expression per language that matches
identifiers, and matches comments, strings and numbers whole (and drops
them) so that the words inside them are not references. The identifier comes
first (most tokens are identifiers) and is group 1; it must not run into a
quote, which would make it a string prefix (f"", b"").

The pieces below are shared by the language specs, which build their lexer
with :func:`lexer`.
"""

from __future__ import annotations

import re
import threading
from sys import intern
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smalllsp.syntax.spec import LanguageSpec

C_COMMENT = rb"//[^\n]*|/\*[\s\S]*?\*/"
DOUBLE_QUOTED = rb'"(?:\\[\s\S]|[^"\\\n])*"'
SINGLE_QUOTED = rb"'(?:\\[\s\S]|[^'\\\n])*'"
CHAR = rb"'(?:\\[^']{1,10}|[^'\\\n])'"  # one character: Rust lifetimes ('a) are not chars
NUMBER = rb"\d[\w.]*"
IDENTIFIER = rb"([A-Za-z_\x80-\xff][\w\x80-\xff]*+)(?![\"'])"


def lexer(identifier: bytes, *others: bytes) -> bytes:
    """The pattern matching ``identifier`` (group 1), ``others`` and numbers."""
    # The lookahead lets the engine skip spaces and punctuation without trying
    # every alternative at each of them (40% faster on Python sources).
    return rb"(?=[\w\x80-\xff#\"'`/$])(?:" + b"|".join((identifier, *others, NUMBER)) + b")"


_compiled: dict[bytes, re.Pattern[bytes]] = {}
_compiled_lock = threading.Lock()


def compiled(spec: LanguageSpec) -> re.Pattern[bytes]:
    """The spec's lexer, compiled once per process."""
    found = _compiled.get(spec.lexer)
    if found is None:
        with _compiled_lock:
            found = _compiled[spec.lexer] = re.compile(spec.lexer)
    return found


def references(spec: LanguageSpec, source: bytes) -> frozenset[str]:
    """Identifiers ``source`` uses outside comments and strings, without keywords."""
    found = compiled(spec).findall(source)
    words = set(found)
    if words and isinstance(next(iter(words)), tuple):  # patterns with back-references: groups
        words = {groups[0] for groups in words}
    words.discard(b"")
    # Interned: the same few thousand names recur in every file of a workspace.
    return (
        frozenset(intern(w.decode("utf-8", errors="replace")) for w in words) - spec.reserved_words
    )
