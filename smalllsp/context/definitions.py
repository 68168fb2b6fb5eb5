"""The global section's definitions: signatures of workspace symbols used near the cursor.

A name near the cursor (or imported by the document) that another workspace
file defines is shown by its header and the first line of its doc, grouped
by file, as the model would see that file's outline.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Sequence

from smalllsp.syntax import builtins, languages, uses

if TYPE_CHECKING:
    from smalllsp.context.global_section import Sources
    from smalllsp.context.window import Window
    from smalllsp.syntax.symbols import Definition
    from smalllsp.workspace.index import IndexedSymbol

# Names near the cursor looked up in the index, closest first.
MAX_NAMES = 200
# A name defined in more files than this is ambiguous unless the document imports one of them.
MAX_DEFINITIONS_PER_NAME = 3
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def names_near(window: Window) -> list[str]:
    """Identifiers in the window, closest to the cursor first; the cursor line
    is left out, so typing on it does not change the global section."""
    order: list[str] = []
    seen = set()
    above = range(window.cursor_line - 1, window.first_line - 1, -1)
    below = range(window.cursor_line + 1, window.last_line + 1)
    for distance in range(max(len(above), len(below))):
        for rows in (above, below):
            if distance < len(rows) and rows[distance] < len(window.lines):
                for name in _IDENTIFIER.findall(window.lines[rows[distance]]):
                    if name not in seen:
                        seen.add(name)
                        order.append(name)
        if len(order) >= MAX_NAMES:
            break
    return order[:MAX_NAMES]


def near(
    sources: Sources,
    window: Window,
    language_id: str,
    budget: int,
    count: Callable[[str], int],
    skip: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> tuple[list[tuple[str, str]], set[tuple[str, str]], int]:
    """Signatures from other files of the symbols used near the cursor or imported, as
    ``(relpath, text)`` per file (but those in ``skip``: (relpath, name) shown already, as the
    callee); the names shown, and the budget left."""
    if sources.index is None or budget <= 0:
        return [], set(), budget
    own = {d.name for d in sources.outline.definitions} if sources.outline is not None else set()
    imports = "\n".join(sources.outline.imports) if sources.outline is not None else ""
    imported = _IDENTIFIER.findall(imports)
    language = uses.table_language(language_id)
    chosen: list["IndexedSymbol"] = []
    seen_files: set[str] = set()
    for name in dict.fromkeys([*names_near(window), *imported]):
        if name in own or len(name) < 3 or builtins.is_builtin(language, name):
            continue
        found = [
            s for s in pick(sources, name, imports) if (s.relpath, s.definition.name) not in skip
        ]
        for symbol in found:
            cost = (
                count(render_definition(symbol.definition, symbol.relpath))
                + 2
                + (0 if symbol.relpath in seen_files else count(f"{symbol.relpath}\n") + 1)
            )
            if cost > budget:
                continue
            budget -= cost
            seen_files.add(symbol.relpath)
            chosen.append(symbol)
    chosen.sort(key=lambda s: (s.relpath, s.definition.start_line))
    by_file = [
        (relpath, render_file([s.definition for s in chosen if s.relpath == relpath], relpath))
        for relpath in dict.fromkeys(s.relpath for s in chosen)
    ]
    return by_file, {(s.relpath, s.definition.name) for s in chosen}, budget


def pick(sources: Sources, name: str, imports: str) -> list["IndexedSymbol"]:
    assert sources.index is not None
    found = [s for s in sources.index.definitions(name) if s.path != sources.path]
    if len({s.path for s in found}) <= MAX_DEFINITIONS_PER_NAME:
        return found
    stems = [s for s in found if re.search(rf"\b{re.escape(stem(s.relpath))}\b", imports)]
    return stems if len({s.path for s in stems}) <= MAX_DEFINITIONS_PER_NAME else []


def stem(relpath: str) -> str:
    return relpath.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def render_definition(definition: "Definition", relpath: str, *, under_class: bool = False) -> str:
    """A definition as the prompt shows it: its header and the first line of its doc.

    Python gets a docstring (or ``...``) as the body, indented under its class
    when ``under_class``; other languages get the doc as a comment above, and
    a method names its container in a comment.
    """
    language_id = languages.EXTENSIONS.get("." + relpath.rsplit(".", 1)[-1], "")
    comment = languages.line_comment(language_id)
    doc = definition.doc.strip().split("\n", 1)[0].strip()
    callable_ = definition.kind in ("function", "method", "class")
    lines = []
    if definition.container and not under_class:
        lines.append(f"{comment} in {definition.container}")
    if doc and language_id != "python":
        lines.append(f"{comment} {doc}")
    lines.append(definition.signature.rstrip())
    if language_id == "python" and callable_:
        lines.append(f'    """{doc}"""' if doc else "    ...")
    indent = "    " if under_class else ""
    return "".join(f"{indent}{line}\n" for line in lines)


def render_file(definitions: Sequence["Definition"], relpath: str) -> str:
    """The definitions shown from one file, in source order; Python methods
    go under a ``class`` line of their container."""
    python = relpath.endswith((".py", ".pyi"))
    parts = []
    open_class = None
    for definition in definitions:
        if python and definition.container:
            if open_class != definition.container:
                parts.append(f"class {definition.container}:\n")
                open_class = definition.container
            parts.append(render_definition(definition, relpath, under_class=True))
            continue
        open_class = definition.name if python and definition.kind == "class" else None
        parts.append(render_definition(definition, relpath))
    return "".join(parts)
