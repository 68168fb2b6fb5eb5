"""The guard's binder: a call's arguments against an indexed signature, as the language binds them.

Each row is a signature (parsed by the real outline code, as the index does)
and a call (parsed by the real call reader), with the exact problem the
binder must report, or None when the call binds.
"""

from __future__ import annotations

import pytest

from smalllsp import guard
from smalllsp.syntax import languages, symbols, uses


def parameters_of(language_id: str, source: str, name: str) -> symbols.Parameters:
    outline = symbols.outline(language_id, source.encode())
    assert outline is not None
    found = [d for d in outline.definitions if d.name == name and d.container is None]
    assert len(found) == 1 and found[0].parameters is not None, found
    return found[0].parameters


def call_of(language_id: str, text: str) -> uses.Call:
    source = text.encode()
    tree = languages.parser(language_id).parse(source)
    calls = uses.calls_in(language_id, tree.root_node, 0, len(source))
    assert calls, text
    return calls[0]


PY_SIGNATURES = {
    "plain": "def f(a, b, c=3):\n    pass\n",
    "posonly": "def f(a, b=2, /, c=3):\n    pass\n",
    "kwonly": "def f(a, *, key, flag=False):\n    pass\n",
    "star": "def f(a, *args, key=None):\n    pass\n",
    "kwargs": "def f(a, /, **options):\n    pass\n",
    "everything": "def f(a, /, b, *args, c, d=4, **kw):\n    pass\n",
    "console": "class Console:\n    def __init__(self, *, color_system='auto', width=None, **kwargs):\n        pass\n",
    "style": "class Style:\n    def __new__(cls, *, bold=None, color=None):\n        pass\n",
    "both": "class Both:\n    def __new__(cls, *args):\n        pass\n    def __init__(self, x):\n        pass\n",
    "dataclass": "@dataclass\nclass P:\n    x: int\n    y: int = 0\n    tag: ClassVar[str] = 'p'\n    z: list = field(default_factory=list)\n    hidden: int = field(init=False)\n",
    "kwdataclass": "@dataclasses.dataclass(kw_only=True)\nclass K:\n    x: int\n    y: int = 0\n",
    "kwmarker": "@dataclass\nclass M:\n    x: int\n    _: KW_ONLY\n    y: int\n",
    "namedtuple": "class Region(NamedTuple):\n    x: int\n    y: int\n    width: int = 0\n",
    "plainclass": "class Empty:\n    pass\n",
    "attrs": "@attrs(slots=True)\nclass V:\n    _validators = attrib()\n    extra = attrib(default=None)\n",
    "method": "class Table:\n    def add_row(self, *renderables, style=None):\n        pass\n",
}
PY_NAMES = {
    "console": "Console",
    "style": "Style",
    "both": "Both",
    "dataclass": "P",
    "kwdataclass": "K",
    "kwmarker": "M",
    "namedtuple": "Region",
    "plainclass": "Empty",
    "attrs": "V",
}

PY_CASES = [
    ("plain", "f(1, 2)", None),
    ("plain", "f(1, 2, 3)", None),
    ("plain", "f(1, 2, 3, 4)", "4 positional arguments (it takes 3)"),
    ("plain", "f(1)", "no argument for b"),
    ("plain", "f(1, c=2)", "no argument for b"),
    ("plain", "f(b=1, a=2)", None),
    ("plain", "f(1, a=2)", "a given twice (by position and as a=)"),
    ("plain", "f(1, 2, d=4)", "an unknown keyword d="),
    ("plain", "f(*xs)", None),
    ("posonly", "f(1)", None),
    ("posonly", "f(1, 2, 3)", None),
    ("posonly", "f(a=1)", "a= by keyword, but a is positional-only"),
    ("posonly", "f(1, c=3)", None),
    ("kwonly", "f(1, key=2)", None),
    ("kwonly", "f(1, 2)", "2 positional arguments (it takes 1; key, flag are keyword-only)"),
    ("kwonly", "f(1)", "no argument for key"),
    ("kwonly", "f(1, key=2, flag=True)", None),
    ("star", "f(1, 2, 3, 4, 5)", None),
    ("star", "f(1, 2, key=3)", None),
    ("star", "f()", "no argument for a"),
    ("kwargs", "f(1, a=2, anything=3)", None),  # a= goes into **options
    ("kwargs", "f(1, 2)", "2 positional arguments (it takes 1)"),
    ("everything", "f(1, 2, 3, 4, c=5)", None),
    ("everything", "f(1, 2)", "no argument for c"),
    ("everything", "f(1, b=2, c=3, e=5)", None),
    ("console", "Console()", None),
    (
        "console",
        "Console(1)",
        "1 positional argument (it takes 0; color_system, width are keyword-only)",
    ),
    ("console", "Console(width=80, record=True)", None),  # **kwargs
    ("style", "Style(0)", "1 positional argument (it takes 0; bold, color are keyword-only)"),
    ("style", "Style(bold=True)", None),
    ("style", "Style(underline=True)", "an unknown keyword underline="),
    ("both", "Both(1)", None),  # __init__ wins over __new__
    ("both", "Both(1, 2)", "2 positional arguments (it takes 1)"),
    ("dataclass", "P(1)", None),
    ("dataclass", "P(1, 2, [])", None),
    ("dataclass", "P(1, 2, [], 4)", "4 positional arguments (it takes 3)"),
    ("dataclass", "P(x=1, hidden=2)", "an unknown keyword hidden="),
    ("dataclass", "P(tag='q', x=1)", "an unknown keyword tag="),
    ("dataclass", "P()", "no argument for x"),
    ("kwdataclass", "K(1)", "1 positional argument (it takes 0; x, y are keyword-only)"),
    ("kwdataclass", "K(x=1)", None),
    ("kwmarker", "M(1, y=2)", None),
    ("kwmarker", "M(1, 2)", "2 positional arguments (it takes 1; y is keyword-only)"),
    ("namedtuple", "Region(0, 0)", None),
    ("namedtuple", "Region(0)", "no argument for y"),
    ("namedtuple", "Region(0, 0, 1, 2)", "4 positional arguments (it takes 3)"),
    ("namedtuple", "Region(x=0, y=0, max=3)", "an unknown keyword max="),
    ("plainclass", "Empty()", None),
    ("plainclass", "Empty(1)", "1 positional argument (it takes 0)"),
    (
        "attrs",
        "V([a, b])",
        None,
    ),  # attrs fields without annotations (as attr/_make.py's _AndValidator)
    ("attrs", "V([a, b], 1, 2)", "3 positional arguments (it takes 2)"),
    ("method", "t.add_row('a', 'b', style='bold')", None),  # self is not counted
    ("method", "t.add_row(end_section=True)", "an unknown keyword end_section="),
]


@pytest.mark.parametrize(("signature", "call", "problem"), PY_CASES, ids=lambda v: str(v))
def test_python_binding(signature, call, problem):
    name = PY_NAMES.get(signature, "add_row" if signature == "method" else "f")
    source = PY_SIGNATURES[signature]
    if signature == "method":
        outline = symbols.outline("python", source.encode())
        parameters = next(d.parameters for d in outline.definitions if d.name == "add_row")
    else:
        parameters = parameters_of("python", source, name)
    assert guard.bind(parameters, call_of("python", call)) == problem


TS_CASES = [
    ("function f(a: number, b?: string) {}", "f(1);", None),
    ("function f(a: number, b?: string) {}", "f(1, 'x');", None),
    ("function f(a: number, b?: string) {}", "f();", "no argument for a"),
    (
        "function f(a: number, b?: string) {}",
        "f(1, 'x', 3);",
        "3 positional arguments (it takes 2)",
    ),
    ("function f(a: number, b = 2) {}", "f(1, 2);", None),
    ("function f(a: number, ...rest: number[]) {}", "f(1, 2, 3, 4);", None),
    ("function f(a: number, ...rest: number[]) {}", "f(...xs);", None),
    ("const f = (a: number, b: number) => a + b;", "f(1);", "no argument for b"),
    (
        "export function f(a: number, b: number = 2): number { return a }",
        "f(1, 2, 3);",
        "3 positional arguments (it takes 2)",
    ),
    ("function f(this: Window, a: number) {}", "f(1);", None),  # `this` is no argument
    ("function f({a, b}: {a: number, b: number}) {}", "f({a: 1, b: 2});", None),
    ("function f(a?: number) {}", "f();", None),
    ("function f<T>(a: T, b: T) {}", "f<number>(1);", "no argument for b"),
]


@pytest.mark.parametrize(("signature", "call", "problem"), TS_CASES, ids=lambda v: str(v))
def test_typescript_arity(signature, call, problem):
    assert (
        guard.bind(parameters_of("typescript", signature, "f"), call_of("typescript", call))
        == problem
    )


def test_typescript_constructor_through_new():
    parameters = parameters_of(
        "typescript", "class Point { constructor(x: number, y: number) {} }", "Point"
    )
    assert guard.bind(parameters, call_of("typescript", "new Point(1);")) == "no argument for y"
    assert guard.bind(parameters, call_of("typescript", "new Point(1, 2);")) is None


GO_CASES = [
    ("func F(a, b int) int { return a }", "F(1, 2)", None),
    ("func F(a, b int) int { return a }", "F(1)", "no argument for b"),
    ("func F(a, b int) int { return a }", "F(1, 2, 3)", "3 positional arguments (it takes 2)"),
    ("func F(format string, args ...any) {}", 'F("%d %d", 1, 2)', None),
    ("func F(format string, args ...any) {}", "F()", "no argument for format"),
    ("func F(xs ...int) {}", "F(ys...)", None),
    ("func F(a, b int, c string) {}", "F(1, 2)", "no argument for c"),
    ("func F(a int, rest ...string) {}", 'F(1, "x", "y")', None),
    ("func F(a int, rest ...string) {}", "F()", "no argument for a"),
    ("func F() error { return nil }", "F(1)", "1 positional argument (it takes 0)"),
]


@pytest.mark.parametrize(("signature", "call", "problem"), GO_CASES, ids=lambda v: str(v))
def test_go_arity(signature, call, problem):
    parameters = parameters_of("go", "package p\n" + signature + "\n", "F")
    call_source = "package p\nfunc g() { " + call + " }\n"
    tree = languages.parser("go").parse(call_source.encode())
    start = call_source.index(call)
    calls = uses.calls_in("go", tree.root_node, start, start + len(call))
    assert guard.bind(parameters, calls[0]) == problem


def test_a_class_under_a_decorator_we_do_not_know_has_no_known_constructor():
    outline = symbols.outline("python", b"@register\nclass Plugin:\n    pass\n")
    assert outline.definitions[0].parameters is None


def test_describe_parameters_reads_like_a_python_signature():
    parameters = parameters_of("python", PY_SIGNATURES["everything"], "f")
    assert guard.describe_parameters(parameters) == "a, /, b, *args, c, d=…, **kwargs"
    assert guard.describe_parameters(
        parameters_of("python", PY_SIGNATURES["console"], "Console")
    ) == ("*, color_system=…, width=…, **kwargs")
    assert (
        guard.describe_parameters(parameters_of("python", PY_SIGNATURES["namedtuple"], "Region"))
        == "x, y, width=…"
    )
