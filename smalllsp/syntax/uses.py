"""What a piece of code calls and names: the cross-file guard's raw material.

Given a tree and a byte range (a candidate spliced into its document), this
finds the calls the range writes, with the shape of their arguments, and the
plain names it uses. Grammars differ, so each language's spec maps its node
types to roles (``LanguageSpec.calls``); the walking code is shared.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterator

from tree_sitter import Node

from smalllsp.syntax import languages
from smalllsp.syntax.spec import COMMENTS, CallRules

_NO_CALLS = CallRules(calls={}, callees={}, names=frozenset(), members={})


def _rules(language_id: str) -> CallRules:
    spec = languages.spec_for(language_id)
    return spec.calls if spec is not None else _NO_CALLS


def table_language(language_id: str) -> str:
    """The name of ``language_id``'s spec (``typescriptreact`` -> ``typescript``):
    kept for callers that key by it; every lookup takes a language id too."""
    spec = languages.spec_for(language_id)
    return spec.name if spec is not None else language_id


@dataclasses.dataclass(frozen=True)
class Call:
    name: str  # "charge" in billing.charge(a, b)
    receiver: str | None  # "billing" there; None for charge(a, b)
    positional: int  # arguments without a keyword
    keywords: tuple[str, ...]  # keyword arguments' names (Python)
    spread: bool  # *args, ...xs: the count is a lower bound
    start_byte: int
    end_byte: int


def _text(node: Node) -> str:
    return node.text.decode("utf-8", errors="replace") if node.text is not None else ""


def callee_of(language_id: str, node: Node) -> tuple[str | None, Node | None]:
    """The receiver's text and the name node of a callee expression."""
    rules = _rules(language_id)
    receiver: str | None = None
    for _ in range(4):  # a template/generic wraps a qualified name at most a few times
        if node.type in rules.names:
            return receiver, node
        fields = rules.callees.get(node.type)
        if fields is None:
            return receiver, None
        receiver_field, name_field = fields
        if receiver_field is not None:
            inner = node.child_by_field_name(receiver_field)
            if inner is not None:
                receiver = _text(inner)
        named = node.child_by_field_name(name_field)
        if named is None:
            return receiver, None
        node = named
    return receiver, None


def _argument_shape(
    rules: CallRules, arguments: Node | None
) -> tuple[int, tuple[str, ...], bool, list[Node]]:
    if arguments is None:
        return 0, (), False, []
    if arguments.type == "generator_expression":  # Python's f(x for x in xs): one argument
        return 1, (), False, [arguments]
    positional, spread = 0, False
    keywords: list[str] = []
    keyword_fields = rules.keyword_arguments
    spreads = rules.spreads
    children = [c for c in arguments.named_children if c.type not in COMMENTS]
    for child in children:
        if child.type in spreads:
            spread = True
        elif child.type in keyword_fields:
            name = child.child_by_field_name(keyword_fields[child.type])
            keywords.append(_text(name) if name is not None else "")
        else:
            positional += 1
    return positional, tuple(keywords), spread, children


def _overlaps(node: Node, start: int, end: int) -> bool:
    return node.start_byte < end and node.end_byte > start


def calls_in(language_id: str, root: Node, start: int, end: int) -> list[Call]:
    """The calls the bytes ``start..end`` write: their callee's name lies in the
    range, or one of their arguments starts in it (the candidate fills in the
    arguments of a call the user typed)."""
    rules = _rules(language_id)
    call_types = rules.calls
    if not call_types or start >= end:
        return []
    found = []
    stack = [root]
    while stack:
        node = stack.pop()
        if not _overlaps(node, start, end):
            continue
        stack.extend(node.children)
        fields = call_types.get(node.type)
        if fields is None:
            continue
        callee_field, arguments_field = fields
        callee = node if callee_field == "" else node.child_by_field_name(callee_field)
        if callee is None:
            continue
        receiver, name = callee_of(language_id, callee)
        if name is None:
            continue
        positional, keywords, spread, arguments = _argument_shape(
            rules, node.child_by_field_name(arguments_field)
        )
        # the candidate writes the callee, one of its arguments, or closes it (`Syntax(` + `)`)
        written = (
            start <= name.start_byte < end
            or any(start <= a.start_byte < end for a in arguments)
            or (start < node.end_byte <= end and not node.has_error)
        )
        if written:
            found.append(
                Call(
                    _text(name),
                    receiver,
                    positional,
                    keywords,
                    spread,
                    node.start_byte,
                    node.end_byte,
                )
            )
    found.sort(key=lambda c: c.start_byte)
    return found


def names_in(language_id: str, root: Node, start: int, end: int) -> set[str]:
    """Every free name (identifier, type) that starts in ``start..end``: not
    the name after a dot (see :func:`members_in`), not a keyword argument's name."""
    rules = _rules(language_id)
    kinds = rules.names
    # the name after a dot, and a keyword argument's name
    skipped = {kind: name for kind, (_receiver, name) in rules.members.items()}
    skipped.update(rules.keyword_arguments)
    names = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if not _overlaps(node, start, end):
            continue
        if node.type in kinds and start <= node.start_byte:
            names.add(_text(node))
        field = skipped.get(node.type)
        left_out = node.child_by_field_name(field) if field is not None else None
        stack.extend(c for c in node.children if left_out is None or c.id != left_out.id)
    return names


def members_in(language_id: str, root: Node, start: int, end: int) -> set[tuple[str, str]]:
    """(receiver, name) of every ``receiver.name`` whose name starts in ``start..end``."""
    fields = _rules(language_id).members
    found = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if not _overlaps(node, start, end):
            continue
        stack.extend(node.children)
        if node.type in fields:
            receiver_field, name_field = fields[node.type]
            receiver = node.child_by_field_name(receiver_field)
            name = node.child_by_field_name(name_field)
            if receiver is not None and name is not None and start <= name.start_byte:
                found.add((_text(receiver), _text(name)))
    return found


_OPENERS = {"(": ")", "[": "]", "{": "}"}


def unclosed(language_id: str, text: str) -> str:
    """The brackets that close what ``text`` leaves open, innermost first
    (``"f(1, [2"`` -> ``"])"``); strings and line comments are skipped roughly."""
    return "".join(_OPENERS[text[i]] for i in reversed(open_brackets(language_id, text)))


_CALLEE_BEFORE = re.compile(
    r"([A-Za-z_$][\w$]*(?:\s*(?:\.|::)\s*[A-Za-z_$][\w$]*)*)\s*(?:<[^<>()]*>)?\s*$"
)
# Words before a name that make its parenthesis a definition's parameters, not a call.
_DEFINING = frozenset({"def", "class", "function", "fn", "func"})
_NOT_CALLEES = frozenset(
    {
        "if",
        "elif",
        "while",
        "for",
        "return",
        "switch",
        "catch",
        "with",
        "assert",
        "not",
        "and",
        "or",
        "in",
    }
)


def open_calls(language_id: str, text: str) -> list[tuple[str | None, str]]:
    """(receiver, name) of each call ``text`` leaves open, innermost first:
    ``"x = a.f(1, g("`` -> ``[(None, "g"), ("a", "f")]``."""
    found = []
    for position in reversed(open_brackets(language_id, text)):
        if text[position] != "(":
            continue
        matched = _CALLEE_BEFORE.search(text, 0, position)
        if matched is None:
            continue
        dotted = re.split(r"\s*(?:\.|::)\s*", matched.group(1))
        name = dotted[-1]
        word_before = (
            text[: matched.start()].rstrip().rsplit(None, 1)[-1:]
            if text[: matched.start()].strip()
            else []
        )
        if name in _NOT_CALLEES or (word_before and word_before[0] in _DEFINING):
            continue
        receiver = ".".join(dotted[:-1]) or None
        found.append((receiver, name))
    return found


def outside_strings(text: str, wanted: str) -> Iterator[tuple[int, str]]:
    """Each character of ``wanted`` in ``text`` outside a quoted string, with its index.

    For the text of a call the model is still writing: quotes are ``'`` and
    ``"`` (a backslash escapes the next character), and a string left open
    hides the rest.
    """
    quote, escaped = "", False
    for index, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in wanted:
            yield index, char


def open_brackets(language_id: str, text: str) -> list[int]:
    """Where the brackets ``text`` leaves open are, outermost first."""
    comment = languages.line_comment(language_id)
    stack: list[int] = []
    quote = ""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if text.startswith(quote, i):
                i += len(quote)
                quote = ""
                continue
            if c == "\n" and len(quote) == 1:
                quote = ""
        elif text.startswith(comment, i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "\"'`":
            quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else c
            i += len(quote)
            continue
        elif c in _OPENERS:
            stack.append(i)
        elif c in ")]}" and stack and _OPENERS[text[stack[-1]]] == c:
            stack.pop()
        i += 1
    return stack
