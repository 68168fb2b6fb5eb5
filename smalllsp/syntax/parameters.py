"""A definition's parameter list, read into :class:`Parameters`.

What a call must pass and may pass (required, optional, variadic, keyword
only, positional only) is what the cross-file guard binds calls against;
each language's spec names the roles of its parameter node types.
"""

from __future__ import annotations

from tree_sitter import Node

from smalllsp.syntax.spec import (
    DEFAULT_FIELDS,
    INNER,
    KEYWORD_MARK,
    KEYWORDS,
    OPTIONAL,
    PARAMETER_NAME_FIELDS,
    POSITIONAL_MARK,
    REQUIRED,
    SKIP,
    VARIADIC,
    OutlineRules,
)
from smalllsp.syntax.model import Parameters
from smalllsp.syntax.nodes import text


class ParameterReader:
    """Reads the parameter lists of one file's definitions."""

    def __init__(self, rules: OutlineRules, source: bytes) -> None:
        self.rules = rules
        self.source = source
        self._roles = rules.parameter_roles
        self._name_types = rules.name_types

    def read(self, found: Node, drop_receiver: bool) -> Parameters:
        """The parameters of the list (or the single parameter) ``found``;
        ``drop_receiver``: a method's first ``self``/``cls`` is left out."""
        if found.type in self.rules.parameter_lists:
            children = [
                c for c in found.children if c.is_named or c.type in self._roles
            ]  # C++'s bare `...`
        else:
            children = [found]
        names: list[str] = []
        optional: list[str] = []
        required = 0
        variadic = keywords = False
        positional_only = 0
        keyword_from: int | None = None  # names from this index on are keyword-only
        first = True
        comments = self.rules.comments
        receivers = self.rules.implicit_receivers
        for child in children:
            if child.type in comments:
                continue
            role = self._role(child)
            if role == SKIP:
                continue
            if role == POSITIONAL_MARK:
                positional_only = len(names)
                continue
            if role == KEYWORD_MARK:
                keyword_from = len(names)
                continue
            child_names = self._names(child)
            if first and drop_receiver and child_names and child_names[0] in receivers:
                first = False
                continue
            first = False
            if role == VARIADIC:
                variadic = True
                if keyword_from is None and self.rules.variadic_starts_keywords:
                    keyword_from = len(names)
            elif role == KEYWORDS:
                keywords = True
            elif (
                role == REQUIRED
                and self.rules.no_parameters is not None
                and text(self.source, child).strip() == self.rules.no_parameters
                and len(children) == 1
            ):
                continue
            else:
                names.extend(child_names)
                if role == REQUIRED:
                    required += len(child_names)
                else:
                    optional.extend(child_names)
        keyword_only = len(names) - keyword_from if keyword_from is not None else 0
        return Parameters(
            tuple(names),
            required,
            variadic,
            keywords,
            positional_only,
            keyword_only,
            tuple(optional),
        )

    def _role(self, node: Node) -> str:
        role = self._roles.get(node.type, REQUIRED if node.type in self._name_types else SKIP)
        if role != INNER:
            return role
        inner = node.child_by_field_name("pattern") or (
            node.named_child(0) if node.named_child_count else None
        )
        role = self._roles.get(inner.type, REQUIRED) if inner is not None else REQUIRED
        if role == INNER:
            role = REQUIRED
        if role == REQUIRED and any(
            node.child_by_field_name(f) is not None for f in DEFAULT_FIELDS
        ):
            role = OPTIONAL
        return role

    def _names(self, node: Node) -> list[str]:
        """The names one parameter declares (Go: ``a, b int`` declares two)."""
        name_types = self._name_types
        if node.type in name_types:
            return [text(self.source, node)]
        several = node.children_by_field_name("name")
        if len(several) > 1:
            return [text(self.source, n) for n in several]
        current = node
        for _ in range(8):
            following = None
            for field in PARAMETER_NAME_FIELDS:
                following = current.child_by_field_name(field)
                if following is not None:
                    break
            if following is None:
                following = next(
                    (c for c in current.named_children if c.type in self.rules.value_names), None
                )
                if following is None:
                    following = next(
                        (
                            c
                            for c in current.named_children
                            if c.type in self._roles or c.type.endswith("declarator")
                        ),
                        None,
                    )
            if following is None:
                break
            current = following
            if current.type in name_types:
                return [text(self.source, current)]
        if current is node and node.named_child_count == 0:
            return []  # C's `...`
        return [text(self.source, current)] if current is not node else ["_"]


def merge(overloads: list[Parameters]) -> Parameters:
    """One Parameters that accepts every overload's calls (Java/C++ constructors)."""
    longest = max(overloads, key=lambda p: len(p.names))
    if len(overloads) == 1:
        return longest
    required = min(p.required for p in overloads)
    return Parameters(
        names=longest.names,
        required=required,
        variadic=any(p.variadic for p in overloads),
        keywords=any(p.keywords for p in overloads),
        positional_only=min(p.positional_only for p in overloads),
        keyword_only=min(p.keyword_only for p in overloads),
        # an overload's calls may leave out what it does not declare
        optional=tuple(
            n for n in longest.names if n in longest.optional or longest.names.index(n) >= required
        ),
    )
