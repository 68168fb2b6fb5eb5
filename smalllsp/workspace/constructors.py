"""What calling a class takes: its own constructor, or the one it inherits.

``class Child(Base):`` with no ``__init__`` is called as ``Base`` is. The
index records a class's own constructor (symbols.py); this follows a single
base through the subclass file's imports (resolve.py) when it has none. Where
the answer depends on what the index cannot see (several bases and their
MRO, a metaclass, a dataclass decorator turning annotated fields into
parameters, a base from outside the workspace), there is no answer: the
guard then says it could not check the call.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from smalllsp.workspace import resolve

if TYPE_CHECKING:
    from smalllsp.syntax.symbols import Parameters
    from smalllsp.workspace.index import IndexedSymbol, WorkspaceIndex

# How many classes up a constructor is looked for (class C(B), class B(A), ...).
MAX_BASE_DEPTH = 4
_CLASS_HEADER = re.compile(
    r"^\s*class\s+\w+\s*(?:\[[^\]]*\])?\s*\((.*)\)\s*(?:->[^:]*)?:\s*$", re.S
)
# Bases that add nothing to a constructor, and metaclasses that leave calling a class alone.
_TRIVIAL_BASES = frozenset({"object", "Generic", "Protocol", "ABC"})
_PLAIN_METACLASSES = frozenset({"ABCMeta", "abc.ABCMeta", "type"})
# Builtin exceptions whose constructor takes any positional argument and no keyword
# (checked on CPython 3.11: ImportError, AttributeError, OSError... take more, and are left out).
_POSITIONAL_EXCEPTIONS = frozenset(
    {
        "Exception",
        "ValueError",
        "TypeError",
        "RuntimeError",
        "KeyError",
        "IndexError",
        "LookupError",
        "ArithmeticError",
        "ZeroDivisionError",
        "NotImplementedError",
        "AssertionError",
        "Warning",
        "UserWarning",
        "DeprecationWarning",
        "RuntimeWarning",
    }
)


def constructor(
    index: "WorkspaceIndex", symbol: "IndexedSymbol", depth: int = 0
) -> "tuple[Parameters, str] | None":
    """What calling a class takes, and where that comes from (its own constructor, or the one it
    inherits: ``class Child(Base):`` with no ``__init__`` is called as ``Base`` is). None when
    it cannot be known: several bases, a base from outside the workspace, a class whose
    annotated fields a decorator we cannot see may turn into parameters (a dataclass)."""
    definition = symbol.definition
    if definition.parameters is not None:
        return definition.parameters, f"{definition.name} in {symbol.relpath}"
    if definition.kind != "class" or not symbol.path.endswith((".py", ".pyi")):
        return None
    if depth >= MAX_BASE_DEPTH:
        return None
    header = _CLASS_HEADER.match(" ".join(definition.signature.split()))
    if header is None:
        return None
    bases = []
    for part in _top_level_split(header.group(1)):
        name, _, value = part.partition("=")
        if value:
            if name.strip() != "metaclass" or value.strip() not in _PLAIN_METACLASSES:
                return None  # a metaclass may change what calling the class takes
            continue
        base = re.sub(r"\[.*\]$", "", part.strip(), flags=re.S)
        if base.rsplit(".", 1)[-1] not in _TRIVIAL_BASES:
            bases.append(base)
    outline = index.outline_of(symbol.path)
    if len(bases) != 1 or outline is None:
        return None
    annotated = re.compile(r"^\w+\s*:(?!=)(?!\s*(?:typing\.)?ClassVar\b)")  # a ClassVar is no field
    if any(
        d.container == definition.name and d.kind == "constant" and annotated.match(d.signature)
        for d in outline.definitions
    ):
        return None  # fields: a dataclass (its decorator is not in the index) adds them
    base = bases[0]
    receiver, _, name = base.rpartition(".")
    resolution = resolve.Resolver(index, symbol.path, "python", outline.imports).resolve(
        name, receiver or None
    )
    if resolution.kind == resolve.WORKSPACE:
        found = [s for s in resolution.symbols if s.definition.kind == "class"]
    elif resolution.kind == resolve.UNBOUND and not receiver:
        found = [
            s
            for s in index.definitions(name)
            if s.path == symbol.path and s.definition.kind == "class"
        ]
        if not found:
            return _builtin_exception(name)
    else:
        return None
    if len(found) != 1:
        return None
    return constructor(index, found[0], depth + 1)


def _builtin_exception(name: str) -> "tuple[Parameters, str] | None":
    """``class ParseError(ValueError):``: called with any positional argument and no keyword."""
    from smalllsp.syntax.symbols import Parameters

    if name not in _POSITIONAL_EXCEPTIONS:
        return None
    return Parameters((), 0, True, False), f"the builtin {name}"


def _top_level_split(text: str) -> list[str]:
    """``A, B[C, D], metaclass=M`` -> the three parts (commas inside brackets stay)."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]
