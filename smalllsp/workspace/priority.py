"""What the index reads first: the open documents' imports, transitively, before the rest.

A completion in the open file needs the definitions it imports (for the
global section and the guard); the rest of a large workspace can wait. So
while a build runs, the files an open document imports, resolved by the
language's import rules to files in the workspace, and the files those
import, up to MAX_DEPTH, are indexed before the build goes on with the
walk's order (clangd indexes the open files' headers first for the same
reason). Resolution is by file existence only (a few stats per import),
done on the build thread, never the event loop.
"""

from __future__ import annotations

import collections
import os
import re
import threading
from collections.abc import Sequence

from smalllsp.syntax.symbols import Outline

MAX_DEPTH = 3  # imports of imports of imports: the open file's import, theirs, and theirs
JS_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".d.ts")
JS_LANGUAGES = frozenset({"javascript", "javascriptreact", "typescript", "typescriptreact"})

_PY_FROM = re.compile(r"^\s*from\s+(\.*)([\w.]*)\s+import\s+(.+)$", re.S)
_PY_IMPORT = re.compile(r"^\s*import\s+(.+)$", re.S)
_JS_SOURCE = re.compile(r"""(?:from|import|require\s*\()\s*['"]([^'"]+)['"]""")
_INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
_JAVA_IMPORT = re.compile(r"^\s*import\s+(?:static\s+)?([\w.]+?)(?:\.\*)?\s*;")


def imported_files(path: str, outline: Outline, root: str) -> list[str]:
    """The workspace files (under ``root``) that ``path``'s imports name, in import order."""
    directory = os.path.dirname(path)
    language_id = outline.language_id
    found: list[str] = []
    for statement in outline.imports:
        if language_id == "python":
            candidates = _python(statement, directory, root)
        elif language_id in JS_LANGUAGES:
            candidates = _javascript(statement, directory)
        elif language_id in ("c", "cpp"):
            matched = _INCLUDE.match(statement)
            candidates = [os.path.join(directory, matched.group(1))] if matched else []
        elif language_id == "java":
            matched = _JAVA_IMPORT.match(statement)
            candidates = _dotted(matched.group(1), directory, root, (".java",)) if matched else []
        else:
            candidates = []
        for candidate in candidates:
            candidate = os.path.normpath(candidate)
            if (
                candidate.startswith(root + os.sep)
                and candidate != path
                and candidate not in found
                and os.path.isfile(candidate)
            ):
                found.append(candidate)
    return found


def _bases(directory: str, root: str) -> list[str]:
    """Where an absolute import may start: the file's folder and each folder above it up to the root."""
    bases = []
    current = directory
    while current.startswith(root):
        bases.append(current)
        if current == root:
            break
        current = os.path.dirname(current)
    return bases


def _dotted(module: str, directory: str, root: str, extensions: Sequence[str]) -> list[str]:
    relative = module.replace(".", os.sep)
    out: list[str] = []
    for base in _bases(directory, root):
        stem = os.path.join(base, relative)
        out.extend(stem + extension for extension in extensions)
        out.append(os.path.join(stem, "__init__.py") if ".py" in extensions else stem)
    return out


def _python(statement: str, directory: str, root: str) -> list[str]:
    text = " ".join(re.sub(r"#[^\n]*", "", statement).replace("(", " ").replace(")", " ").split())
    text = text.replace("\\", " ")
    matched = _PY_FROM.match(text)
    if matched:
        dots, module, names = matched.groups()
        members = [part.split()[0] for part in names.split(",") if part.split()]
        if dots:  # relative: from the file's package, one folder up per extra dot
            base = directory
            for _ in range(len(dots) - 1):
                base = os.path.dirname(base)
            stem = os.path.join(base, module.replace(".", os.sep)) if module else base
            out = [stem + ".py", os.path.join(stem, "__init__.py")]
            out.extend(os.path.join(stem, member + ".py") for member in members if member != "*")
            return out
        out = _dotted(module, directory, root, (".py", ".pyi"))
        for member in members:  # `from pkg import submodule`
            if member != "*":
                out.extend(_dotted(f"{module}.{member}", directory, root, (".py",)))
        return out
    matched = _PY_IMPORT.match(text)
    if not matched:
        return []
    modules: list[str] = []
    for part in matched.group(1).split(","):
        words = part.split()
        if words:
            modules.extend(_dotted(words[0], directory, root, (".py", ".pyi")))
    return modules


def _javascript(statement: str, directory: str) -> list[str]:
    out: list[str] = []
    for source in _JS_SOURCE.findall(statement):
        if not source.startswith("."):
            continue  # a package from node_modules: never indexed
        stem = os.path.join(directory, source)
        out.append(stem)
        out.extend(stem + extension for extension in JS_EXTENSIONS)
        out.extend(os.path.join(stem, "index" + extension) for extension in JS_EXTENSIONS)
    return out


class PriorityQueue:
    """Open documents waiting for their imports to be indexed, then their imports' imports.

    The event loop only appends (constant time); the build thread resolves and
    indexes. A file is followed once per build.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: collections.deque[tuple[str, Outline | None, int]] = collections.deque()
        self._followed: set[str] = set()
        self.done: set[str] = set()  # files this build indexed ahead of the walk's order
        self.indexed = 0  # how many, over all builds
        self.opened = 0  # open documents taken this build

    def open_document(self, path: str, outline: Outline | None) -> None:
        with self._lock:
            self._waiting.append((path, outline, 0))
            self._followed.discard(path)  # its imports may have changed

    def follow(self, path: str, depth: int) -> None:
        """A file indexed because of an import: its own imports come next, one level deeper."""
        if depth <= MAX_DEPTH:
            with self._lock:
                self._waiting.append((path, None, depth))

    def take(self) -> tuple[str, Outline | None, int] | None:
        with self._lock:
            while self._waiting:
                item = self._waiting.popleft()
                if item[0] not in self._followed:
                    self._followed.add(item[0])
                    self.opened += item[2] == 0
                    return item
            return None

    def pending(self) -> int:
        with self._lock:
            return len(self._waiting)

    def new_build(self) -> None:
        """A build starts: every file may be followed again (the open documents' are requeued by the index)."""
        with self._lock:
            self._followed.clear()
            self.done = set()
            self.opened = 0
