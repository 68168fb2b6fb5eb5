"""Go struct literals against the struct's fields: the binding check for ``Point{X: 1}``.

A Go struct is built by a composite literal, not a call, so the call binder
never sees it; a small model writes ``Config{Name: n, Retries: 3}`` for a
struct whose field is ``MaxRetries`` as readily as it invents a keyword
argument. The rules are the language's: keyed elements name fields (each at
most once, any subset), positional elements give every field in order, and
the two do not mix. The fields are read from the struct's indexed header,
which holds its body.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from tree_sitter import Node

from smalllsp.guard import lookup
from smalllsp.syntax import languages

if TYPE_CHECKING:
    from smalllsp.guard import GuardContext


@dataclasses.dataclass(frozen=True)
class Literal:
    """``pkg.Point{X: 1, Y: 2}`` as written: the type's name, its keys, its positional values."""

    type_name: str  # "Point" (without the package)
    receiver: str | None  # "pkg" for pkg.Point
    keys: tuple[str, ...]
    positional: int
    start_byte: int


def literals(root: Node, start: int, end: int, source: bytes) -> list[Literal]:
    """The struct literals of named types that the bytes ``start..end`` write (or fill in)."""
    found = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.start_byte >= end or node.end_byte <= start:
            continue
        stack.extend(node.children)
        if node.type != "composite_literal":
            continue
        kind, body = node.child_by_field_name("type"), node.child_by_field_name("body")
        if kind is None or body is None:
            continue
        if kind.type == "type_identifier":
            name, receiver = _text(source, kind), None
        elif kind.type == "qualified_type":
            package, named = kind.child_by_field_name("package"), kind.child_by_field_name("name")
            if package is None or named is None:
                continue
            name, receiver = _text(source, named), _text(source, package)
        else:
            continue  # []int{...}, map[string]int{...}: not a struct
        elements = [c for c in body.named_children if c.type != "comment"]
        if not any(start <= c.start_byte < end for c in elements) and not (
            start <= body.start_byte < end
        ):
            continue
        keys = []
        for element in elements:
            if element.type == "keyed_element":
                key = element.child_by_field_name("key") or element.named_child(0)
                if key is not None:
                    keys.append(_text(source, key).strip())
        found.append(
            Literal(name, receiver, tuple(keys), len(elements) - len(keys), node.start_byte)
        )
    return sorted(found, key=lambda literal: literal.start_byte)


def struct_fields(signature: str) -> tuple[str, ...] | None:
    """The field names of ``type Point struct {...}`` in order (an embedded field is named
    by its type); None when the header is no struct or is clipped."""
    parser = languages.parser("go")
    if parser is None:
        return None
    source = f"package p\n{signature}\n".encode()
    tree = parser.parse(source)
    if tree.root_node.has_error:
        return None
    for node in _walk(tree.root_node):
        if node.type == "struct_type":
            body = next(
                (c for c in node.named_children if c.type == "field_declaration_list"), None
            )
            if body is None:
                return None
            names: list[str] = []
            for field in body.named_children:
                if field.type != "field_declaration":
                    continue
                declared = field.children_by_field_name("name")
                if declared:
                    names += [_text(source, n) for n in declared]
                else:
                    kind = field.child_by_field_name("type")
                    if kind is not None:
                        names.append(_text(source, kind).lstrip("*").rsplit(".", 1)[-1])
            return tuple(names)
    return None


def check(fields: tuple[str, ...], literal: Literal) -> str | None:
    """What is wrong with the literal as Go would say it, or None when it compiles."""
    if literal.keys and literal.positional:
        return "a mixture of field:value and value elements"
    if literal.positional:
        if literal.positional != len(fields):
            few = "few" if literal.positional < len(fields) else "many"
            return f"too {few} values ({literal.positional}; it has {len(fields)} fields)"
        return None
    seen: set[str] = set()
    for key in literal.keys:
        if key not in fields:
            return f"an unknown field {key}"
        if key in seen:
            return f"field {key} given twice"
        seen.add(key)
    return None


def judge_literal(
    context: "GuardContext", literal: Literal, defined_here: frozenset[str]
) -> tuple[str | None, bool]:
    """A Go struct literal of a workspace struct the model saw: (what is wrong, checked)."""
    if literal.receiver is None and literal.type_name in defined_here:
        return None, False
    found = [
        s for s in lookup.elsewhere(context, literal.type_name) if s.definition.kind == "class"
    ]
    if literal.receiver is not None:  # pkg.Point: a struct of the package's folder
        found = [
            s for s in found if literal.receiver in s.relpath.split("/")[:-1] or len(found) == 1
        ]
    shown = [s for s in found if lookup.shown(context, s)]
    known = [(s, struct_fields(s.definition.signature)) for s in shown]
    checked = [(s, fields) for s, fields in known if fields is not None]
    if not checked:
        return None, False  # not seen ("uses Point from ...", told by the name check) or no struct
    problems = [check(fields, literal) for _s, fields in checked]
    if not all(problems):
        return None, True
    first = checked[0][0]
    written = f"{literal.receiver}.{literal.type_name}" if literal.receiver else literal.type_name
    return (
        f"writes {written}{{}} with {problems[0]}; {first.relpath} defines {lookup.one_line(first.definition.signature)}",
        False,
    )


def _walk(node: Node) -> list[Node]:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(reversed(current.children))
    return found


def _text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")
