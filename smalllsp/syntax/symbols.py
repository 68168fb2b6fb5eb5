"""The symbol outline of one file: what it defines, imports and refers to.

The workspace index keeps one outline per file, so other files' definitions
(name, header, doc, parameters) can go into a prompt, and a suggestion that
calls them can be checked. Only the levels where definitions live are walked
(the file's top level, class bodies, namespaces), never function bodies, so
an outline costs little beyond the parse.

Grammars differ, so each language maps node types to rules in tables; the
walking code is shared. References are read by a lexer (a regular expression
per language that skips comments and strings) rather than from the tree:
collecting every identifier node through Python costs more than the parse.
"""

from __future__ import annotations

import dataclasses
import inspect
import keyword
import re
import threading
from sys import intern

from tree_sitter import Node, Parser, Query, QueryCursor, Tree

from smalllsp.syntax import languages


@dataclasses.dataclass(frozen=True, slots=True)
class Parameters:
    names: tuple[
        str, ...
    ]  # declared parameter names in order, without self/cls (Python) or a Go receiver
    required: int  # how many a call must pass (no default value, not variadic, not optional `x?`)
    variadic: bool  # accepts any number of extra positional arguments (*args, ...rest, C/Java varargs, Go ...T)
    keywords: bool  # accepts any keyword argument (Python **kwargs)
    positional_only: int = 0  # the first n names cannot be passed by keyword (Python's `/`)
    keyword_only: int = (
        0  # the last n names can only be passed by keyword (after Python's `*` or `*args`)
    )
    optional: tuple[str, ...] = ()  # the names that have a default value (or are optional, `x?`)

    def __reduce__(self) -> tuple:
        return Parameters, (
            self.names,
            self.required,
            self.variadic,
            self.keywords,
            self.positional_only,
            self.keyword_only,
            self.optional,
        )

    @property
    def positional(self) -> tuple[str, ...]:
        """The names an argument without a keyword can fill, in order."""
        return self.names[: len(self.names) - self.keyword_only]

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n not in self.optional)


@dataclasses.dataclass(frozen=True, slots=True)
class Definition:
    name: str
    kind: str  # "function" | "method" | "class" | "type" | "constant"
    signature: str  # the header without the body, as written, clipped to SIGNATURE_CHARS
    doc: str  # docstring (Python) or the doc comment right above it, first paragraph; may be ""
    start_line: int  # 0-based, first line of the definition (decorators excluded)
    end_line: int  # 0-based, last line
    container: str | None  # enclosing class/struct/impl/namespace name for members, else None
    parameters: Parameters | None  # function/method; a class's constructor when found, else None

    def __reduce__(self) -> tuple:
        # Positional and interned: a worker process's outlines arrive by pickle,
        # and the default for slotted dataclasses costs 4 times as much.
        return _definition, (
            self.name,
            self.kind,
            self.signature,
            self.doc,
            self.start_line,
            self.end_line,
            self.container,
            self.parameters,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Outline:
    language_id: str
    definitions: tuple[Definition, ...]  # in source order; top level and class members
    imports: tuple[str, ...]  # the text of each import/include/use statement, in order
    header_end_line: (
        int  # 0-based line after the header block (docstring, imports, constants); 0 when none
    )
    references: frozenset[
        str
    ]  # identifiers the file uses, outside comments and strings, without keywords

    def __reduce__(self) -> tuple:
        return _outline, (
            self.language_id,
            self.definitions,
            self.imports,
            self.header_end_line,
            self.references,
        )


def _definition(
    name: str,
    kind: str,
    signature: str,
    doc: str,
    start: int,
    end: int,
    container: str | None,
    parameters: Parameters | None,
) -> Definition:
    """A Definition from a pickle, its names interned as the parser's are."""
    return Definition(
        intern(name),
        intern(kind),
        signature,
        doc,
        start,
        end,
        container and intern(container),
        parameters,
    )


def _outline(
    language_id: str,
    definitions: tuple,
    imports: tuple,
    header_end_line: int,
    references: frozenset,
) -> Outline:
    """An Outline from a pickle: the references interned again, shared with every other file's."""
    return Outline(
        language_id, definitions, imports, header_end_line, frozenset(map(intern, references))
    )


SIGNATURE_CHARS = 300
MAX_NESTING = 32  # class inside class inside ...: deeper members are left out

# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------

Path = tuple[str, ...]  # fields followed one after the other from a node


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
    body: Path | None = (
        "body",
    )  # the signature stops where it starts; None: the signature is the whole node
    members: Path | None = None  # where class-likes, namespaces and impls hold their members
    kind_by: tuple[Path, dict[str, str]] | None = None  # (path, node type there -> kind)
    declarator_kind: str | None = (
        None  # kind when a function declarator lies on the way to the name (C)
    )
    requires: tuple[
        frozenset[str], ...
    ] = ()  # modifier words the node must carry, any one set (Java's static final)
    container: Path | None = (
        None  # path to the node whose first type name is the container (Go receiver)
    )
    also: Path | None = None  # a further definition inside this one (C's typedef struct {...})
    needs_body: bool = False  # a reference like `struct point p;` defines nothing


WRAPPER = Rule("wrapper", name=(), parameters=(), body=None)
# A C/C++ variable is a constant when it is const or constexpr (globals that change are not definitions to show).
CONSTANT_QUALIFIERS = (frozenset({"const"}), frozenset({"constexpr"}))

RULES: dict[str, dict[str, Rule]] = {
    "python": {
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
    },
    "javascript": {
        "function_declaration": Rule("function"),
        "generator_function_declaration": Rule("function"),
        "class_declaration": Rule("class", members=("body",), parameters=()),
        "method_definition": Rule("function"),
        "export_statement": WRAPPER,
        "lexical_declaration": WRAPPER,
        "variable_declaration": WRAPPER,
        "variable_declarator": Rule(
            "constant",
            parameters=(("value", "parameters"), ("value", "parameter")),
            body=("value", "body"),
            kind_by=(
                ("value",),
                {
                    "arrow_function": "function",
                    "function_expression": "function",
                    "function": "function",
                    "generator_function": "function",
                },
            ),
        ),
    },
    "go": {
        "function_declaration": Rule("function"),
        "method_declaration": Rule("function", container=("receiver",)),
        "type_declaration": WRAPPER,
        "type_spec": Rule(
            "type",
            parameters=(),
            body=None,
            members=("type",),
            kind_by=(("type",), {"struct_type": "class"}),
        ),
        "type_alias": Rule("type", parameters=(), body=None),
        "method_elem": Rule("function", body=None),
        "const_declaration": WRAPPER,
        "var_declaration": WRAPPER,
        "const_spec": Rule("constant", parameters=(), body=None),
        "var_spec": Rule("constant", parameters=(), body=None),
    },
    "rust": {
        "function_item": Rule("function"),
        "function_signature_item": Rule("function", body=None),
        "struct_item": Rule("class", parameters=(), body=None),
        "enum_item": Rule("class", parameters=(), body=None),
        "union_item": Rule("class", parameters=(), body=None),
        "trait_item": Rule("type", parameters=(), members=("body",)),
        "type_item": Rule("type", parameters=(), body=None),
        "const_item": Rule("constant", parameters=(), body=None),
        "static_item": Rule("constant", parameters=(), body=None),
        "impl_item": Rule("impl", name=(), parameters=(), members=("body",), container=("type",)),
        "mod_item": Rule("namespace", parameters=(), members=("body",)),
    },
    "java": {
        "class_declaration": Rule("class", parameters=(), members=("body",)),
        "record_declaration": Rule("class", members=("body",)),
        "enum_declaration": Rule("class", parameters=(), members=("body",)),
        "enum_body_declarations": WRAPPER,
        "interface_declaration": Rule("type", parameters=(), members=("body",)),
        "annotation_type_declaration": Rule("type", parameters=(), members=("body",)),
        "method_declaration": Rule("function"),
        "constructor_declaration": Rule("function"),
        "field_declaration": Rule(
            "constant",
            name=("declarator", "name"),
            parameters=(),
            body=None,
            requires=(frozenset({"static", "final"}),),
        ),
        "constant_declaration": Rule(
            "constant", name=("declarator", "name"), parameters=(), body=None
        ),
    },
    "c": {
        "function_definition": Rule("function", name=("declarator",), parameters=()),
        "declaration": Rule(
            "constant",
            name=("declarator",),
            parameters=(),
            body=None,
            declarator_kind="function",
            requires=CONSTANT_QUALIFIERS,
        ),
        "field_declaration": Rule(
            "constant",
            name=("declarator",),
            parameters=(),
            body=None,
            declarator_kind="function",
            requires=CONSTANT_QUALIFIERS,
        ),
        "type_definition": Rule(
            "type", name=("declarator",), parameters=(), body=None, also=("type",)
        ),
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
    },
}
RULES["javascriptreact"] = RULES["javascript"]
RULES["typescript"] = RULES["typescriptreact"] = {
    **RULES["javascript"],
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
RULES["cpp"] = {
    **RULES["c"],
    "class_specifier": Rule("class", parameters=(), members=("body",), needs_body=True),
    "struct_specifier": Rule("class", parameters=(), members=("body",), needs_body=True),
    "union_specifier": Rule("class", parameters=(), members=("body",), needs_body=True),
    "namespace_definition": Rule("namespace", parameters=(), members=("body",)),
    "alias_declaration": Rule("type", parameters=(), body=None),
    "template_declaration": WRAPPER,
    "linkage_specification": WRAPPER,
    "declaration_list": WRAPPER,
}

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

# Node types that carry a name.
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
# Qualified names (C++ `Store::get`): node type -> (field of the scope, field of the rest).
QUALIFIED = {"qualified_identifier": ("scope", "name")}
# Declarators that make a C/C++ declaration a function; their parameters field.
FUNCTION_DECLARATORS = frozenset({"function_declarator"})
# Children holding modifier words (static, final, const, constexpr, pub).
MODIFIER_TYPES = frozenset(
    {"modifiers", "type_qualifier", "storage_class_specifier", "visibility_modifier"}
)
# Decorations before a definition: not part of its header, skipped when looking for its doc comment.
DECORATIONS = frozenset({"decorator", "attribute_item", "marker_annotation", "annotation"})
COMMENTS = frozenset({"comment", "line_comment", "block_comment"})
# Node types of a parameter list.
PARAMETER_LISTS = frozenset(
    {"parameters", "formal_parameters", "parameter_list", "lambda_parameters", "preproc_params"}
)
# The kinds whose members are methods.
CLASS_LIKE = frozenset({"class", "type", "impl"})

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
# Parameter node type -> role; INNER: the role of its pattern (or first named
# child), optional when it has a default value.
PARAMETER_ROLES: dict[str, dict[str, str]] = {
    "python": {
        "identifier": REQUIRED,
        "typed_parameter": INNER,
        "default_parameter": OPTIONAL,
        "typed_default_parameter": OPTIONAL,
        "list_splat_pattern": VARIADIC,
        "dictionary_splat_pattern": KEYWORDS,
        "keyword_separator": KEYWORD_MARK,
        "positional_separator": POSITIONAL_MARK,
        "tuple_pattern": REQUIRED,
    },
    "javascript": {
        "identifier": REQUIRED,
        "object_pattern": REQUIRED,
        "array_pattern": REQUIRED,
        "assignment_pattern": OPTIONAL,
        "rest_pattern": VARIADIC,
        "required_parameter": INNER,
        "optional_parameter": OPTIONAL,
        "this": SKIP,
    },
    "go": {"parameter_declaration": REQUIRED, "variadic_parameter_declaration": VARIADIC},
    "rust": {"parameter": REQUIRED, "self_parameter": SKIP, "variadic_parameter": VARIADIC},
    "java": {
        "formal_parameter": REQUIRED,
        "spread_parameter": VARIADIC,
        "receiver_parameter": SKIP,
    },
    "c": {
        "parameter_declaration": REQUIRED,
        "variadic_parameter": VARIADIC,
        "identifier": REQUIRED,
        "...": VARIADIC,
    },
}
PARAMETER_ROLES["cpp"] = {
    **PARAMETER_ROLES["c"],
    "optional_parameter_declaration": OPTIONAL,
    "variadic_parameter_declaration": VARIADIC,
}
# Names of values (not of types): a parameter without a name field is named by one of these.
VALUE_NAMES = frozenset({"identifier"})
# Fields holding a parameter's default value (an INNER parameter with one is optional).
DEFAULT_FIELDS = ("value", "default_value")
# Fields followed from a parameter down to its name.
PARAMETER_NAME_FIELDS = ("name", "pattern", "declarator", "left")
# A C parameter list `(void)` declares no parameter.
NO_PARAMETERS = "void"
# A method's first parameter that is its receiver, by language (Python's self/cls).
IMPLICIT_RECEIVERS: dict[str, frozenset[str]] = {"python": frozenset({"self", "cls"})}

# Constructors: a member with one of these names, or named like its class.
CONSTRUCTOR_NAMES: dict[str, frozenset[str]] = {
    "python": frozenset({"__init__", "__new__"}),
    "javascript": frozenset({"constructor"}),
}
CLASS_NAMED_CONSTRUCTORS = frozenset({"java", "cpp"})
# Python: bases that add no constructor parameters; decorators that generate
# an ``__init__`` from the class's annotated fields, and the field functions
# they read defaults from.
TRIVIAL_BASES = frozenset(
    {"object", "Generic", "typing.Generic", "Protocol", "typing.Protocol", "ABC", "abc.ABC"}
)
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
FIELD_FUNCTIONS = frozenset(
    {"field", "dataclasses.field", "attr.ib", "attr.attrib", "attr.field", "attrs.field", "attrib"}
)
FIELD_DEFAULTS = ("default", "default_factory", "factory")

# Docstrings: (body field, statement type, string type) of the first statement.
DOCSTRINGS: dict[str, tuple[str, str, str]] = {"python": ("body", "expression_statement", "string")}

# Import statements, by language.
IMPORTS: dict[str, tuple[str, ...]] = {
    "python": ("import_statement", "import_from_statement", "future_import_statement"),
    "javascript": ("import_statement",),
    "go": ("import_declaration",),
    "rust": ("use_declaration", "extern_crate_declaration"),
    "java": ("import_declaration",),
    "c": ("preproc_include",),
    "cpp": ("preproc_include", "using_declaration"),
}
# How deep imports are looked for: the top level, and blocks right under it
# (Python's `if TYPE_CHECKING:` and `try: import x`, C's `#ifdef`), not
# function bodies: a query that walks the whole tree costs a third of a parse.
IMPORT_DEPTH = 3
# Further top-level node types that belong to a file's header.
HEADER_TYPES: dict[str, frozenset[str]] = {
    "python": frozenset(),
    "javascript": frozenset(),
    "go": frozenset({"package_clause"}),
    "rust": frozenset({"inner_attribute_item"}),
    "java": frozenset({"package_declaration"}),
    "c": frozenset(),
    "cpp": frozenset(),
}

# Lexer for references: identifiers, and the comments, strings and numbers
# matched (and dropped) whole so that words inside them are not references.
# The identifier comes first (most tokens are identifiers) and is group 1;
# it must not run into a quote, which would make it a string prefix (f"", b"").
_C_COMMENT = rb"//[^\n]*|/\*[\s\S]*?\*/"
_DQ = rb'"(?:\\[\s\S]|[^"\\\n])*"'
_SQ = rb"'(?:\\[\s\S]|[^'\\\n])*'"
_CHAR = rb"'(?:\\[^']{1,10}|[^'\\\n])'"  # one character: Rust lifetimes ('a) are not chars
_NUMBER = rb"\d[\w.]*"
_IDENTIFIER = rb"([A-Za-z_\x80-\xff][\w\x80-\xff]*+)(?![\"'])"
_PY_PREFIX = rb"[rRbBuUfF]{0,2}"


def _lexer(identifier: bytes, *others: bytes) -> bytes:
    # The lookahead lets the engine skip spaces and punctuation without trying
    # every alternative at each of them (40% faster on Python sources).
    return rb"(?=[\w\x80-\xff#\"'`/$])(?:" + b"|".join((identifier, *others, _NUMBER)) + b")"


LEXERS: dict[str, bytes] = {
    "python": _lexer(
        _IDENTIFIER,
        rb"#[^\n]*",
        _PY_PREFIX + rb"(?:'''[\s\S]*?'''|" + b'"""' + rb'[\s\S]*?"""' + b")",
        _PY_PREFIX + _DQ,
        _PY_PREFIX + _SQ,
    ),
    "javascript": _lexer(
        rb"([A-Za-z_$\x80-\xff][\w$\x80-\xff]*)", _C_COMMENT, _DQ, _SQ, rb"`(?:\\[\s\S]|[^`\\])*`"
    ),
    "go": _lexer(_IDENTIFIER, _C_COMMENT, _DQ, rb"`[^`]*`", _CHAR),
    "rust": _lexer(
        rb"([A-Za-z_\x80-\xff][\w\x80-\xff]*+)(?![\"'#])",
        _C_COMMENT,
        rb'b?r(#*)"[\s\S]*?"\2',
        rb'b?"(?:\\[\s\S]|[^"\\])*"',
        rb"b?" + _CHAR,
        rb"'[A-Za-z_]\w*",  # a lifetime
    ),
    "java": _lexer(_IDENTIFIER, _C_COMMENT, rb'"""[\s\S]*?"""', _DQ, _CHAR),
    "c": _lexer(
        _IDENTIFIER,
        _C_COMMENT,
        rb"#[ \t]*include[^\n]*|#[ \t]*[a-z]+",
        rb'(?:u8|[uUL])?R"([^(\s]{0,16})\([\s\S]*?\)\2"',
        rb"(?:u8|[uUL])?" + _DQ,
        rb"(?:u8|[uUL])?" + _CHAR,
    ),
}
_JS_KEYWORDS = """break case catch class const continue debugger default delete do else export extends finally
for function if import in instanceof new return super switch this throw try typeof var void while with yield let
static enum await async of get set from as implements package protected interface private public null true false"""
_C_KEYWORDS = """auto break case char const continue default do double else enum extern float for goto if inline int
long register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while
_Bool _Complex _Atomic _Noreturn _Static_assert _Thread_local _Alignas _Alignof bool true false"""
RESERVED_WORDS: dict[str, frozenset[str]] = {
    "python": frozenset(keyword.kwlist),
    "javascript": frozenset(_JS_KEYWORDS.split()),
    "typescript": frozenset(
        (
            _JS_KEYWORDS
            + " type declare namespace module abstract readonly as any number string boolean never unknown"
            " keyof infer is asserts satisfies override"
        ).split()
    ),
    "go": frozenset(
        """break case chan const continue default defer else fallthrough for func go goto if import interface map
        package range return select struct switch type var""".split()
    ),
    "rust": frozenset(
        """as async await break const continue crate dyn else enum extern false fn for if impl in let loop match
        mod move mut pub ref return self Self static struct super trait true type unsafe use where while""".split()
    ),
    "java": frozenset(
        """abstract assert boolean break byte case catch char class const continue default do double else enum
        extends final finally float for goto if implements import instanceof int interface long native new package
        private protected public return short static strictfp super switch synchronized this throw throws transient
        try void volatile while true false null var record yield sealed permits""".split()
    ),
    "c": frozenset(_C_KEYWORDS.split()),
    "cpp": frozenset(
        (
            _C_KEYWORDS
            + """ alignas alignof and or not xor bitand bitor compl and_eq or_eq xor_eq not_eq catch class constexpr
            consteval constinit const_cast decltype delete dynamic_cast explicit export friend mutable namespace new
            noexcept nullptr operator private protected public reinterpret_cast static_assert static_cast template
            this throw try typeid typename using virtual wchar_t char8_t char16_t char32_t concept requires co_await
            co_return co_yield"""
        ).split()
    ),
}
RESERVED_WORDS["typescriptreact"] = RESERVED_WORDS["typescript"]

# Which table a language id uses.
_TABLE_LANGUAGE = {
    "javascriptreact": "javascript",
    "typescript": "javascript",
    "typescriptreact": "javascript",
    "cpp": "c",
}


def _table(language_id: str, tables: dict) -> object:
    if language_id in tables:
        return tables[language_id]
    return tables.get(_TABLE_LANGUAGE.get(language_id, language_id))


# ---------------------------------------------------------------------------
# Per-thread parsers and compiled queries
# ---------------------------------------------------------------------------

_local = threading.local()
_compiled: dict[str, tuple[Query | None, re.Pattern[bytes]]] = {}
_compiled_lock = threading.Lock()


def _parser(language_id: str) -> Parser | None:
    """A parser for this thread (a Parser is not safe to share between threads)."""
    parsers = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    if language_id not in parsers:
        parsers[language_id] = languages.parser(language_id)
    return parsers[language_id]


def _compiled_for(language_id: str) -> tuple[Query | None, re.Pattern[bytes]]:
    found = _compiled.get(language_id)
    if found is None:
        with _compiled_lock:
            grammar = languages.language(language_id)
            import_types = _table(language_id, IMPORTS) or ()
            query = None
            if grammar is not None and import_types:
                query = Query(grammar, "[" + " ".join(f"({t})" for t in import_types) + "] @import")
            lexer = re.compile(_table(language_id, LEXERS))
            found = _compiled[language_id] = (query, lexer)
    return found


# ---------------------------------------------------------------------------
# Outline
# ---------------------------------------------------------------------------


def outline(language_id: str, source: bytes, tree: Tree | None = None) -> Outline | None:
    """The outline of ``source``; None when the language has no grammar."""
    rules = RULES.get(language_id)
    if rules is None or languages.language(language_id) is None:
        return None
    if tree is None:
        parser = _parser(language_id)
        if parser is None:
            return None
        tree = parser.parse(source)
    query, lexer = _compiled_for(language_id)
    walker = _Walker(language_id, rules, source)
    walker.top_level(tree.root_node)
    imports: tuple[str, ...] = ()
    if query is not None:
        cursor = QueryCursor(query)
        cursor.set_max_start_depth(IMPORT_DEPTH)
        nodes = cursor.captures(tree.root_node).get("import", [])
        nodes.sort(key=lambda n: n.start_byte)
        imports = tuple(_text(source, n).rstrip() for n in nodes)
    return Outline(
        language_id=language_id,
        definitions=tuple(walker.definitions),
        imports=imports,
        header_end_line=walker.header_end_line,
        references=references(language_id, source, lexer),
    )


def references(
    language_id: str, source: bytes, lexer: re.Pattern[bytes] | None = None
) -> frozenset[str]:
    """Identifiers ``source`` uses outside comments and strings, without keywords."""
    if lexer is None:
        lexer = _compiled_for(language_id)[1]
    words = set(lexer.findall(source))
    if words and isinstance(
        next(iter(words)), tuple
    ):  # patterns with back-references return groups
        words = {groups[0] for groups in words}
    words.discard(b"")
    keywords = _table(language_id, RESERVED_WORDS) or frozenset()
    # Interned: the same few thousand names recur in every file of a workspace.
    return frozenset(intern(w.decode("utf-8", errors="replace")) for w in words) - keywords


def _text(source: bytes, node: Node, start: int | None = None, end: int | None = None) -> str:
    begin = node.start_byte if start is None else start
    stop = node.end_byte if end is None else end
    return source[begin:stop].decode("utf-8", errors="replace")


def _last_row(node: Node) -> int:
    """The node's last line (a preprocessor line's node ends at the start of the next)."""
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def _follow(node: Node | None, path: Path) -> Node | None:
    for field in path:
        if node is None:
            return None
        node = node.child_by_field_name(field)
    return node


def _first_type_name(node: Node | None) -> Node | None:
    """The first type name in ``node`` (Go's receiver ``(s *Store)``, Rust's ``impl<T> Display for Wrapper<T>``)."""
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if current.type == "type_identifier":
            return current
        stack.extend(reversed(current.named_children))
    return None


class _Walker:
    """Walks the levels of one file where definitions live, collecting them."""

    def __init__(self, language_id: str, rules: dict[str, Rule], source: bytes) -> None:
        self.language_id = language_id
        self.rules = rules
        self.source = source
        self.definitions: list[Definition] = []
        self.header_end_line = 0
        self._header_open = True
        self._items_seen = 0
        self._roles = _table(language_id, PARAMETER_ROLES) or {}
        self._receivers = _table(language_id, IMPLICIT_RECEIVERS) or frozenset()
        self._constructor_names = _table(language_id, CONSTRUCTOR_NAMES) or frozenset()
        self._class_named_constructors = language_id in CLASS_NAMED_CONSTRUCTORS
        self._docstring = _table(language_id, DOCSTRINGS)
        self._header_types = frozenset(_table(language_id, IMPORTS) or ()) | (
            _table(language_id, HEADER_TYPES) or frozenset()
        )

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
        constructors: list[tuple[str, Parameters]] | None = None,
    ) -> None:
        for node in nodes:
            node_type = node.type
            if node_type in COMMENTS or node_type in DECORATIONS:
                continue
            before = len(self.definitions)
            rule = self.rules.get(node_type)
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
            if child.type in DECORATIONS:
                continue
            if node.field_name_for_named_child(index) in WRAPPER_SKIP_FIELDS:
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
            self.header_end_line = _last_row(node) + 1
        else:
            self._header_open = False

    def _is_docstring(self, node: Node) -> bool:
        """The module docstring: a string statement before anything else."""
        if self._docstring is None or self._items_seen != 1:
            return False
        _, statement, string = self._docstring
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
        constructors: list[tuple[str, Parameters]] | None,
    ) -> None:
        if rule.needs_body and _follow(node, rule.body or ("body",)) is None:
            return
        if rule.kind == "impl" or rule.kind == "namespace":
            self._container(node, rule, container, depth)
            return
        name_node, scope, declarator_parameters = self._name(node, rule.name)
        if name_node is None:
            return
        name = intern(_text(self.source, name_node))
        kind = rule.kind
        if rule.kind_by is not None:
            path, kinds = rule.kind_by
            target = _follow(node, path)
            kind = kinds.get(target.type, rule.kind) if target is not None else rule.kind
        if rule.declarator_kind is not None and declarator_parameters is not None:
            kind = rule.declarator_kind
        elif rule.requires:
            modifiers = self._modifiers(node)
            if not any(words <= modifiers for words in rule.requires):
                return
        own_container = container
        if rule.container is not None:
            receiver = _first_type_name(_follow(node, rule.container))
            own_container = _text(self.source, receiver) if receiver is not None else container
        elif scope is not None:
            own_container = scope
        is_member = own_container is not None and (
            container_kind in CLASS_LIKE or rule.container is not None or scope
        )
        if kind == "function" and is_member:
            kind = "method"

        parameters = None
        if kind in ("function", "method"):
            parameters = self._parameters(
                node, rule, declarator_parameters, drop_receiver=kind == "method"
            )
        position = len(self.definitions)
        if kind in ("class", "type") and rule.members is not None and depth < MAX_NESTING:
            found: list[tuple[str, Parameters]] = []
            members = _follow(node, rule.members)
            if members is not None:
                self._level(
                    members.named_children, name, kind, depth + 1, top=False, constructors=found
                )
            if rule.parameters:
                parameters = self._parameters(node, rule, None, drop_receiver=False)
            elif self.language_id == "python":
                parameters = self._python_constructor(node, members, found)
            elif found:
                parameters = _merge([p for _, p in found])
        elif kind == "class" and rule.parameters:
            parameters = self._parameters(node, rule, None, drop_receiver=False)

        if kind == "method" and self._is_constructor(name, own_container, container):
            if constructors is not None and parameters is not None:
                constructors.append((name, parameters))
            if (
                name == own_container
            ):  # Java/C++: folded into the class's parameters, not a method of its own
                return
        start, signature = self._signature(node, rule)
        definition = Definition(
            name=name,
            kind=kind,
            signature=signature,
            doc=self._doc(node, rule),
            start_line=start,
            end_line=_last_row(node),
            container=own_container,
            parameters=parameters,
        )
        self.definitions.insert(position, definition)
        if rule.also is not None:
            inner = _follow(node, rule.also)
            inner_rule = self.rules.get(inner.type) if inner is not None else None
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
            named = _first_type_name(_follow(node, rule.container or ()))
            kind = "impl"
        else:
            named, _, _ = self._name(node, rule.name)
            kind = "namespace"
        name = _text(self.source, named) if named is not None else container
        members = _follow(node, rule.members or ("body",))
        if members is not None:
            self._level(members.named_children, name, kind, depth + 1, top=False)

    def _is_constructor(self, name: str, own_container: str | None, container: str | None) -> bool:
        if name in self._constructor_names:
            return True
        return (
            self._class_named_constructors and own_container is not None and name == own_container
        )

    def _name(
        self, node: Node, fields: tuple[str, ...]
    ) -> tuple[Node | None, str | None, Node | None]:
        """The name node, the scope of a qualified name, and the parameters of a
        function declarator met on the way (C: ``int (*f)(int)``, ``Store::get``)."""
        scope = None
        declarator_parameters = None
        current: Node | None = node
        for _ in range(16):
            if current is None:
                return None, scope, declarator_parameters
            if current.type in NAME_TYPES and current is not node:
                return current, scope, declarator_parameters
            if current.type in QUALIFIED:
                scope_field, name_field = QUALIFIED[current.type]
                scope_node = current.child_by_field_name(scope_field)
                if scope_node is not None:
                    scope = _text(self.source, scope_node)
                current = current.child_by_field_name(name_field)
                continue
            if current.type in FUNCTION_DECLARATORS and declarator_parameters is None:
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
            if child.type in MODIFIER_TYPES:
                words.update(_text(self.source, child).split())
        return frozenset(words)

    # -- parameters --------------------------------------------------------

    def _parameters(
        self, node: Node, rule: Rule, declarator_list: Node | None, drop_receiver: bool
    ) -> Parameters | None:
        found = declarator_list
        if found is None:
            for path in rule.parameters:
                found = _follow(node, path)
                if found is not None:
                    break
        if found is None:
            return None
        if found.type in PARAMETER_LISTS:
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
        for child in children:
            if child.type in COMMENTS:
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
            child_names = self._parameter_names(child)
            if first and drop_receiver and child_names and child_names[0] in self._receivers:
                first = False
                continue
            first = False
            if role == VARIADIC:
                variadic = True
                if keyword_from is None and self.language_id == "python":
                    keyword_from = len(names)
            elif role == KEYWORDS:
                keywords = True
            elif (
                role == REQUIRED
                and _text(self.source, child).strip() == NO_PARAMETERS
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
        role = self._roles.get(node.type, REQUIRED if node.type in NAME_TYPES else SKIP)
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

    def _parameter_names(self, node: Node) -> list[str]:
        if node.type in NAME_TYPES:
            return [_text(self.source, node)]
        several = node.children_by_field_name("name")
        if len(several) > 1:  # Go: `a, b int`
            return [_text(self.source, n) for n in several]
        current = node
        for _ in range(8):
            following = None
            for field in PARAMETER_NAME_FIELDS:
                following = current.child_by_field_name(field)
                if following is not None:
                    break
            if following is None:
                following = next((c for c in current.named_children if c.type in VALUE_NAMES), None)
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
            if current.type in NAME_TYPES:
                return [_text(self.source, current)]
        if current is node and node.named_child_count == 0:
            return []  # C's `...`
        return [_text(self.source, current)] if current is not node else ["_"]

    # -- Python constructors -------------------------------------------------

    def _python_constructor(
        self, node: Node, body: Node | None, found: list[tuple[str, Parameters]]
    ) -> Parameters | None:
        """What a call of the class takes: its ``__init__``, else its ``__new__``,
        else the fields of a dataclass / attrs class / NamedTuple; no argument for
        a plain class without bases; None when it inherits a constructor we cannot see."""
        for wanted in ("__init__", "__new__"):
            own = [p for n, p in found if n == wanted]
            if own:
                return own[0] if len(own) == 1 else _merge(own)
        superclasses = node.child_by_field_name("superclasses")
        bases = (
            [c for c in superclasses.named_children if c.type not in COMMENTS]
            if superclasses is not None
            else []
        )
        base_names = [
            _text(self.source, b).rsplit(".", 1)[-1] for b in bases if b.type != "keyword_argument"
        ]
        inherits = [
            b
            for b in bases
            if b.type == "keyword_argument" or _text(self.source, b) not in TRIVIAL_BASES
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
            if callee is not None and _text(self.source, callee) in FIELD_DECORATORS:
                field_class = expression
        if "NamedTuple" in base_names and body is not None:
            return self._python_fields(body, keyword_only=False)
        if field_class is not None and body is not None:
            if inherits:
                return None  # the base's fields come first, and they are not here
            keyword_only = False
            if field_class.type == "call":
                arguments = field_class.child_by_field_name("arguments")
                keyword_only = (
                    arguments is not None
                    and _keyword_value(self.source, arguments, "kw_only") == "True"
                )
            return self._python_fields(body, keyword_only)
        if not inherits and not decorators:  # a decorator we do not know may write the constructor
            return Parameters((), 0, False, False)
        return None

    def _python_fields(self, body: Node, keyword_only: bool) -> Parameters:
        """The parameters a dataclass, attrs class or NamedTuple's generated constructor takes."""
        positional: list[str] = []
        keyword: list[str] = []
        optional: list[str] = []
        for statement in body.named_children:
            if statement.type != "expression_statement" or statement.named_child_count != 1:
                continue
            assignment = statement.named_child(0)
            if assignment.type != "assignment":
                continue
            left = assignment.child_by_field_name("left")
            annotation = assignment.child_by_field_name("type")
            right = assignment.child_by_field_name("right")
            if left is None or left.type != "identifier":
                continue
            name = intern(_text(self.source, left))
            field_call = None
            if right is not None and right.type == "call":
                function = right.child_by_field_name("function")
                if function is not None and _text(self.source, function) in FIELD_FUNCTIONS:
                    field_call = right.child_by_field_name("arguments")
            if annotation is None and field_call is None:
                continue  # a plain class attribute
            if annotation is not None:
                written = _text(self.source, annotation)
                if written.split("[", 1)[0].rsplit(".", 1)[-1] == "ClassVar":
                    continue
                if written.rsplit(".", 1)[-1] == "KW_ONLY":
                    keyword_only = True
                    continue
            this_keyword_only = keyword_only
            has_default = right is not None
            if field_call is not None:
                if _keyword_value(self.source, field_call, "init") == "False":
                    continue
                kw = _keyword_value(self.source, field_call, "kw_only")
                if kw is not None:
                    this_keyword_only = kw == "True"
                has_default = any(
                    _keyword_value(self.source, field_call, k) is not None for k in FIELD_DEFAULTS
                )
            (keyword if this_keyword_only else positional).append(name)
            if has_default:
                optional.append(name)
        names = tuple(positional + keyword)
        return Parameters(
            names, len(names) - len(optional), False, False, 0, len(keyword), tuple(optional)
        )

    # -- header and doc --------------------------------------------------------

    def _header_node(self, node: Node) -> Node:
        """``node``, or the single-child wrappers around it (``export const X = 1``)."""
        while True:
            parent = node.parent
            if parent is None or parent.parent is None:
                return node
            if parent.type not in HEADER_WRAPPERS or parent.named_child_count != 1:
                return node
            node = parent

    def _signature(self, node: Node, rule: Rule) -> tuple[int, str]:
        outer = self._header_node(node)
        start_node = outer
        for child in outer.children:
            if child.type in DECORATIONS:
                continue
            if child.type == "modifiers":
                inner = next((g for g in child.children if g.type not in DECORATIONS), None)
                start_node = inner if inner is not None else child.next_sibling or child
            else:
                start_node = child
            break
        body = _follow(node, rule.body) if rule.body is not None else None
        end = body.start_byte if body is not None else outer.end_byte
        text = _text(self.source, outer, start_node.start_byte, end).rstrip()
        if len(text) > SIGNATURE_CHARS:
            text = text[:SIGNATURE_CHARS].rstrip() + "…"
        return start_node.start_point.row, text

    def _doc(self, node: Node, rule: Rule) -> str:
        if self._docstring is not None:
            body_field, statement, string = self._docstring
            body = node.child_by_field_name(body_field) if rule.body is not None else None
            first = body.named_child(0) if body is not None and body.named_child_count else None
            if first is not None and first.type == statement and first.named_child_count == 1:
                literal = first.named_child(0)
                if literal.type == string:
                    return _first_paragraph(_unquote(_text(self.source, literal)))
        return self._doc_comment(node)

    def _doc_comment(self, node: Node) -> str:
        """The comment lines right above ``node`` (above its decorations and wrappers)."""
        anchor = node
        top_row = node.start_point.row
        while True:
            previous = anchor.prev_named_sibling
            while previous is not None and previous.type in DECORATIONS:
                top_row = previous.start_point.row
                previous = previous.prev_named_sibling
            if previous is not None:
                break
            parent = anchor.parent
            parent_rule = self.rules.get(parent.type) if parent is not None else None
            if (
                parent_rule is not None
                and parent_rule.kind == "wrapper"
                and parent.parent is not None
            ):
                anchor = parent
                top_row = min(top_row, anchor.start_point.row)
                continue
            break
        lines: list[str] = []
        while (
            previous is not None
            and previous.type in COMMENTS
            and previous.end_point.row >= top_row - 1
        ):
            before = previous.prev_sibling
            if (
                before is not None
                and before.type not in COMMENTS
                and before.end_point.row == previous.start_point.row
            ):
                break  # a trailing comment of the line before
            lines[:0] = _text(self.source, previous).splitlines()
            top_row = previous.start_point.row
            previous = previous.prev_named_sibling
        if not lines:
            return ""
        return _first_paragraph(_uncomment(lines))


def _keyword_value(source: bytes, arguments: Node, keyword: str) -> str | None:
    """The text of ``keyword=``'s value in a call's argument list, None when it is not given."""
    for argument in arguments.named_children:
        if argument.type == "keyword_argument":
            name = argument.child_by_field_name("name")
            value = argument.child_by_field_name("value")
            if name is not None and value is not None and _text(source, name) == keyword:
                return _text(source, value)
    return None


def _merge(overloads: list[Parameters]) -> Parameters:
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


def _first_paragraph(text: str) -> str:
    lines = []
    for line in text.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("@"):
            break
        lines.append(line)
    return "\n".join(lines)
