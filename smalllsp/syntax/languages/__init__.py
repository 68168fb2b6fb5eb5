"""The languages smalllsp knows, one spec each, and their tree-sitter grammars.

Every module in this package holds one language's
:class:`~smalllsp.syntax.spec.LanguageSpec` as ``SPEC``, found here
when the package is imported: a new language is one module here plus its
grammar wheel's pin in pyproject.toml (tests/unit/test_languages.py checks
both, and the editors' lists, which scripts/sync_languages.py writes).

Grammars come from wheels that work offline and load on first use; a
language without one gets ``None`` and completion still works for it,
without syntax checks.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil

from tree_sitter import Language, Node, Parser, Tree

from smalllsp.syntax.spec import LanguageSpec


def _discover() -> tuple[LanguageSpec, ...]:
    found = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        found.append(importlib.import_module(f"{__name__}.{module.name}").SPEC)
    return tuple(found)


SPECS: tuple[LanguageSpec, ...] = _discover()
# LSP language id (a spec's own and its dialects') -> its spec.
BY_LANGUAGE_ID: dict[str, LanguageSpec] = {
    language_id: spec for spec in SPECS for language_id in spec.language_ids
}
# File extension -> LSP language id, for files opened outside an editor.
EXTENSIONS: dict[str, str] = {
    extension: language_id for spec in SPECS for extension, language_id in spec.extensions.items()
}
# LSP language id -> (module, function returning the grammar pointer).
GRAMMARS: dict[str, tuple[str, str]] = {
    language_id: (spec.grammar_module, function)
    for spec in SPECS
    for language_id, function in spec.grammars.items()
}
DEFAULT_LINE_COMMENT = "//"


def spec_for(language_id: str) -> LanguageSpec | None:
    """The spec of an LSP language id (also of a spec's own name), None when smalllsp has none."""
    return BY_LANGUAGE_ID.get(language_id)


def language_of(path: str | os.PathLike[str]) -> str | None:
    """The LSP language id of a file, by its extension (any case); None when unknown."""
    extension = os.path.splitext(os.fspath(path))[1]
    return EXTENSIONS.get(extension) or EXTENSIONS.get(extension.lower())


def line_comment(language_id: str) -> str:
    """How a line comment starts (the prompt shows other files' code as
    comments to models without a repository-level layout)."""
    spec = BY_LANGUAGE_ID.get(language_id)
    return spec.line_comment if spec is not None else DEFAULT_LINE_COMMENT


@functools.lru_cache(maxsize=None)
def language(language_id: str) -> Language | None:
    """The grammar for ``language_id``, or None if smalllsp has none."""
    grammar = GRAMMARS.get(language_id)
    if grammar is None:
        return None
    module_name, function = grammar
    module = importlib.import_module(module_name)
    return Language(getattr(module, function)())


def parser(language_id: str) -> Parser | None:
    grammar = language(language_id)
    return Parser(grammar) if grammar is not None else None


def count_errors(node: Node) -> int:
    """Number of ERROR and MISSING nodes under ``node``."""
    count = 0
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_error or current.is_missing:
            count += 1
        if current.has_error:
            stack.extend(current.children)
    return count


class SplicedParser:
    """Parses of a window with candidates spliced in at the cursor, remembered.

    The scope cut, the syntax check and the cross-file guard all look at the
    same candidate in the same window: one parse serves the three.
    """

    def __init__(self, language_id: str, head: str, tail: str, keep: int = 8) -> None:
        self.parser = parser(language_id)
        self.head = head.encode("utf-8")
        self.tail = tail.encode("utf-8")
        self._trees: dict[str, Tree] = {}
        self._keep = keep

    def tree(self, candidate: str) -> Tree:
        """The tree of head + candidate + tail (the language must have a grammar)."""
        assert self.parser is not None
        tree = self._trees.get(candidate)
        if tree is None:
            if len(self._trees) >= self._keep:
                self._trees.pop(next(iter(self._trees)))
            tree = self._trees[candidate] = self.parser.parse(
                self.head + candidate.encode("utf-8") + self.tail
            )
        return tree


def syntax_errors(language_id: str, text: str) -> int | None:
    """Syntax errors in ``text``, or None when the language has no grammar."""
    p = parser(language_id)
    if p is None:
        return None
    return count_errors(p.parse(text.encode("utf-8")).root_node)
