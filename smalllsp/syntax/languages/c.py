"""C: scopes, outline rules, lexer, calls and builtins.

C++'s spec (cpp.py) builds on these tables.
"""

from __future__ import annotations

from smalllsp.syntax import lexer
from smalllsp.syntax.spec import (
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
    "comment": "comment",
    "string_literal": "string",
    "struct_specifier": "class",
    "union_specifier": "class",
    "enum_specifier": "class",
    "function_definition": "function",
    "compound_statement": "block",
    "switch_statement": "block",
    "argument_list": "call",
}

# A declaration (at the top level or in a struct) declares a function when a
# function declarator lies on the way to its name, else a variable, which is
# a constant when it is const or constexpr (globals that change are not
# definitions to show).
DECLARATION = Rule(
    "constant",
    name=("declarator",),
    parameters=(),
    body=None,
    declarator_kind="function",
    requires=(frozenset({"const"}), frozenset({"constexpr"})),
)

RULES = {
    "function_definition": Rule("function", name=("declarator",), parameters=()),
    "declaration": DECLARATION,
    "field_declaration": DECLARATION,
    "type_definition": Rule("type", name=("declarator",), parameters=(), body=None, also=("type",)),
    "struct_specifier": Rule("class", parameters=(), body=None, needs_body=True),
    "union_specifier": Rule("class", parameters=(), body=None, needs_body=True),
    "enum_specifier": Rule("type", parameters=(), body=None, needs_body=True),
    "preproc_def": Rule("constant", parameters=(), body=None),
    "preproc_function_def": Rule("function", body=None),
    "preproc_ifdef": WRAPPER,
    "preproc_if": WRAPPER,
    "preproc_else": WRAPPER,
    "preproc_elif": WRAPPER,
    "preproc_elifdef": WRAPPER,
}

PARAMETER_ROLES = {
    "parameter_declaration": REQUIRED,
    "variadic_parameter": VARIADIC,
    "identifier": REQUIRED,
    "...": VARIADIC,
}

LEXER = lexer.lexer(
    lexer.IDENTIFIER,
    lexer.C_COMMENT,
    rb"#[ \t]*include[^\n]*|#[ \t]*[a-z]+",
    rb'(?:u8|[uUL])?R"([^(\s]{0,16})\([\s\S]*?\)\2"',
    rb"(?:u8|[uUL])?" + lexer.DOUBLE_QUOTED,
    rb"(?:u8|[uUL])?" + lexer.CHAR,
)
KEYWORDS = """auto break case char const continue default do double else enum extern float for goto if inline int
long register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while
_Bool _Complex _Atomic _Noreturn _Static_assert _Thread_local _Alignas _Alignof bool true false"""

CALLS = CallRules(
    calls={"call_expression": ("function", "arguments")},
    callees={"field_expression": ("argument", "field")},
    names=frozenset({"identifier", "field_identifier", "type_identifier"}),
    members={"field_expression": ("argument", "field")},
)

# The standard library's functions, macros and types.
BUILTIN_NAMES = {
    "printf",
    "fprintf",
    "sprintf",
    "snprintf",
    "vprintf",
    "vfprintf",
    "malloc",
    "calloc",
    "realloc",
    "free",
    "memcpy",
    "memset",
    "memmove",
    "memcmp",
    "strlen",
    "strcmp",
    "strncmp",
    "strcpy",
    "strncpy",
    "strcat",
    "strncat",
    "strchr",
    "strrchr",
    "strstr",
    "strdup",
    "strtok",
    "fopen",
    "fclose",
    "fread",
    "fwrite",
    "fgets",
    "fputs",
    "fputc",
    "fgetc",
    "fflush",
    "fseek",
    "ftell",
    "puts",
    "putchar",
    "getchar",
    "scanf",
    "sscanf",
    "exit",
    "abort",
    "assert",
    "atoi",
    "atol",
    "atof",
    "strtol",
    "strtoul",
    "strtod",
    "qsort",
    "bsearch",
    "abs",
    "labs",
    "rand",
    "srand",
    "time",
    "clock",
    "perror",
    "errno",
    "sizeof",
    "NULL",
    "size_t",
    "FILE",
    "stdin",
    "stdout",
    "stderr",
    "isalpha",
    "isdigit",
    "isspace",
    "isalnum",
    "toupper",
    "tolower",
    "sqrt",
    "pow",
    "floor",
    "ceil",
    "fabs",
    "sin",
    "cos",
    "exp",
    "log",
    "getenv",
    "open",
    "close",
    "read",
    "write",
    "pthread_create",
    "pthread_join",
    "pthread_mutex_lock",
    "pthread_mutex_unlock",
}

SPEC = LanguageSpec(
    name="c",
    grammar_module="tree_sitter_c",
    grammar_pin="tree-sitter-c>=0.24.2,<0.25",
    grammars={"c": "language"},
    extensions={".c": "c", ".h": "c"},
    scope_kinds=SCOPE_KINDS,
    outline=OutlineRules(
        rules=RULES,
        parameter_roles=PARAMETER_ROLES,
        imports=("preproc_include",),
        no_parameters="void",
    ),
    lexer=LEXER,
    reserved_words=frozenset(KEYWORDS.split()),
    calls=CALLS,
    builtins=Builtins(frozenset(BUILTIN_NAMES)),
)
