"""Tree-sitter grammars by LSP language id, from grammar wheels that work offline.

Grammars load on first use; a language without a grammar gets ``None`` and
completion still works for it, without syntax checks.
"""

from __future__ import annotations

import functools
import importlib
import logging

from tree_sitter import Language, Node, Parser, Tree

log = logging.getLogger(__name__)

# LSP language id -> (module, function returning the grammar pointer).
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "javascriptreact": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "typescriptreact": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

# File extension -> LSP language id, for files opened outside an editor.
EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascriptreact",
    ".ts": "typescript",
    ".tsx": "typescriptreact",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
}


# LSP language id -> how a line comment starts (the prompt shows other files'
# code as comments to models without a repository-level layout).
LINE_COMMENTS: dict[str, str] = {"python": "#"}
DEFAULT_LINE_COMMENT = "//"


def line_comment(language_id: str) -> str:
    return LINE_COMMENTS.get(language_id, DEFAULT_LINE_COMMENT)


@functools.lru_cache(maxsize=None)
def language(language_id: str) -> Language | None:
    """The grammar for ``language_id``, or None if smalllsp has none."""
    spec = GRAMMARS.get(language_id)
    if spec is None:
        return None
    module_name, function = spec
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
