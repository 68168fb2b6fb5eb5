"""The symbol outline of one file: what it defines, imports and refers to.

The workspace index keeps one outline per file, so other files' definitions
(name, header, doc, parameters) can go into a prompt, and a suggestion that
calls them can be checked.

The work is split by job: the data model (:mod:`smalllsp.syntax.model`), the
walker over the levels where definitions live (:mod:`smalllsp.syntax.walker`,
with :mod:`~smalllsp.syntax.parameters` and :mod:`~smalllsp.syntax.docs`),
and the references lexer (:mod:`smalllsp.syntax.lexer`). This module puts
them together, with a parser per thread and the import query compiled once.
"""

from __future__ import annotations

import threading

from tree_sitter import Parser, Query, QueryCursor, Tree

from smalllsp.syntax import languages, lexer
from smalllsp.syntax.docs import SIGNATURE_CHARS
from smalllsp.syntax.model import Definition, Outline, Parameters
from smalllsp.syntax.nodes import text
from smalllsp.syntax.walker import Walker

__all__ = [
    "SIGNATURE_CHARS",
    "Definition",
    "Outline",
    "Parameters",
    "outline",
    "references",
]

# How deep imports are looked for: the top level, and blocks right under it
# (Python's `if TYPE_CHECKING:` and `try: import x`, C's `#ifdef`), not
# function bodies: a query that walks the whole tree costs a third of a parse.
IMPORT_DEPTH = 3

_local = threading.local()
_queries: dict[str, Query | None] = {}
_queries_lock = threading.Lock()


def _parser(language_id: str) -> Parser | None:
    """A parser for this thread (a Parser is not safe to share between threads)."""
    parsers: dict[str, Parser | None] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    if language_id not in parsers:
        parsers[language_id] = languages.parser(language_id)
    return parsers[language_id]


def _import_query(language_id: str, import_types: tuple[str, ...]) -> Query | None:
    if language_id not in _queries:
        with _queries_lock:
            grammar = languages.language(language_id)
            query = None
            if grammar is not None and import_types:
                query = Query(grammar, "[" + " ".join(f"({t})" for t in import_types) + "] @import")
            _queries[language_id] = query
    return _queries[language_id]


def outline(language_id: str, source: bytes, tree: Tree | None = None) -> Outline | None:
    """The outline of ``source``; None when the language has no grammar."""
    spec = languages.spec_for(language_id)
    if spec is None or languages.language(language_id) is None:
        return None
    if tree is None:
        parser = _parser(language_id)
        if parser is None:
            return None
        tree = parser.parse(source)
    walker = Walker(spec.outline, source)
    walker.top_level(tree.root_node)
    imports: tuple[str, ...] = ()
    query = _import_query(language_id, spec.outline.imports)
    if query is not None:
        cursor = QueryCursor(query)
        cursor.set_max_start_depth(IMPORT_DEPTH)
        nodes = cursor.captures(tree.root_node).get("import", [])
        nodes.sort(key=lambda n: n.start_byte)
        imports = tuple(text(source, n).rstrip() for n in nodes)
    return Outline(
        language_id=language_id,
        definitions=tuple(walker.definitions),
        imports=imports,
        header_end_line=walker.header_end_line,
        references=lexer.references(spec, source),
    )


def references(language_id: str, source: bytes) -> frozenset[str]:
    """Identifiers ``source`` uses outside comments and strings, without keywords."""
    spec = languages.spec_for(language_id)
    if spec is None:
        raise ValueError(f"no language spec for {language_id!r}")
    return lexer.references(spec, source)
