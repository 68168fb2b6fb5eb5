"""TypeScript (and TSX): JavaScript's tables, with the declarations types add."""

from __future__ import annotations

from smalllsp.syntax.languages import javascript
from smalllsp.syntax.spec import INNER, OPTIONAL, WRAPPER, LanguageSpec, OutlineRules, Rule

SCOPE_KINDS = {
    **javascript.SCOPE_KINDS,
    "interface_declaration": "class",
    "abstract_class_declaration": "class",
    "enum_declaration": "class",
    "function_signature": "function",
}

RULES = {
    **javascript.RULES,
    "abstract_class_declaration": Rule("class", members=("body",), parameters=()),
    "interface_declaration": Rule("type", members=("body",), parameters=()),
    "type_alias_declaration": Rule("type", parameters=(), body=None),
    "enum_declaration": Rule("type", parameters=(), body=None),
    "function_signature": Rule("function", body=None),
    "method_signature": Rule("function", body=None),
    "abstract_method_signature": Rule("function", body=None),
    "ambient_declaration": WRAPPER,
    "internal_module": Rule("namespace", parameters=(), members=("body",)),
    "module": Rule("namespace", parameters=(), members=("body",)),
}

KEYWORDS = (
    javascript.KEYWORDS
    + " type declare namespace module abstract readonly as any number string boolean never unknown"
    " keyof infer is asserts satisfies override"
)

PARAMETER_ROLES = {
    **javascript.PARAMETER_ROLES,
    "required_parameter": INNER,
    "optional_parameter": OPTIONAL,
}

SPEC = LanguageSpec(
    name="typescript",
    grammar_module="tree_sitter_typescript",
    grammar_pin="tree-sitter-typescript>=0.23.2,<0.24",
    grammars={"typescript": "language_typescript", "typescriptreact": "language_tsx"},
    extensions={".ts": "typescript", ".tsx": "typescriptreact"},
    scope_kinds=SCOPE_KINDS,
    outline=OutlineRules(
        rules=RULES,
        parameter_roles=PARAMETER_ROLES,
        imports=javascript.IMPORTS,
        constructor_names=javascript.CONSTRUCTOR_NAMES,
    ),
    lexer=javascript.LEXER,
    reserved_words=frozenset(KEYWORDS.split()),
    calls=javascript.CALLS,
    builtins=javascript.BUILTINS,
)
