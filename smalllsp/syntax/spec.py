"""What smalllsp knows about one language, as data: the ``LanguageSpec``.

Each module of ``smalllsp.syntax.languages`` (``python.py``, ``go.py``, ...)
exports one spec named ``SPEC``; that package finds them all. Grammars name
their node types differently, so every layer that reads a tree (the scope
detector, the outline walker, the use finder, the lexer, the guard's
builtins) looks its node types up in the spec and keeps its walking code
language-free.

A spec that builds on another (C++ on C, TypeScript on JavaScript) imports
that module's tables and extends them: there is no alias map between
languages. Dialects that share one spec (``javascriptreact``,
``typescriptreact``) are its further LSP language ids.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from smalllsp.syntax.nodes import Path

if TYPE_CHECKING:
    from tree_sitter import Node

    from smalllsp.syntax.model import Parameters

# ---------------------------------------------------------------------------
# Outline rules
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rule:
    """How one node type defines something.

    ``kind`` is a Definition kind, or one of the structural kinds:
    ``wrapper`` (its children are looked at as if they stood in its place:
    export, decorators, preprocessor conditionals), ``impl`` (members whose
    container is named by ``container``, as a Rust impl block) and
    ``namespace`` (members keep their kind, the container is its name).
    """

    kind: str
    name: tuple[str, ...] = ("name",)  # fields tried at each step from the node down to its name
    parameters: tuple[Path, ...] = (("parameters",),)  # alternative paths to the parameter list
    # the signature stops where the body starts; None: the signature is the whole node
    body: Path | None = ("body",)
    members: Path | None = None  # where class-likes, namespaces and impls hold their members
    kind_by: tuple[Path, dict[str, str]] | None = None  # (path, node type there -> kind)
    declarator_kind: str | None = None  # kind when a function declarator lies on the way (C)
    # modifier words the node must carry, any one set (Java's static final)
    requires: tuple[frozenset[str], ...] = ()
    container: Path | None = None  # path to the node whose first type name is the container (Go)
    also: Path | None = None  # a further definition inside this one (C's typedef struct {...})
    needs_body: bool = False  # a reference like `struct point p;` defines nothing


WRAPPER = Rule("wrapper", name=(), parameters=(), body=None)

# Parameter roles.
REQUIRED, OPTIONAL, VARIADIC, KEYWORDS, SKIP, INNER = (
    "required",
    "optional",
    "variadic",
    "keywords",
    "skip",
    "inner",
)
# Markers in a parameter list: the names before ``/`` are positional-only, those after ``*`` keyword-only.
POSITIONAL_MARK, KEYWORD_MARK = "positional-mark", "keyword-mark"

# Node types and fields the grammars so far share; a spec overrides what its grammar names otherwise.
NAME_TYPES = frozenset(
    {
        "identifier",
        "type_identifier",
        "field_identifier",
        "property_identifier",
        "private_property_identifier",
        "namespace_identifier",
        "destructor_name",
        "operator_name",
    }
)
COMMENTS = frozenset({"comment", "line_comment", "block_comment"})
# Decorations before a definition: not part of its header, skipped when looking for its doc comment.
DECORATIONS = frozenset({"decorator", "attribute_item", "marker_annotation", "annotation"})
# Children holding modifier words (static, final, const, constexpr, pub).
MODIFIER_TYPES = frozenset(
    {"modifiers", "type_qualifier", "storage_class_specifier", "visibility_modifier"}
)
PARAMETER_LISTS = frozenset(
    {"parameters", "formal_parameters", "parameter_list", "lambda_parameters", "preproc_params"}
)
# Wrappers whose text before the definition is part of its header (`export const X = 1`, Go's `type`).
HEADER_WRAPPERS = frozenset(
    {
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
        "ambient_declaration",
        "expression_statement",
        "type_declaration",
        "const_declaration",
        "var_declaration",
    }
)
# Children of a wrapper that are not definitions (an #ifdef's macro name, a
# template's parameter list, an export's default value).
WRAPPER_SKIP_FIELDS = frozenset({"name", "condition", "parameters", "value", "source"})
# Qualified names (C++ `Store::get`): node type -> (field of the scope, field of the rest).
QUALIFIED: Mapping[str, tuple[str, str]] = {"qualified_identifier": ("scope", "name")}
# Declarators that make a C/C++ declaration a function.
FUNCTION_DECLARATORS = frozenset({"function_declarator"})
# Names of values (not of types): a parameter without a name field is named by one of these.
VALUE_NAMES = frozenset({"identifier"})
# Fields holding a parameter's default value (an INNER parameter with one is optional).
DEFAULT_FIELDS = ("value", "default_value")
# Fields followed from a parameter down to its name.
PARAMETER_NAME_FIELDS = ("name", "pattern", "declarator", "left")

# What a call of a class takes, when the language derives it from the class
# body (Python's dataclasses): (source, class node, its body, the constructors
# found among its members) -> the parameters, or None when unknown.
ClassConstructor = Callable[
    [bytes, "Node", "Node | None", "list[tuple[str, Parameters]]"], "Parameters | None"
]


@dataclasses.dataclass(frozen=True)
class OutlineRules:
    """How the outline walker reads this language's definitions and header."""

    rules: Mapping[str, Rule]  # node type -> how it defines something
    parameter_roles: Mapping[str, str]  # parameter node type -> role (REQUIRED, ... INNER)
    imports: tuple[str, ...] = ()  # import/include/use statement node types
    header_types: frozenset[str] = frozenset()  # further top-level node types of a file's header
    # (body field, statement type, string type) of a docstring, the body's first statement
    docstring: tuple[str, str, str] | None = None
    implicit_receivers: frozenset[str] = frozenset()  # a method's first parameter (self, cls)
    constructor_names: frozenset[str] = frozenset()  # members that construct (__init__)
    class_named_constructors: bool = False  # a member named like its class constructs (Java)
    variadic_starts_keywords: bool = False  # names after *args are keyword-only (Python)
    class_constructor: ClassConstructor | None = None  # see ClassConstructor
    no_parameters: str | None = None  # a parameter list of only this word declares none (C's void)
    name_types: frozenset[str] = NAME_TYPES
    comments: frozenset[str] = COMMENTS
    decorations: frozenset[str] = DECORATIONS
    modifier_types: frozenset[str] = MODIFIER_TYPES
    parameter_lists: frozenset[str] = PARAMETER_LISTS
    header_wrappers: frozenset[str] = HEADER_WRAPPERS
    wrapper_skip_fields: frozenset[str] = WRAPPER_SKIP_FIELDS
    qualified: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=lambda: QUALIFIED)
    function_declarators: frozenset[str] = FUNCTION_DECLARATORS
    value_names: frozenset[str] = VALUE_NAMES


# ---------------------------------------------------------------------------
# Calls and names (the cross-file guard's raw material)
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CallRules:
    """Where calls, callees and names are in this language's trees."""

    # call node type -> (field holding the callee, or "" when the call node itself
    # carries the receiver and name fields, as Java's method_invocation does;
    # field holding the argument list)
    calls: Mapping[str, tuple[str, str]]
    # callee node type -> (field of the receiver or None, field of the name):
    # ``billing.charge`` is (receiver "billing", name "charge")
    callees: Mapping[str, tuple[str | None, str]]
    names: frozenset[str]  # node types that are a bare name
    # member access: node type -> (field of the receiver, field of the name after
    # the dot). The name is not a free name: ``StyleType.bold`` does not use a
    # ``bold`` defined elsewhere.
    members: Mapping[str, tuple[str, str]]
    spreads: frozenset[str] = frozenset()  # arguments after which the count is unknown (*args)
    # argument node type -> field holding the keyword (Python's name=value)
    keyword_arguments: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Builtins:
    """Names every program of the language may use without another workspace file."""

    names: frozenset[str] = frozenset()  # builtins and globals
    receivers: frozenset[str] = frozenset()  # standard modules or namespaces used as receivers
    methods: frozenset[str] = frozenset()  # methods of the standard containers and strings


# ---------------------------------------------------------------------------
# The spec
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LanguageSpec:
    """One language: its grammar, files, and the node types each layer reads."""

    name: str  # the spec's own name, its module's name
    grammar_module: str  # the grammar wheel's module (tree_sitter_python)
    grammar_pin: str  # the wheel's requirement as pyproject.toml pins it
    # LSP language id -> the grammar module's function returning its language pointer;
    # the first id is the spec's own, the others its dialects
    grammars: Mapping[str, str]
    extensions: Mapping[str, str]  # file extension (lower case, with the dot) -> LSP language id
    # node type -> class | function | block | call | string | comment
    scope_kinds: Mapping[str, str]
    outline: OutlineRules
    lexer: bytes  # the references lexer (see smalllsp.syntax.lexer)
    reserved_words: frozenset[str]  # keywords: never references
    calls: CallRules
    builtins: Builtins
    line_comment: str = "//"  # how a line comment starts
    # Neovim filetypes served; None: the LSP language ids (Neovim names these languages alike)
    neovim_filetypes: tuple[str, ...] | None = None

    @property
    def language_ids(self) -> tuple[str, ...]:
        return tuple(self.grammars)

    @property
    def filetypes(self) -> tuple[str, ...]:
        return self.neovim_filetypes if self.neovim_filetypes is not None else self.language_ids
