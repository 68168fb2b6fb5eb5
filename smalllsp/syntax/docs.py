"""A definition's header and doc, as the prompt shows them.

The header is the definition's text up to its body (decorators and
annotations left out, the wrappers that belong to it kept: ``export const``);
the doc is its docstring (Python) or the comment lines right above it, first
paragraph only.
"""

from __future__ import annotations

import inspect
import re

from tree_sitter import Node

from smalllsp.syntax.nodes import follow, text
from smalllsp.syntax.spec import OutlineRules, Rule

SIGNATURE_CHARS = 300


def _header_node(rules: OutlineRules, node: Node) -> Node:
    """``node``, or the single-child wrappers around it (``export const X = 1``)."""
    while True:
        parent = node.parent
        if parent is None or parent.parent is None:
            return node
        if parent.type not in rules.header_wrappers or parent.named_child_count != 1:
            return node
        node = parent


def signature(rules: OutlineRules, source: bytes, node: Node, rule: Rule) -> tuple[int, str]:
    """The header's first line (0-based) and its text, clipped to SIGNATURE_CHARS."""
    outer = _header_node(rules, node)
    start_node = outer
    for child in outer.children:
        if child.type in rules.decorations:
            continue
        if child.type == "modifiers":
            inner = next((g for g in child.children if g.type not in rules.decorations), None)
            start_node = inner if inner is not None else child.next_sibling or child
        else:
            start_node = child
        break
    body = follow(node, rule.body) if rule.body is not None else None
    end = body.start_byte if body is not None else outer.end_byte
    written = text(source, outer, start_node.start_byte, end).rstrip()
    if len(written) > SIGNATURE_CHARS:
        written = written[:SIGNATURE_CHARS].rstrip() + "…"
    return start_node.start_point.row, written


def doc(rules: OutlineRules, source: bytes, node: Node, rule: Rule) -> str:
    """The definition's docstring, else its doc comment; first paragraph; may be ""."""
    if rules.docstring is not None:
        body_field, statement, string = rules.docstring
        body = node.child_by_field_name(body_field) if rule.body is not None else None
        first = body.named_child(0) if body is not None and body.named_child_count else None
        if first is not None and first.type == statement and first.named_child_count == 1:
            literal = first.named_child(0)
            if literal is not None and literal.type == string:
                return _first_paragraph(_unquote(text(source, literal)))
    return _doc_comment(rules, source, node)


def _doc_comment(rules: OutlineRules, source: bytes, node: Node) -> str:
    """The comment lines right above ``node`` (above its decorations and wrappers)."""
    anchor = node
    top_row = node.start_point.row
    while True:
        previous = anchor.prev_named_sibling
        while previous is not None and previous.type in rules.decorations:
            top_row = previous.start_point.row
            previous = previous.prev_named_sibling
        if previous is not None:
            break
        parent = anchor.parent
        if parent is None:
            break
        parent_rule = rules.rules.get(parent.type)
        if parent_rule is not None and parent_rule.kind == "wrapper" and parent.parent is not None:
            anchor = parent
            top_row = min(top_row, anchor.start_point.row)
            continue
        break
    lines: list[str] = []
    while (
        previous is not None
        and previous.type in rules.comments
        and previous.end_point.row >= top_row - 1
    ):
        before = previous.prev_sibling
        if (
            before is not None
            and before.type not in rules.comments
            and before.end_point.row == previous.start_point.row
        ):
            break  # a trailing comment of the line before
        lines[:0] = text(source, previous).splitlines()
        top_row = previous.start_point.row
        previous = previous.prev_named_sibling
    if not lines:
        return ""
    return _first_paragraph(_uncomment(lines))


_STRING_PREFIX = re.compile(r"^[rRbBuUfF]{0,2}")
_COMMENT_MARK = re.compile(r"^\s*(?:/\*\*?|\*/|\*(?!/)|///?!?|#)?")


def _unquote(literal: str) -> str:
    body = _STRING_PREFIX.sub("", literal)
    for quote in ('"""', "'''", '"', "'"):
        if body.startswith(quote) and body.endswith(quote) and len(body) >= 2 * len(quote):
            return inspect.cleandoc(body[len(quote) : -len(quote)])
    return inspect.cleandoc(body)


def _uncomment(lines: list[str]) -> str:
    cleaned = []
    for line in lines:
        line = line.strip()
        if line.endswith("*/"):
            line = line[:-2]
        cleaned.append(_COMMENT_MARK.sub("", line, count=1).strip())
    return "\n".join(cleaned).strip()


def _first_paragraph(written: str) -> str:
    lines = []
    for line in written.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("@"):
            break
        lines.append(line)
    return "\n".join(lines)
