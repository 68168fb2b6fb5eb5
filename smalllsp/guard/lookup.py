"""Where a name the candidate uses is defined, and whether the model saw it (the guard's look-ups).

Shared by the checks of calls, names and members (guard/__init__.py) and of Go
struct literals (guard/fields.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from smalllsp.guard import GuardContext
    from smalllsp.workspace.index import IndexedSymbol

# A name with more definitions than this in other files says little about any one of them.
MAX_DEFINITIONS_LISTED = 3


def elsewhere(context: GuardContext, name: str) -> list["IndexedSymbol"]:
    """Definitions of ``name`` in other workspace files."""
    assert context.index is not None
    return [s for s in context.index.definitions(name) if s.path != context.path]


def shown(context: GuardContext, found: "IndexedSymbol") -> bool:
    """Whether the model saw the definition: its first line is in the prompt."""
    first = found.definition.signature.strip().split("\n", 1)[0].strip()
    return bool(first) and first in context.prompt_text


def imported(context: GuardContext, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", context.imports) is not None


def where(found: Sequence["IndexedSymbol"]) -> str:
    paths = sorted({s.relpath for s in found})
    if len(paths) > MAX_DEFINITIONS_LISTED:
        return f"{len(paths)} workspace files"
    return ", ".join(paths)


def receiver_root(receiver: str) -> str:
    return re.split(r"\.|::|->", receiver, maxsplit=1)[0].strip()


def module_stem(relpath: str) -> str:
    """``billing/api.py`` -> ``api``: the name an import of that file mentions."""
    stem = relpath.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return "" if stem in ("__init__", "index", "mod", "lib", "main") else stem


_LOCAL_IMPORT = re.compile(r"^[ \t]+((?:from[ \t]+\S+[ \t]+)?import[ \t]+[^\n(]+)$", re.M)


def local_imports(context: GuardContext) -> list[str]:
    """Python imports inside a function above the cursor (``from IPython.display import display``)."""
    if context.language_id != "python":
        return []
    return [m.group(1).strip() for m in _LOCAL_IMPORT.finditer(context.head)]


def bound_locally(context: GuardContext, name: str) -> bool:
    """Python: the code above the cursor binds ``name`` itself (``_cell_len = cell_len``, a
    parameter, a loop variable, ``with ... as name``), so it is not the workspace's."""
    if context.language_id != "python":
        return False
    n = re.escape(name)
    return any(
        re.search(pattern, context.head, re.M)
        for pattern in (
            rf"^[ \t]*(?:[\w.]+[ \t]*,[ \t]*)*{n}[ \t]*(?:,[ \t]*[\w.]+[ \t]*)*(?::[^=\n]*)?=(?!=)",
            # a parameter's name, not a name in its annotation (console: Optional[Console])
            rf"^[ \t]*(?:async[ \t]+)?def[ \t]+\w+[ \t]*\((?:[^)]*,)?\s*\*{{0,2}}{n}\s*[:=,)]",
            rf"^[ \t]*(?:async[ \t]+)?for[ \t]+[^\n]*\b{n}\b[^\n]*[ \t]in[ \t]",
            rf"^(?![ \t]*(?:from|import)[ \t])[^\n]*\bas[ \t]+{n}\b",  # with ... as name
        )
    )


def used_outside(context: GuardContext, name: str) -> bool:
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    return pattern.search(context.head) is not None or pattern.search(context.tail) is not None


def one_line(signature: str) -> str:
    return " ".join(signature.split())[:120]
