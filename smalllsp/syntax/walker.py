"""The outline walker: the definitions of one file, from its tree.

Only the levels where definitions live are walked (the file's top level,
class bodies, namespaces), never function bodies, so an outline costs little
beyond the parse. What a node type defines comes from the language's spec
(:class:`~smalllsp.syntax.spec.OutlineRules`); the walk is shared.
"""

from __future__ import annotations

from sys import intern

from tree_sitter import Node

from smalllsp.syntax import docs
from smalllsp.syntax.model import Definition, Parameters
from smalllsp.syntax.nodes import first_type_name, follow, last_row, text
from smalllsp.syntax.parameters import ParameterReader, merge
from smalllsp.syntax.spec import WRAPPER, OutlineRules, Rule

MAX_NESTING = 32  # class inside class inside ...: deeper members are left out
# The kinds whose members are methods.
CLASS_LIKE = frozenset({"class", "type", "impl"})

Constructors = list[tuple[str, Parameters]]  # (name, parameters) of the constructors met


class Walker:
    """Walks the levels of one file where definitions live, collecting them."""

    def __init__(self, rules: OutlineRules, source: bytes) -> None:
        self.rules = rules
        self.source = source
        self.definitions: list[Definition] = []
        self.header_end_line = 0
        self._header_open = True
        self._items_seen = 0
        self._parameters = ParameterReader(rules, source)
        self._header_types = frozenset(rules.imports) | rules.header_types
        self._skipped = rules.comments | rules.decorations  # never definitions themselves

    # -- levels --------------------------------------------------------------

    def top_level(self, root: Node) -> None:
        self._level(root.named_children, container=None, container_kind=None, depth=0, top=True)

    def _level(
        self,
        nodes: list[Node],
        container: str | None,
        container_kind: str | None,
        depth: int,
        top: bool,
        constructors: Constructors | None = None,
    ) -> None:
        rules = self.rules.rules
        skipped = self._skipped
        for node in nodes:
            node_type = node.type
            if node_type in skipped:
                continue
            before = len(self.definitions)
            rule = rules.get(node_type)
            if rule is None and node_type == "ERROR":
                rule = WRAPPER  # a file being edited: what parses inside the error still counts
            if rule is not None and rule.kind == "wrapper":
                self._level(
                    self._wrapped(node), container, container_kind, depth, top, constructors
                )
                continue
            if rule is not None:
                self._define(node, rule, container, container_kind, depth, constructors)
            if top:
                self._header_step(node, self.definitions[before:])

    def _wrapped(self, node: Node) -> list[Node]:
        children = []
        for index, child in enumerate(node.named_children):
            if child.type in self.rules.decorations:
                continue
            if node.field_name_for_named_child(index) in self.rules.wrapper_skip_fields:
                continue
            children.append(child)
        return children

    def _header_step(self, node: Node, added: list[Definition]) -> None:
        """Extend the header past ``node`` while the file has only header material so far."""
        self._items_seen += 1
        if not self._header_open:
            return
        is_header = (
            node.type in self._header_types
            or (added and all(d.kind == "constant" for d in added))
            or self._is_docstring(node)
        )
        if is_header:
            self.header_end_line = last_row(node) + 1
        else:
            self._header_open = False

    def _is_docstring(self, node: Node) -> bool:
        """The module docstring: a string statement before anything else."""
        if self.rules.docstring is None or self._items_seen != 1:
            return False
        _, statement, string = self.rules.docstring
        parent = node.parent
        return (
            node.type == string
            and parent is not None
            and parent.type == statement
            and parent.named_child_count == 1
        )

    # -- one definition -------------------------------------------------------

    def _define(
        self,
        node: Node,
        rule: Rule,
        container: str | None,
        container_kind: str | None,
        depth: int,
        constructors: Constructors | None,
    ) -> None:
        if rule.needs_body and follow(node, rule.body or ("body",)) is None:
            return
        if rule.kind == "impl" or rule.kind == "namespace":
            self._container(node, rule, container, depth)
            return
        name_node, scope, declarator_parameters = self._name(node, rule.name)
        if name_node is None:
            return
        name = intern(text(self.source, name_node))
        kind = rule.kind
        if rule.kind_by is not None:
            path, kinds = rule.kind_by
            target = follow(node, path)
            kind = kinds.get(target.type, rule.kind) if target is not None else rule.kind
        if rule.declarator_kind is not None and declarator_parameters is not None:
            kind = rule.declarator_kind
        elif rule.requires:
            modifiers = self._modifiers(node)
            if not any(words <= modifiers for words in rule.requires):
                return
        own_container = container
        if rule.container is not None:
            receiver = first_type_name(follow(node, rule.container))
            own_container = text(self.source, receiver) if receiver is not None else container
        elif scope is not None:
            own_container = scope
        is_member = own_container is not None and (
            container_kind in CLASS_LIKE or rule.container is not None or scope
        )
        if kind == "function" and is_member:
            kind = "method"

        parameters = None
        if kind in ("function", "method"):
            parameters = self._parameters_of(
                node, rule, declarator_parameters, drop_receiver=kind == "method"
            )
        position = len(self.definitions)
        if kind in ("class", "type") and rule.members is not None and depth < MAX_NESTING:
            found: Constructors = []
            members = follow(node, rule.members)
            if members is not None:
                self._level(
                    members.named_children, name, kind, depth + 1, top=False, constructors=found
                )
            if rule.parameters:
                parameters = self._parameters_of(node, rule, None, drop_receiver=False)
            elif self.rules.class_constructor is not None:
                parameters = self.rules.class_constructor(self.source, node, members, found)
            elif found:
                parameters = merge([p for _, p in found])
        elif kind == "class" and rule.parameters:
            parameters = self._parameters_of(node, rule, None, drop_receiver=False)

        if kind == "method" and self._is_constructor(name, own_container):
            if constructors is not None and parameters is not None:
                constructors.append((name, parameters))
            if name == own_container:
                return  # Java/C++: folded into the class's parameters, not a method of its own
        start, signature = docs.signature(self.rules, self.source, node, rule)
        definition = Definition(
            name=name,
            kind=kind,
            signature=signature,
            doc=docs.doc(self.rules, self.source, node, rule),
            start_line=start,
            end_line=last_row(node),
            container=own_container,
            parameters=parameters,
        )
        self.definitions.insert(position, definition)
        if rule.also is not None:
            inner = follow(node, rule.also)
            inner_rule = self.rules.rules.get(inner.type) if inner is not None else None
            if (
                inner is not None
                and inner_rule is not None
                and inner_rule.kind not in ("wrapper", "impl", "namespace")
            ):
                self._define(inner, inner_rule, container, container_kind, depth, constructors)

    def _container(self, node: Node, rule: Rule, container: str | None, depth: int) -> None:
        if depth >= MAX_NESTING:
            return
        if rule.kind == "impl":
            named = first_type_name(follow(node, rule.container or ()))
            kind = "impl"
        else:
            named, _, _ = self._name(node, rule.name)
            kind = "namespace"
        name = text(self.source, named) if named is not None else container
        members = follow(node, rule.members or ("body",))
        if members is not None:
            self._level(members.named_children, name, kind, depth + 1, top=False)

    def _is_constructor(self, name: str, own_container: str | None) -> bool:
        if name in self.rules.constructor_names:
            return True
        return (
            self.rules.class_named_constructors
            and own_container is not None
            and name == own_container
        )

    def _name(
        self, node: Node, fields: tuple[str, ...]
    ) -> tuple[Node | None, str | None, Node | None]:
        """The name node, the scope of a qualified name, and the parameters of a
        function declarator met on the way (C: ``int (*f)(int)``, ``Store::get``)."""
        scope = None
        declarator_parameters = None
        qualified = self.rules.qualified
        name_types = self.rules.name_types
        declarators = self.rules.function_declarators
        current: Node | None = node
        for _ in range(16):
            if current is None:
                return None, scope, declarator_parameters
            if current.type in name_types and current is not node:
                return current, scope, declarator_parameters
            if current.type in qualified:
                scope_field, name_field = qualified[current.type]
                scope_node = current.child_by_field_name(scope_field)
                if scope_node is not None:
                    scope = text(self.source, scope_node)
                current = current.child_by_field_name(name_field)
                continue
            if current.type in declarators and declarator_parameters is None:
                declarator_parameters = current.child_by_field_name("parameters")
            following = None
            for field in fields:
                following = current.child_by_field_name(field)
                if following is not None:
                    break
            current = following
        return None, scope, declarator_parameters

    def _modifiers(self, node: Node) -> frozenset[str]:
        words: set[str] = set()
        for child in node.children:
            if child.type in self.rules.modifier_types:
                words.update(text(self.source, child).split())
        return frozenset(words)

    def _parameters_of(
        self, node: Node, rule: Rule, declarator_list: Node | None, drop_receiver: bool
    ) -> Parameters | None:
        found = declarator_list
        if found is None:
            for path in rule.parameters:
                found = follow(node, path)
                if found is not None:
                    break
        if found is None:
            return None
        return self._parameters.read(found, drop_receiver)
