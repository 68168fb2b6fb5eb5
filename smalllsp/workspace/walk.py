"""The walk of a workspace folder: the source files the index reads, in a stable order.

Separate from the index so that a walk's rules (ignored folders, .gitignore,
private names, symlinked folders never followed, the file limit) read in one
place; the index decides what to do with what the walk finds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Container, Sequence

from smalllsp.workspace import boundary, ignore
from smalllsp.workspace.files import language_of

Candidate = tuple[str, str, str]  # path, its root, language id


def walk(
    root: str,
    rules: ignore.IgnoreRules,
    candidates: list[Candidate],
    *,
    max_files: int,
    private_patterns: Sequence[str],
    other_roots: Container[str],
    skip: Callable[..., None],
    cancelled: Callable[[], bool],
    after_directory: Callable[[], None],
    start: str | None = None,
) -> bool:
    """Append the source files under ``start`` (default: the root) that are not
    ignored; False when ``max_files`` candidates stopped it. ``skip(reason,
    path, detail)`` counts what is left out; ``after_directory()`` runs after
    each directory listed (progress, and the index's priority work)."""
    start = start or root
    stack = [(start, rules.gitignores.chain(os.path.dirname(start)) if start != root else ())]
    while stack:
        if cancelled():
            return True
        directory, chain = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name, reverse=True)
        except FileNotFoundError:
            skip("vanished", directory)
            continue
        except OSError as problem:
            skip("unreadable", directory, problem)
            continue
        names = {entry.name for entry in entries}
        if directory != root:
            reason = ignore.skipped_dir_reason(directory, names.__contains__)
            if reason is not None:
                skip("ignored", directory, reason)
                continue
        if ignore.GITIGNORE in names:
            spec = rules.gitignores.spec(directory)
            if spec is not None:
                chain = (*chain, (directory, spec))
        subdirectories = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if not is_dir and entry.is_symlink() and entry.is_dir():
                    skip("symlinked directory", entry.path)  # never followed: no loops
                    continue
                is_file = not is_dir and entry.is_file()
            except OSError as problem:
                skip("unreadable", entry.path, problem)
                continue
            if boundary.private_pattern(entry.name, private_patterns) is not None:
                skip("private", entry.path)
                continue
            if is_dir:
                if entry.name in ignore.SKIPPED_DIRS or ignore.git_ignored(entry.path, True, chain):
                    skip("ignored", entry.path)
                elif entry.path not in other_roots:
                    subdirectories.append(entry.path)
            elif is_file:
                language_id = language_of(entry.name)
                if language_id is None:
                    continue
                if ignore.git_ignored(entry.path, False, chain):
                    skip("ignored", entry.path)
                    continue
                if len(candidates) >= max_files:
                    return False
                candidates.append((entry.path, root, language_id))
        stack.extend((sub, chain) for sub in reversed(subdirectories))
        after_directory()
    return True
