"""A candidate that rewrites a definition's header that other workspace files use.

The saved definitions of the file (as the other files were written against
them) are compared with the headers the candidate writes: a new name or new
parameters for a function that another file calls is a cross-file change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from smalllsp.syntax import symbols

if TYPE_CHECKING:
    from smalllsp.guard import GuardContext

# Files named in a reason before they are only counted.
MAX_FILES_LISTED = 3


def signature_changes(
    context: GuardContext, outline: symbols.Outline, source: bytes, start: int, end: int
) -> list[str]:
    """Definitions whose header the candidate writes, compared with what other files were written against."""
    assert context.index is not None and context.path is not None
    first_line = source[:start].count(b"\n")
    last_line = source[:end].count(b"\n")
    saved = context.index.saved_definitions(context.path)
    reasons = []
    for new in outline.definitions:
        if new.parameters is None:
            continue
        header_last = new.start_line + new.signature.count("\n")
        if header_last < first_line or new.start_line > last_line:
            continue  # the candidate does not touch this header
        line_in_document = context.head_first_line + new.start_line
        old = _saved_counterpart(saved, new, line_in_document)
        if old is None or old.parameters is None:
            continue
        if old.name == new.name and old.parameters == new.parameters:
            continue
        users = [p for p in context.index.referencing_files(old.name) if p != context.path]
        if not users:
            continue
        where = _where_paths(context, users)
        if old.name != new.name:
            reasons.append(
                f"renames {old.name}() to {new.name}(), which {where} use{'s' if len(users) == 1 else ''}"
            )
        else:
            reasons.append(
                f"changes the parameters of {old.name}(), which {where} use{'s' if len(users) == 1 else ''}"
            )
    return reasons


def _saved_counterpart(
    saved: Sequence[symbols.Definition], new: symbols.Definition, line: int
) -> symbols.Definition | None:
    """The saved definition the new header replaces: same name and container, else the one on its line."""
    for old in saved:
        if old.name == new.name and old.container == new.container:
            return old
    for old in saved:
        if old.start_line == line and old.kind == new.kind:
            return old
    return None


def _where_paths(context: GuardContext, paths: list[str]) -> str:
    assert context.index is not None
    relpaths = sorted(context.index.relpath(p) for p in paths)
    if len(relpaths) > MAX_FILES_LISTED:
        return f"{len(relpaths)} other files"
    return ", ".join(relpaths)
