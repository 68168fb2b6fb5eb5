"""The scope detector: what encloses the cursor, and where a completion leaves it.

Small models run on past the end of the function they were asked to
complete. Tree-sitter knows where that function ends once the candidate is
spliced into the document: the candidate is cut where it leaves the class or
function enclosing its first character.

Node types differ by grammar, so each language's spec maps its node types to
a few kinds (``LanguageSpec.scope_kinds``): ``class``, ``function`` (scopes a
completion must stay in), ``block``, ``call`` (argument lists), ``string``
and ``comment``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from tree_sitter import Node, Tree

from smalllsp.syntax.languages import parser, spec_for

# The scopes a completion must not leave.
ENCLOSING = frozenset({"class", "function"})
# A stand-in typed on a blank cursor line, so the tree places the cursor in
# the block it is indented into (a blank line belongs to no node).
PLACEHOLDER = "_;"


@dataclasses.dataclass(frozen=True)
class Scope:
    kind: str
    node_type: str
    start_line: int
    end_line: int
    header: str  # the scope's first line, e.g. "def area(radius):"


def _kinds(language_id: str) -> Mapping[str, str]:
    spec = spec_for(language_id)
    return spec.scope_kinds if spec is not None else {}


def _chain(kinds: Mapping[str, str], node: Node | None, lines: list[str]) -> tuple[Scope, ...]:
    chain = []
    while node is not None:
        kind = kinds.get(node.type)
        if kind is not None:
            row = node.start_point.row
            header = lines[row].strip() if row < len(lines) else ""
            chain.append(Scope(kind, node.type, row, node.end_point.row, header))
        node = node.parent
    return tuple(reversed(chain))


def scope_chain(
    language_id: str, lines: list[str], line: int, column: int
) -> tuple[Scope, ...] | None:
    """The scopes enclosing the cursor, outermost first; None without a grammar.

    ``column`` is a code-point index into ``lines[line]``.
    """
    p = parser(language_id)
    kinds = _kinds(language_id)
    if p is None or not kinds:
        return None
    current = lines[line]
    if not current.strip():
        current = current[:column] + PLACEHOLDER + current[column:]
    text_lines = [*lines[:line], current, *lines[line + 1 :]]
    head = "".join(l + "\n" for l in lines[:line]) + current[:column]
    at = len(head.encode("utf-8"))
    if current[:column].strip() and not current[column:].strip():
        at -= 1  # at the end of a line: the last character typed (a node's end is outside it)
    tree = p.parse("\n".join(text_lines).encode("utf-8"))
    node = tree.root_node.descendant_for_byte_range(at, at)
    return _chain(kinds, node, text_lines)


def _closing_token(node: Node) -> Node | None:
    """The ``}`` that ends ``node`` (also as the end of its body block), if any."""
    last = node
    for _ in range(3):
        if not last.children:
            return None
        last = last.children[-1]
        if not last.is_named:
            break
    if not last.is_named and last.type == "}" and last.end_byte == node.end_byte:
        return last
    return None


def inside_string_or_comment(chain: tuple[Scope, ...] | None) -> bool:
    return chain is not None and bool(chain) and chain[-1].kind in ("string", "comment")


def scope_cut(
    language_id: str, head: str, candidate: str, tail: str, tree: Tree | None = None
) -> int | None:
    """Where ``candidate``, spliced between ``head`` and ``tail``, leaves the
    class or function that encloses its first character (an index into
    ``candidate``), or None when it stays inside, or no grammar applies.

    A closing brace that ends the scope belongs to the document's own code
    (it is in ``tail``), so the cut comes before it. ``tree``: the spliced
    text's tree, when the caller has it already.
    """
    p = parser(language_id)
    kinds = _kinds(language_id)
    if p is None or not kinds or not candidate.strip():
        return None
    head_bytes = head.encode("utf-8")
    candidate_bytes = candidate.encode("utf-8")
    if tree is None:
        tree = p.parse(head_bytes + candidate_bytes + tail.encode("utf-8"))
    first = len(head_bytes) + (len(candidate_bytes) - len(candidate.lstrip().encode("utf-8")))
    node = tree.root_node.descendant_for_byte_range(first, first)
    while node is not None and not (
        kinds.get(node.type) in ENCLOSING and node.start_byte < len(head_bytes)
    ):
        node = node.parent
    if node is None:
        return None
    end = node.end_byte
    closer = _closing_token(node)
    if closer is not None:
        end = closer.start_byte
    inside = end - len(head_bytes)
    if inside >= len(candidate.rstrip().encode("utf-8")):
        return None  # only whitespace (a finished line's break) lies beyond the scope
    return len(candidate_bytes[: max(inside, 0)].decode("utf-8", errors="ignore"))
