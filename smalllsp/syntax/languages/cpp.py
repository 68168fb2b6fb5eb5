"""C++: C's tables, with classes, namespaces, templates and the std namespace."""

from __future__ import annotations

from smalllsp.syntax.languages import c
from smalllsp.syntax.spec import (
    OPTIONAL,
    REQUIRED,
    VARIADIC,
    WRAPPER,
    Builtins,
    CallRules,
    LanguageSpec,
    OutlineRules,
    Rule,
)

SCOPE_KINDS = {
    **c.SCOPE_KINDS,
    "raw_string_literal": "string",
    "class_specifier": "class",
    "namespace_definition": "class",
    "lambda_expression": "function",
}

RULES = {
    **c.RULES,
    "class_specifier": Rule("class", parameters=(), members=("body",), needs_body=True),
    "struct_specifier": Rule("class", parameters=(), members=("body",), needs_body=True),
    "union_specifier": Rule("class", parameters=(), members=("body",), needs_body=True),
    "namespace_definition": Rule("namespace", parameters=(), members=("body",)),
    "alias_declaration": Rule("type", parameters=(), body=None),
    "template_declaration": WRAPPER,
    "linkage_specification": WRAPPER,
    "declaration_list": WRAPPER,
}

KEYWORDS = (
    c.KEYWORDS
    + """ alignas alignof and or not xor bitand bitor compl and_eq or_eq xor_eq not_eq catch class constexpr
consteval constinit const_cast decltype delete dynamic_cast explicit export friend mutable namespace new
noexcept nullptr operator private protected public reinterpret_cast static_assert static_cast template
this throw try typeid typename using virtual wchar_t char8_t char16_t char32_t concept requires co_await
co_return co_yield"""
)

CALLS = CallRules(
    calls={
        "call_expression": ("function", "arguments"),
        "new_expression": ("type", "arguments"),
    },
    callees={
        "field_expression": ("argument", "field"),
        "qualified_identifier": ("scope", "name"),
        "template_function": (None, "name"),
        "template_type": (None, "name"),
    },
    names=frozenset({"identifier", "field_identifier", "type_identifier", "namespace_identifier"}),
    members={"field_expression": ("argument", "field")},
)

# C's names, the std namespace's, and common methods of the standard containers and strings.
_BUILTINS = c.BUILTIN_NAMES | {
    "std",
    "cout",
    "cerr",
    "cin",
    "endl",
    "make_unique",
    "make_shared",
    "move",
    "forward",
    "swap",
    "min",
    "max",
    "sort",
    "find",
    "find_if",
    "count",
    "count_if",
    "accumulate",
    "transform",
    "for_each",
    "to_string",
    "stoi",
    "stol",
    "stod",
    "getline",
    "vector",
    "string",
    "map",
    "unordered_map",
    "set",
    "unordered_set",
    "pair",
    "tuple",
    "optional",
    "variant",
    "unique_ptr",
    "shared_ptr",
    "make_pair",
    "make_tuple",
    "static_cast",
    "dynamic_cast",
    "reinterpret_cast",
    "const_cast",
    "begin",
    "end",
    "size",
}
_METHODS = {
    "push_back",
    "emplace_back",
    "pop_back",
    "size",
    "begin",
    "end",
    "cbegin",
    "cend",
    "rbegin",
    "rend",
    "insert",
    "emplace",
    "erase",
    "find",
    "at",
    "front",
    "back",
    "clear",
    "empty",
    "reserve",
    "resize",
    "c_str",
    "data",
    "substr",
    "append",
    "count",
    "get",
    "reset",
    "release",
    "lock",
    "unlock",
    "first",
    "second",
    "length",
    "str",
    "what",
    "value",
    "has_value",
    "value_or",
    "swap",
    "contains",
}

SPEC = LanguageSpec(
    name="cpp",
    grammar_module="tree_sitter_cpp",
    grammar_pin="tree-sitter-cpp>=0.23.4,<0.24",
    grammars={"cpp": "language"},
    extensions={".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp"},
    scope_kinds=SCOPE_KINDS,
    outline=OutlineRules(
        rules=RULES,
        parameter_roles={
            "parameter_declaration": REQUIRED,
            "optional_parameter_declaration": OPTIONAL,
            "variadic_parameter_declaration": VARIADIC,
            "identifier": REQUIRED,
            "...": VARIADIC,
        },
        imports=("preproc_include", "using_declaration"),
        class_named_constructors=True,
        no_parameters="void",
    ),
    lexer=c.LEXER,
    reserved_words=frozenset(KEYWORDS.split()),
    calls=CALLS,
    builtins=Builtins(frozenset(_BUILTINS), frozenset({"std"}), frozenset(_METHODS)),
)
