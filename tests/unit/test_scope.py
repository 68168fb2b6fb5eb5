import pytest

from smalllsp.syntax.scope import inside_string_or_comment, scope_chain, scope_cut

PY = '''class Shape:
    def area(self, radius):
        """Area."""
        
    def name(self):
        return "shape"  # a comment
'''


def kinds(chain):
    return [s.kind for s in chain]


def test_python_chain_on_a_blank_line_in_a_method():
    chain = scope_chain("python", PY.split("\n"), 3, 8)
    assert kinds(chain) == ["class", "function"]
    assert chain[-1].header == "def area(self, radius):"


def test_python_chain_in_a_string_and_a_comment():
    lines = PY.split("\n")
    assert kinds(scope_chain("python", lines, 5, 17))[-1] == "string"
    assert inside_string_or_comment(scope_chain("python", lines, 5, 32))
    assert not inside_string_or_comment(scope_chain("python", lines, 3, 8))


@pytest.mark.parametrize(
    "language, source, line, column, expected",
    [
        (
            "javascript",
            "class A {\n  m(x) {\n    return f(x, 1);\n  }\n}\n",
            2,
            13,
            ["class", "function", "block", "call"],
        ),
        (
            "go",
            "package m\n\nfunc F(a int) int {\n\treturn g(a)\n}\n",
            3,
            10,
            ["function", "block", "call"],
        ),
        (
            "rust",
            "impl A {\n    fn f(&self) -> i32 {\n        g(1)\n    }\n}\n",
            2,
            10,
            ["class", "function", "block", "call"],
        ),
    ],
)
def test_chains_in_other_languages(language, source, line, column, expected):
    assert kinds(scope_chain(language, source.split("\n"), line, column)) == expected


def test_no_grammar_no_chain():
    assert scope_chain("cobol", ["x"], 0, 0) is None


def test_cut_where_a_python_candidate_leaves_the_function():
    head = "import math\n\n\ndef area(r):\n    "
    candidate = "return math.pi * r ** 2\n\n\nif __name__ == '__main__':\n    print(area(2))"
    tail = "\n"
    cut = scope_cut("python", head, candidate, tail)
    assert candidate[:cut].rstrip() == "return math.pi * r ** 2"


def test_a_candidate_that_stays_inside_is_not_cut():
    head = "def f(xs):\n    total = 0\n    "
    candidate = "for x in xs:\n        total += x\n    return total"
    assert scope_cut("python", head, candidate, "\n") is None


def test_a_brace_candidate_is_cut_before_the_brace_that_closes_the_function():
    head = "function f(a) {\n  "
    candidate = "return a + 1;\n}\n\nfunction g() {\n  return 2;\n}"
    tail = "\n}\n"
    cut = scope_cut("javascript", head, candidate, tail)
    assert candidate[:cut].rstrip() == "return a + 1;"


def test_cut_counts_code_points_not_bytes():
    head = "def f():\n    "
    candidate = "return 'é😀'\nprint(1)"
    cut = scope_cut("python", head, candidate, "\n")
    assert candidate[:cut].rstrip() == "return 'é😀'"


def test_a_finished_last_line_is_not_a_departure():
    assert scope_cut("python", "def f():\n    ", "return 1\n", "\n") is None
    assert scope_cut("python", "def f():\n    ", "return 1\n\n", "") is None
