"""Small reads of tree-sitter nodes that the outline's readers share."""

from __future__ import annotations

from tree_sitter import Node

Path = tuple[str, ...]  # fields followed one after the other from a node


def text(source: bytes, node: Node, start: int | None = None, end: int | None = None) -> str:
    """The node's source text (or the part from ``start`` to ``end``, in bytes)."""
    begin = node.start_byte if start is None else start
    stop = node.end_byte if end is None else end
    return source[begin:stop].decode("utf-8", errors="replace")


def last_row(node: Node) -> int:
    """The node's last line (a preprocessor line's node ends at the start of the next)."""
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def follow(node: Node | None, path: Path) -> Node | None:
    """The node reached by following the fields of ``path`` from ``node``, if any."""
    for field in path:
        if node is None:
            return None
        node = node.child_by_field_name(field)
    return node


def first_type_name(node: Node | None) -> Node | None:
    """The first type name in ``node`` (Go's receiver ``(s *Store)``, Rust's ``impl<T> Display for Wrapper<T>``)."""
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if current.type == "type_identifier":
            return current
        stack.extend(reversed(current.named_children))
    return None
