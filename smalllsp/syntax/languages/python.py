"""Python: scopes, outline rules, lexer, calls and builtins.

The builtins come from the running interpreter (its builtins module, its
standard library's module names and the methods of the built-in types).
"""

from __future__ import annotations

import builtins as _python_builtins
import keyword
import sys

from smalllsp.syntax import lexer
from smalllsp.syntax.spec import (
    INNER,
    KEYWORD_MARK,
    KEYWORDS,
    OPTIONAL,
    POSITIONAL_MARK,
    REQUIRED,
    VARIADIC,
    WRAPPER,
    Builtins,
    CallRules,
    LanguageSpec,
    OutlineRules,
    Rule,
)
from smalllsp.syntax.python_constructors import class_constructor

SCOPE_KINDS = {
    "comment": "comment",
    "string": "string",
    "class_definition": "class",
    "function_definition": "function",
    "lambda": "function",
    "if_statement": "block",
    "for_statement": "block",
    "while_statement": "block",
    "with_statement": "block",
    "try_statement": "block",
    "match_statement": "block",
    "argument_list": "call",
}

RULES = {
    "function_definition": Rule("function"),
    "class_definition": Rule("class", members=("body",), parameters=()),
    "decorated_definition": WRAPPER,
    "expression_statement": WRAPPER,
    # Definitions under `if sys.platform ...:`, `if TYPE_CHECKING:` and `try:` at the top level count too.
    "if_statement": WRAPPER,
    "elif_clause": WRAPPER,
    "else_clause": WRAPPER,
    "try_statement": WRAPPER,
    "except_clause": WRAPPER,
    "finally_clause": WRAPPER,
    "block": WRAPPER,
    "assignment": Rule(
        "constant",
        name=("left",),
        parameters=(("right", "parameters"),),
        body=None,
        kind_by=(("right",), {"lambda": "function"}),
    ),
}

PARAMETER_ROLES = {
    "identifier": REQUIRED,
    "typed_parameter": INNER,
    "default_parameter": OPTIONAL,
    "typed_default_parameter": OPTIONAL,
    "list_splat_pattern": VARIADIC,
    "dictionary_splat_pattern": KEYWORDS,
    "keyword_separator": KEYWORD_MARK,
    "positional_separator": POSITIONAL_MARK,
    "tuple_pattern": REQUIRED,
}

_STRING_PREFIX = rb"[rRbBuUfF]{0,2}"
LEXER = lexer.lexer(
    lexer.IDENTIFIER,
    rb"#[^\n]*",
    _STRING_PREFIX + rb"(?:'''[\s\S]*?'''|" + b'"""' + rb'[\s\S]*?"""' + b")",
    _STRING_PREFIX + lexer.DOUBLE_QUOTED,
    _STRING_PREFIX + lexer.SINGLE_QUOTED,
)

CALLS = CallRules(
    calls={"call": ("function", "arguments")},
    callees={"attribute": ("object", "attribute")},
    names=frozenset({"identifier"}),
    members={"attribute": ("object", "attribute")},
    spreads=frozenset({"list_splat", "dictionary_splat", "parenthesized_list_splat"}),
    keyword_arguments={"keyword_argument": "name"},
)

# Builtins, standard modules, and methods of the built-in types.
_TYPES = (
    list,
    dict,
    str,
    bytes,
    set,
    frozenset,
    tuple,
    int,
    float,
    complex,
    object,
    bytearray,
    memoryview,
    range,
)
_METHODS = {name for kind in _TYPES for name in dir(kind)} | {
    # files, regular expressions, logging and futures: everywhere in Python code
    "read",
    "readline",
    "readlines",
    "write",
    "writelines",
    "close",
    "flush",
    "seek",
    "tell",
    "group",
    "groups",
    "groupdict",
    "match",
    "search",
    "fullmatch",
    "sub",
    "findall",
    "finditer",
    "debug",
    "info",
    "warning",
    "error",
    "exception",
    "critical",
    "log",
    "result",
    "done",
    "cancel",
    "set_result",
    "set_exception",
    "add_done_callback",
}
_MODULES = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)

SPEC = LanguageSpec(
    name="python",
    grammar_module="tree_sitter_python",
    grammar_pin="tree-sitter-python>=0.25,<0.26",
    grammars={"python": "language"},
    extensions={".py": "python", ".pyi": "python"},
    scope_kinds=SCOPE_KINDS,
    outline=OutlineRules(
        rules=RULES,
        parameter_roles=PARAMETER_ROLES,
        imports=("import_statement", "import_from_statement", "future_import_statement"),
        docstring=("body", "expression_statement", "string"),
        implicit_receivers=frozenset({"self", "cls"}),
        constructor_names=frozenset({"__init__", "__new__"}),
        variadic_starts_keywords=True,
        class_constructor=class_constructor,
    ),
    lexer=LEXER,
    reserved_words=frozenset(keyword.kwlist),
    calls=CALLS,
    builtins=Builtins(frozenset(dir(_python_builtins)), frozenset(_MODULES), frozenset(_METHODS)),
    line_comment="#",
)
