"""Calls and names in a byte range, per language."""

import pytest

from smalllsp.syntax.languages import parser
from smalllsp.syntax.uses import calls_in, names_in


def calls(language_id: str, head: str, written: str, tail: str = "") -> list[tuple]:
    source = (head + written + tail).encode()
    tree = parser(language_id).parse(source)
    start = len(head.encode())
    found = calls_in(language_id, tree.root_node, start, start + len(written.encode()))
    return [(c.name, c.receiver, c.positional, c.keywords, c.spread) for c in found]


@pytest.mark.parametrize(
    "language_id, head, written, expected",
    [
        (
            "python",
            "x = ",
            "billing.charge(a, 'EUR', retries=3)",
            [("charge", "billing", 2, ("retries",), False)],
        ),
        ("python", "x = ", "charge(*args, **kw)", [("charge", None, 0, (), True)]),
        ("python", "x = ", "f(g(1), 2)", [("f", None, 2, (), False), ("g", None, 1, (), False)]),
        (
            "javascript",
            "const x = ",
            "api.fetchOrders(id, ...rest);",
            [("fetchOrders", "api", 1, (), True)],
        ),
        ("javascript", "const x = ", "new Cart(2);", [("Cart", None, 1, (), False)]),
        (
            "typescript",
            "const x = ",
            "formatPrice<number>(c, 'USD');",
            [("formatPrice", None, 2, (), False)],
        ),
        ("go", "package m\nfunc f() { ", "s.Get(key) }", [("Get", "s", 1, (), False)]),
        ("go", "package m\nfunc f() { ", "fmt.Println(xs...) }", [("Println", "fmt", 0, (), True)]),
        (
            "rust",
            "fn f() { ",
            "parser::parse_line(l, true); }",
            [("parse_line", "parser", 2, (), False)],
        ),
        ("rust", "fn f() { ", "s.save(1); }", [("save", "s", 1, (), False)]),
        (
            "java",
            "class A { void f() { ",
            "inventory.reserve(sku, 2); } }",
            [("reserve", "inventory", 2, (), False)],
        ),
        ("java", "class A { void f() { ", "new Cart(2); } }", [("Cart", None, 1, (), False)]),
        ("c", "void f() { ", "ring_push(&r, &i, 4); }", [("ring_push", None, 3, (), False)]),
        (
            "cpp",
            "void f() { ",
            "auto m = linalg::multiply(a, b); }",
            [("multiply", "linalg", 2, (), False)],
        ),
        ("cpp", "void f() { ", "auto m = get<int>(a); }", [("get", None, 1, (), False)]),
    ],
)
def test_calls_written_in_the_range(language_id, head, written, expected):
    assert calls(language_id, head, written) == expected


def test_a_call_the_user_typed_counts_when_the_range_writes_its_arguments():
    assert calls("python", "x = charge(", "total, 'EUR')") == [("charge", None, 2, (), False)]


def test_an_enclosing_call_whose_arguments_start_before_the_range_does_not_count():
    # the candidate writes bar's argument, not foo's
    assert calls("python", "foo(bar(", "x", "))") == [("bar", None, 1, (), False)]


def test_names_in_the_range():
    source = b"total = price * QUANTITY + other"
    tree = parser("python").parse(source)
    start = source.index(b"price")
    assert names_in("python", tree.root_node, start, source.index(b" + other")) == {
        "price",
        "QUANTITY",
    }


def test_a_language_without_tables_has_no_calls():
    assert calls_in("plaintext", parser("python").parse(b"f(1)").root_node, 0, 4) == []
