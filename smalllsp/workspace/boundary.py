"""The workspace boundary: which files may lend their text to another file's prompt.

A file is *private* when its name (or a folder's name on its way from the
workspace root) matches a ``private_files`` pattern (``.env*``, ``*.pem``,
``id_*`` ...), when the workspace's ignore rules leave it out (.gitignore'd,
``node_modules`` ...), or when it is a symlink whose target lies outside the
workspace roots. Private files never enter the index, the ring of recent
chunks or the open-document overlay; an open private document still gets
completions from its own text.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence

from smalllsp.workspace import ignore


def private_pattern(name: str, patterns: Sequence[str]) -> str | None:
    """The first pattern that ``name`` (one path part) matches, case-insensitively; None if none."""
    lowered = name.lower()
    for pattern in patterns:
        if fnmatch.fnmatchcase(lowered, pattern.lower()):
            return pattern
    return None


def within(path: str, roots: Sequence[str]) -> bool:
    """Whether ``path`` is one of ``roots`` or lies under one."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def real_roots(roots: Sequence[str]) -> tuple[str, ...]:
    """The roots as given and with their symlinks resolved (a root may itself be reached through a link)."""
    found: list[str] = []
    for root in roots:
        for form in (os.path.abspath(root), os.path.realpath(root)):
            if form not in found:
                found.append(form)
    return tuple(found)


def escapes(path: str, roots: Sequence[str]) -> bool:
    """Whether ``path`` resolves (through symlinks, of the file or a folder) to a place outside ``roots``."""
    return not within(os.path.realpath(path), real_roots(roots))


class Boundary:
    """The rules for one set of workspace roots."""

    def __init__(self, roots: Sequence[str], patterns: Sequence[str]) -> None:
        self.roots = tuple(os.path.abspath(os.fspath(root)) for root in roots)
        self.real_roots = real_roots(self.roots)
        self.patterns = tuple(patterns)
        self._rules = {root: ignore.IgnoreRules(root) for root in self.roots}

    def root_of(self, path: str) -> str | None:
        holding = [root for root in self.roots if within(path, (root,))]
        return max(holding, key=len) if holding else None

    def private_reason(self, path: str) -> str | None:
        """Why ``path`` must stay out of other files' prompts; None when it may be shared."""
        path = os.path.abspath(path)
        root = self.root_of(path)
        parts = (
            path[len(root) + 1 :].split(os.sep)
            if root is not None and path != root
            else [os.path.basename(path)]
        )
        for part in parts:
            if (pattern := private_pattern(part, self.patterns)) is not None:
                return f"private file ({pattern})"
        if root is not None:
            reason = self._rules[root].ignored_reason(path)
            if reason is not None:
                return reason
        real = os.path.realpath(path)
        if real != path:
            if root is not None and not within(real, self.real_roots):
                return "symlinked outside the workspace"
            if (pattern := private_pattern(os.path.basename(real), self.patterns)) is not None:
                return f"private file ({pattern}, through a symlink)"
        return None
