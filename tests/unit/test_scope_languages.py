"""Scope chains and cuts per language, on realistic snippets.

Each case marks the cursor with ``|`` in the source; chains list the kinds
from the outermost scope in.
"""

import pytest

from smalllsp.syntax.scope import scope_chain, scope_cut


def at_marker(source: str) -> tuple[list[str], int, int]:
    lines = source.split("\n")
    for number, line in enumerate(lines):
        if "|" in line:
            column = line.index("|")
            lines[number] = line[:column] + line[column + 1 :]
            return lines, number, column
    raise AssertionError("no | marker")


CHAINS = [
    (
        "python",
        "import functools\n\n@functools.cache\ndef outer(n):\n    def inner(k):\n        |\n    return inner(n)\n",
        ["function", "function"],
    ),
    (
        "python",
        "class Repo:\n    @property\n    def name(self):\n        return self._name.upper(|)\n",
        ["class", "function", "call"],
    ),
    (
        "python",
        "def kind(value):\n    match value:\n        case int():\n            |\n",
        ["function", "block"],
    ),
    ("python", 'def greet(name):\n    """Say hello to |name."""\n', ["function", "string"]),
    (
        "python",
        "def total(xs):\n    # add up the |values\n    return sum(xs)\n",
        ["function", "comment"],
    ),
    ("python", "handlers = [lambda event: event.|name]\n", ["function"]),
    ("javascript", "const add = (a, b) => {\n  |\n};\n", ["function", "block"]),
    (
        "javascript",
        "function counter() {\n  let n = 0;\n  return function () {\n    n += 1;|\n  };\n}\n",
        ["function", "block", "function", "block"],
    ),
    (
        "javascript",
        "class View {\n  render(props) {\n    return `<p>${props.|}</p>`;\n  }\n}\n",
        ["class", "function", "block", "string"],
    ),
    (
        "javascript",
        "function kind(x) {\n  switch (x) {\n    case 1:\n      |\n  }\n}\n",
        ["function", "block", "block"],
    ),
    ("typescript", "interface Shape {\n  area(|): number;\n}\n", ["class"]),
    (
        "typescript",
        "export class Store<T> {\n  get(key: string): T {\n    |\n  }\n}\n",
        ["class", "function", "block"],
    ),
    (
        "go",
        "package main\n\nfunc main() {\n\tdone := func() {\n\t\t|\n\t}\n\tdone()\n}\n",
        ["function", "block", "function", "block"],
    ),
    (
        "go",
        'package main\n\nfunc kind(x int) string {\n\tswitch x {\n\tcase 1:\n\t\t|\n\t}\n\treturn ""\n}\n',
        ["function", "block", "block"],
    ),
    (
        "rust",
        "impl Stack {\n    fn push(&mut self, v: i32) {\n        self.items.push(|);\n    }\n}\n",
        ["class", "function", "block", "call"],
    ),
    (
        "rust",
        'fn kind(x: i32) -> &\'static str {\n    match x {\n        1 => |"one",\n        _ => "many",\n    }\n}\n',
        ["function", "block", "block", "string"],
    ),
    (
        "java",
        "public class Shop {\n  int total(List<Integer> xs) {\n    return xs.stream().map(x -> |x * 2).sum();\n  }\n}\n",
        ["class", "function", "block", "call", "function"],
    ),
    (
        "java",
        'class K {\n  String kind(int x) {\n    return switch (x) { case 1 -> |"one"; default -> "many"; };\n  }\n}\n',
        ["class", "function", "block", "block", "string"],
    ),
    (
        "c",
        "struct point { int x; int y; };\n\nint norm(struct point p) {\n  |\n}\n",
        ["function", "block"],
    ),
    (
        "c",
        "int f(int x) {\n  /* compute |it */\n  return x;\n}\n",
        ["function", "block", "comment"],
    ),
    (
        "cpp",
        "namespace geo {\nclass Circle {\n public:\n  double area() const {\n    |\n  }\n};\n}\n",
        ["class", "class", "function", "block"],
    ),
    (
        "cpp",
        "int main() {\n  auto twice = [](int v) {\n    return v * |2;\n  };\n}\n",
        ["function", "block", "function", "block"],
    ),
]


@pytest.mark.parametrize(
    "language, source, expected", CHAINS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CHAINS)]
)
def test_scope_chain(language, source, expected):
    lines, line, column = at_marker(source)
    assert [s.kind for s in scope_chain(language, lines, line, column)] == expected


# (language, source with the cursor, candidate, what must be kept)
CUTS = [
    (
        "python",
        "def area(r):\n    |\n\n\ndef main():\n    pass\n",
        "return 3.14 * r * r\n\n\nif __name__ == '__main__':\n    main()",
        "return 3.14 * r * r",
    ),
    (
        "python",
        "class A:\n    def f(self):\n        |\n\n    def g(self):\n        pass\n",
        "return 1\n\n    def h(self):\n        return 2",
        "return 1",
    ),
    (
        "javascript",
        "function f(a) {\n  |\n}\n",
        "return a * 2;\n}\n\nfunction g() {}",
        "return a * 2;",
    ),
    ("javascript", "const h = (a) => {\n  |\n};\n", "return a;\n};\nconst k = 1;", "return a;"),
    (
        "typescript",
        "class S {\n  get(): number {\n    |\n  }\n}\n",
        "return 1;\n  }\n\n  set(v: number) {}",
        "return 1;",
    ),
    ("go", "package m\n\nfunc F() int {\n\t|\n}\n", "return 1\n}\n\nfunc G() {}", "return 1"),
    ("rust", "fn f() -> i32 {\n    |\n}\n", "1\n}\n\nfn g() {}", "1"),
    (
        "java",
        "class A {\n  int f() {\n    |\n  }\n}\n",
        "return 1;\n  }\n\n  int g() { return 2; }",
        "return 1;",
    ),
    ("c", "int f(void) {\n  |\n}\n", "return 1;\n}\n\nint g(void) { return 2; }", "return 1;"),
    ("cpp", "int f() {\n  |\n}\n", "return 1;\n}\nint g() { return 2; }", "return 1;"),
]


@pytest.mark.parametrize(
    "language, source, candidate, kept", CUTS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CUTS)]
)
def test_cut_at_the_end_of_the_enclosing_scope(language, source, candidate, kept):
    lines, line, column = at_marker(source)
    head = "".join(l + "\n" for l in lines[:line]) + lines[line][:column]
    tail = lines[line][column:] + "".join("\n" + l for l in lines[line + 1 :])
    cut = scope_cut(language, head, candidate, tail)
    assert cut is not None and candidate[:cut].rstrip() == kept
