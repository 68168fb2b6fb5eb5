"""What the workspace index leaves out: VCS folders, virtual environments,
dependencies, build output, and whatever the .gitignore files say.

Definitions in a vendored copy or a build folder would shadow the real ones
(two `charge` functions, one stale), and reading them costs time, so they are
skipped before they are read. .gitignore files are honoured at every level,
with git's semantics (the deepest file that has a matching pattern decides;
negation, directory-only and anchored patterns), through `pathspec`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import pathspec

log = logging.getLogger(__name__)

# Directories skipped by name wherever they are.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "node_modules",
        "bower_components",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        ".eggs",
        ".next",
        ".nuxt",
        ".svelte-kit",
        ".turbo",
        ".parcel-cache",
        ".gradle",
        ".idea",
        ".vscode-test",
        ".cache",
        ".cargo",
    }
)
# Build output, skipped by name unless it holds an __init__.py (then it is a
# Python package that happens to be called `build`).
BUILD_DIRS = frozenset(
    {"build", "dist", "target", "out", "_build", "cmake-build-debug", "cmake-build-release"}
)
PACKAGE_MARKER = "__init__.py"
# Virtual environments: any directory holding one of these entries...
VENV_MARKERS = frozenset({"pyvenv.cfg", "conda-meta"})
# ...and directories with these names that have an activate script.
VENV_NAMES = frozenset({".venv", "venv", "env", ".env", "virtualenv"})
ACTIVATE_SCRIPTS = (os.path.join("bin", "activate"), os.path.join("Scripts", "activate"))
GITIGNORE = ".gitignore"


def skipped_dir_reason(path: str, holds: Callable[[str], bool]) -> str | None:
    """Why the directory at ``path`` is left out; None to walk it. ``holds(name)``
    tells whether it has an entry ``name`` (a walk knows from its listing)."""
    name = os.path.basename(path)
    if name in SKIPPED_DIRS:
        return "ignored"
    if name in BUILD_DIRS and not holds(PACKAGE_MARKER):
        return "build output"
    if any(holds(marker) for marker in VENV_MARKERS):
        return "virtual environment"
    if name in VENV_NAMES and any(
        os.path.exists(os.path.join(path, script)) for script in ACTIVATE_SCRIPTS
    ):
        return "virtual environment"
    return None


class GitIgnores:
    """The .gitignore files under one root, loaded once per directory."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}
        self._lock = threading.Lock()
        self.errors = 0  # .gitignore files that could not be read

    def spec(self, directory: str) -> pathspec.GitIgnoreSpec | None:
        """The rules of ``directory``'s own .gitignore, or None without one."""
        if directory in self._specs:
            return self._specs[directory]
        path = os.path.join(directory, GITIGNORE)
        spec = None
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                spec = pathspec.GitIgnoreSpec.from_lines(handle.read().splitlines())
        except FileNotFoundError:
            spec = None
        except (OSError, ValueError) as problem:  # unreadable, or a pattern pathspec rejects
            self.errors += 1
            log.warning("%s: left unused (%s)", path, problem)
        with self._lock:
            self._specs[directory] = spec
        return spec

    def forget(self, directory: str) -> None:
        """Drop the cached rules of ``directory`` (its .gitignore changed)."""
        with self._lock:
            self._specs.pop(directory, None)

    def chain(self, directory: str) -> tuple[tuple[str, pathspec.GitIgnoreSpec], ...]:
        """The rules that apply inside ``directory``: its own and its ancestors' up to the root, outermost first."""
        chain = []
        current = directory
        while True:
            spec = self.spec(current)
            if spec is not None:
                chain.append((current, spec))
            if current == self.root or len(current) <= len(self.root):
                break
            current = os.path.dirname(current)
        return tuple(reversed(chain))


def git_ignored(
    path: str, is_dir: bool, chain: tuple[tuple[str, pathspec.GitIgnoreSpec], ...]
) -> bool:
    """Whether the .gitignore rules in ``chain`` (outermost first) leave ``path`` out."""
    for directory, spec in reversed(chain):
        relative = path[len(directory) + 1 :].replace(os.sep, "/")
        if is_dir:
            relative += "/"
        verdict = spec.check_file(relative).include
        if verdict is not None:
            return verdict
    return False


class IgnoreRules:
    """All the rules for one workspace root."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.gitignores = GitIgnores(root)

    def ignored_reason(self, path: str) -> str | None:
        """Why ``path`` (under the root) is left out, checking every directory
        between the root and it; None when it is indexed. For single paths
        (watcher events); a walk applies the same rules as it goes."""
        relative = path[len(self.root) + 1 :]
        if not path.startswith(self.root + os.sep) or not relative:
            return None if path == self.root else "outside the root"
        parts = relative.split(os.sep)
        current = self.root
        chain = self.gitignores.chain(current)
        for index, part in enumerate(parts):
            current = os.path.join(current, part)
            is_last = index == len(parts) - 1
            is_dir = not is_last or os.path.isdir(current)
            if is_dir:
                directory = current
                reason = skipped_dir_reason(
                    current, lambda name: os.path.lexists(os.path.join(directory, name))
                )
                if reason is not None:
                    return reason
            if git_ignored(current, is_dir, chain):
                return "gitignored"
            if is_dir and not is_last:
                spec = self.gitignores.spec(current)
                if spec is not None:
                    chain = (*chain, (current, spec))
        return None
