"""What a call of a Python class takes, read from the class itself.

Its ``__init__``, else its ``__new__``, else the fields a dataclass, an attrs
class or a NamedTuple turns into constructor parameters; no argument for a
plain class without bases; unknown (None) when it inherits a constructor
the file does not show.
"""

from __future__ import annotations

from sys import intern

from tree_sitter import Node

from smalllsp.syntax.spec import COMMENTS
from smalllsp.syntax.model import Parameters
from smalllsp.syntax.nodes import text
from smalllsp.syntax.parameters import merge

# Bases that add no constructor parameters.
TRIVIAL_BASES = frozenset(
    {"object", "Generic", "typing.Generic", "Protocol", "typing.Protocol", "ABC", "abc.ABC"}
)
# Decorators that generate an ``__init__`` from the class's annotated fields.
FIELD_DECORATORS = frozenset(
    {
        "dataclass",
        "dataclasses.dataclass",
        "attr.s",
        "attr.attrs",
        "attrs",
        "attrs.define",
        "attrs.frozen",
        "attrs.mutable",
        "attr.define",
        "attr.frozen",
        "attr.mutable",
        "define",
        "frozen",
        "mutable",
    }
)
# The field functions they read defaults from, and the keywords that give one.
FIELD_FUNCTIONS = frozenset(
    {"field", "dataclasses.field", "attr.ib", "attr.attrib", "attr.field", "attrs.field", "attrib"}
)
FIELD_DEFAULTS = ("default", "default_factory", "factory")


def class_constructor(
    source: bytes, node: Node, body: Node | None, found: list[tuple[str, Parameters]]
) -> Parameters | None:
    """The parameters of ``node`` (a class_definition) as a call; ``found``:
    the constructors among its members, (name, parameters)."""
    for wanted in ("__init__", "__new__"):
        own = [p for n, p in found if n == wanted]
        if own:
            return own[0] if len(own) == 1 else merge(own)
    superclasses = node.child_by_field_name("superclasses")
    bases = (
        [c for c in superclasses.named_children if c.type not in COMMENTS]
        if superclasses is not None
        else []
    )
    base_names = [text(source, b).rsplit(".", 1)[-1] for b in bases if b.type != "keyword_argument"]
    inherits = [
        b for b in bases if b.type == "keyword_argument" or text(source, b) not in TRIVIAL_BASES
    ]
    decorators = []
    if node.parent is not None and node.parent.type == "decorated_definition":
        decorators = [c for c in node.parent.named_children if c.type == "decorator"]
    field_class = None
    for decorator in decorators:
        expression = decorator.named_child(0) if decorator.named_child_count else None
        callee = (
            expression.child_by_field_name("function")
            if expression is not None and expression.type == "call"
            else expression
        )
        if callee is not None and text(source, callee) in FIELD_DECORATORS:
            field_class = expression
    if "NamedTuple" in base_names and body is not None:
        return _fields(source, body, keyword_only=False)
    if field_class is not None and body is not None:
        if inherits:
            return None  # the base's fields come first, and they are not here
        keyword_only = False
        if field_class.type == "call":
            arguments = field_class.child_by_field_name("arguments")
            keyword_only = (
                arguments is not None and _keyword_value(source, arguments, "kw_only") == "True"
            )
        return _fields(source, body, keyword_only)
    if not inherits and not decorators:  # a decorator we do not know may write the constructor
        return Parameters((), 0, False, False)
    return None


def _fields(source: bytes, body: Node, keyword_only: bool) -> Parameters:
    """The parameters a dataclass, attrs class or NamedTuple's generated constructor takes."""
    positional: list[str] = []
    keyword: list[str] = []
    optional: list[str] = []
    for statement in body.named_children:
        if statement.type != "expression_statement" or statement.named_child_count != 1:
            continue
        assignment = statement.named_child(0)
        if assignment is None or assignment.type != "assignment":
            continue
        left = assignment.child_by_field_name("left")
        annotation = assignment.child_by_field_name("type")
        right = assignment.child_by_field_name("right")
        if left is None or left.type != "identifier":
            continue
        name = intern(text(source, left))
        field_call = None
        if right is not None and right.type == "call":
            function = right.child_by_field_name("function")
            if function is not None and text(source, function) in FIELD_FUNCTIONS:
                field_call = right.child_by_field_name("arguments")
        if annotation is None and field_call is None:
            continue  # a plain class attribute
        if annotation is not None:
            written = text(source, annotation)
            if written.split("[", 1)[0].rsplit(".", 1)[-1] == "ClassVar":
                continue
            if written.rsplit(".", 1)[-1] == "KW_ONLY":
                keyword_only = True
                continue
        this_keyword_only = keyword_only
        has_default = right is not None
        if field_call is not None:
            if _keyword_value(source, field_call, "init") == "False":
                continue
            kw = _keyword_value(source, field_call, "kw_only")
            if kw is not None:
                this_keyword_only = kw == "True"
            has_default = any(
                _keyword_value(source, field_call, k) is not None for k in FIELD_DEFAULTS
            )
        (keyword if this_keyword_only else positional).append(name)
        if has_default:
            optional.append(name)
    names = tuple(positional + keyword)
    return Parameters(
        names, len(names) - len(optional), False, False, 0, len(keyword), tuple(optional)
    )


def _keyword_value(source: bytes, arguments: Node, keyword: str) -> str | None:
    """The text of ``keyword=``'s value in a call's argument list, None when it is not given."""
    for argument in arguments.named_children:
        if argument.type == "keyword_argument":
            name = argument.child_by_field_name("name")
            value = argument.child_by_field_name("value")
            if name is not None and value is not None and text(source, name) == keyword:
                return text(source, value)
    return None
