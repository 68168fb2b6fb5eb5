"""The symbol outline on the fixture workspace's files, one language at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from smalllsp.syntax import languages, symbols
from smalllsp.syntax.symbols import Parameters

WORKSPACE = Path(__file__).resolve().parent.parent / "fixtures" / "workspace"


def outline_of(relpath: str) -> symbols.Outline:
    path = WORKSPACE / relpath
    found = symbols.outline(languages.EXTENSIONS[path.suffix], path.read_bytes())
    assert found is not None
    return found


def by_name(
    outline: symbols.Outline, name: str, container: str | None = None
) -> symbols.Definition:
    matches = [
        d
        for d in outline.definitions
        if d.name == name and (container is None or d.container == container)
    ]
    assert len(matches) == 1, f"{name}: {matches}"
    return matches[0]


def test_python_functions_classes_methods_constants():
    api = outline_of("billing/api.py")
    charge = by_name(api, "charge")
    assert charge.kind == "function"
    assert charge.signature == 'def charge(amount, currency="EUR") -> Receipt:'
    assert charge.doc == "Charge ``amount`` minor units in ``currency``."
    assert charge.parameters == Parameters(
        ("amount", "currency"), required=1, variadic=False, keywords=False, optional=("currency",)
    )
    assert (charge.start_line, charge.end_line, charge.container) == (26, 34, None)

    refund = by_name(api, "refund")
    assert refund.parameters == Parameters(
        ("receipt", "reason", "partial"),
        required=2,
        variadic=False,
        keywords=True,
        keyword_only=2,
        optional=("partial",),
    )

    ledger = by_name(api, "Ledger")
    assert ledger.kind == "class" and ledger.signature == "class Ledger:"
    assert ledger.doc == "Every receipt, in the order they were issued."
    assert ledger.parameters == Parameters(
        ("owner", "limit"), required=1, variadic=False, keywords=False, optional=("limit",)
    )

    record = by_name(api, "record")
    assert (record.kind, record.container) == ("method", "Ledger")
    assert record.parameters == Parameters(("receipt",), 1, False, False)  # without self
    assert by_name(api, "total").parameters == Parameters((), 0, True, False)
    assert by_name(api, "from_receipts").parameters.names == ("owner", "receipts")  # without cls
    assert by_name(api, "describe").parameters.names == (
        "receipt",
    )  # a staticmethod keeps its first parameter

    receipt = by_name(api, "Receipt")
    assert receipt.start_line == 18, "the decorator line is not the definition's first line"
    assert receipt.signature == "class Receipt:"
    assert by_name(api, "DEFAULT_CURRENCY").kind == "constant"
    assert by_name(api, "DEFAULT_CURRENCY").signature == 'DEFAULT_CURRENCY = "EUR"'

    names = [d.name for d in api.definitions]
    assert (
        names.index("Receipt")
        < names.index("charge")
        < names.index("Ledger")
        < names.index("record")
    )


def test_python_imports_header_and_references():
    api = outline_of("billing/api.py")
    assert api.imports == (
        "from __future__ import annotations",
        "import dataclasses",
        "import logging",
        "from decimal import Decimal",
    )
    # Docstring, imports, `log` and the two constants; the decorated class starts on line 17.
    assert api.header_end_line == 15
    checkout = outline_of("shop/checkout.py")
    assert {"charge", "Ledger", "record", "TAX_RATE", "round", "price"} <= checkout.references
    assert "Charge" not in checkout.references  # only in the docstring
    assert "def" not in checkout.references and "return" not in checkout.references


def test_javascript():
    cart = outline_of("web/cart.js")
    total = by_name(cart, "cartTotal")
    assert total.signature == "export function cartTotal(items, discount = 0)"
    assert total.doc == "Sum of price times quantity over the items.\nPrices are numbers of cents."
    assert total.parameters == Parameters(
        ("items", "discount"), 1, False, False, optional=("discount",)
    )
    describe = by_name(cart, "describe")
    assert describe.kind == "function" and describe.parameters == Parameters(
        ("item",), 1, True, False
    )
    cart_class = by_name(cart, "Cart")
    assert cart_class.kind == "class" and cart_class.parameters == Parameters(
        ("owner", "items"), 1, False, False, optional=("items",)
    )
    add = by_name(cart, "add")
    assert (add.kind, add.container, add.doc) == (
        "method",
        "Cart",
        "Add one item, refusing past MAX_ITEMS.",
    )
    assert by_name(cart, "MAX_ITEMS").kind == "constant"
    assert cart.imports == (
        'import { formatPrice } from "./format.js";',
        'import Big from "big.js";',
    )
    assert cart.header_end_line == 5
    assert {"formatPrice", "reduce", "MAX_ITEMS", "push"} <= cart.references
    assert "Shopping" not in cart.references and "cart full" not in cart.references


def test_typescript_and_tsx():
    client = outline_of("web/client.ts")
    charge = by_name(client, "charge")
    assert charge.kind == "method" and charge.container == "BillingClient"
    assert charge.parameters == Parameters(
        ("amount", "currency"), 1, True, False, optional=("currency",)
    )  # currency? is optional
    assert charge.doc == "Charge an amount in minor units."
    assert by_name(client, "BillingClient").parameters == Parameters(
        ("baseUrl", "timeoutMs"), 1, False, False, optional=("timeoutMs",)
    )
    assert by_name(client, "ChargeResult").kind == "type"
    assert by_name(client, "retry").container == "ChargeResult"
    assert by_name(client, "Currency").signature == 'export type Currency = "EUR" | "USD";'
    assert by_name(client, "formatAmount").parameters == Parameters(
        ("amount", "currency"), 1, False, False, optional=("currency",)
    )
    badge = outline_of("web/Badge.tsx")
    assert by_name(badge, "Badge").doc == "A small counter badge."
    assert by_name(badge, "BadgeProps").kind == "type"
    assert badge.imports == ('import React from "react";',)


def test_go():
    store = outline_of("store/store.go")
    get = by_name(store, "Get", container="Store")
    assert get.kind == "method"
    assert get.signature == "func (s *Store) Get(key string) (Item, error)"
    assert get.doc == "Get returns the item stored under key."
    assert get.parameters == Parameters(("key",), 1, False, False)  # no receiver
    assert by_name(store, "PutAll").parameters == Parameters(("prefix",), 1, True, False)
    assert by_name(store, "Store").kind == "class"
    assert by_name(store, "Getter").kind == "type"
    assert by_name(store, "Get", container="Getter").kind == "method"
    assert by_name(store, "ID").kind == "type"
    assert (
        by_name(store, "MaxItems").kind == "constant"
        and by_name(store, "MaxItems").doc == "MaxItems bounds the store."
    )
    assert by_name(store, "NewStore").parameters == Parameters((), 0, False, False)
    assert store.imports == ('import (\n\t"errors"\n\t"fmt"\n)',)
    assert store.header_end_line == 12  # package, imports, const and var


def test_rust():
    lib = outline_of("engine/src/lib.rs")
    price = by_name(lib, "Price")
    assert price.kind == "class" and price.doc == "A price in minor units."  # above the #[derive]
    new = by_name(lib, "new")
    assert (new.kind, new.container, new.doc) == ("method", "Price", "Make a price from cents.")
    assert by_name(lib, "add").parameters == Parameters(("other",), 1, False, False)  # no self
    assert by_name(lib, "price").container == "Priced" and by_name(lib, "Priced").kind == "type"
    assert by_name(lib, "fmt").container == "Price"  # impl Display for Price
    total = by_name(lib, "total")
    assert total.signature == "pub fn total<'a>(table: &'a PriceTable, rounding: Rounding) -> Price"
    assert total.parameters == Parameters(("table", "rounding"), 2, False, False)
    assert by_name(lib, "MAX_DISCOUNT").kind == "constant"
    assert lib.imports == ("use std::collections::HashMap;", "use std::fmt::{self, Display};")
    assert "a" not in lib.references, "a lifetime is not a reference"


def test_java():
    inventory = outline_of("java/com/example/inventory/Inventory.java")
    cls = by_name(inventory, "Inventory")
    assert cls.kind == "class" and cls.doc == "Stock levels per product."
    # Two constructors: (warehouse) and (warehouse, capacity); they are not methods of their own.
    assert cls.parameters == Parameters(
        ("warehouse", "capacity"), 1, False, False, optional=("capacity",)
    )
    assert [d.kind for d in inventory.definitions if d.name == "Inventory"] == ["class"]
    add_all = by_name(inventory, "addAll")
    assert add_all.signature == "public int addAll(String warehouse, String... names)"
    assert add_all.doc == "Add products by name."  # the @param lines are not the first paragraph
    assert add_all.parameters == Parameters(("warehouse",), 1, True, False)
    assert by_name(inventory, "MAX_PRODUCTS").kind == "constant"
    assert all(d.name != "products" for d in inventory.definitions)  # an instance field
    assert by_name(inventory, "onChange").container == "Listener"
    assert inventory.imports == ("import java.util.ArrayList;", "import java.util.List;")


def test_c_header_and_source():
    header = outline_of("native/ring.h")
    push = by_name(header, "ring_push")
    assert push.signature == "int ring_push(ring_t *ring, int value);"
    assert push.doc == "Push one value; returns 0 when the ring is full."
    assert push.parameters == Parameters(("ring", "value"), 2, False, False)
    assert by_name(header, "ring_log").parameters == Parameters(("format",), 1, True, False)
    assert by_name(header, "ring_t").kind == "type" and by_name(header, "ring").kind == "class"
    assert by_name(header, "RING_CAPACITY").kind == "constant"
    assert header.imports == ("#include <stddef.h>",)
    assert header.header_end_line == 6  # inside the include guard
    source = outline_of("native/ring.c")
    assert by_name(source, "ring_name").parameters == Parameters((), 0, False, False)  # (void)
    assert by_name(source, "RING_SENTINEL").kind == "constant"
    assert {"ring_push", "RING_CAPACITY", "vfprintf", "va_start"} <= source.references
    assert "stdio" not in source.references  # the #include line


def test_cpp():
    matrix = outline_of("native/matrix.cpp")
    cls = by_name(matrix, "Matrix")
    assert (cls.kind, cls.container) == ("class", "linalg")
    assert cls.parameters == Parameters(
        ("rows", "cols", "fill"), 2, False, False, optional=("fill",)
    )
    at = [d for d in matrix.definitions if d.name == "at"]
    assert [d.container for d in at] == [
        "Matrix",
        "Matrix",
    ]  # declaration and out-of-line definition
    assert at[1].signature == "double Matrix::at(int row, int col) const"
    assert by_name(matrix, "scale").doc == "Scale every entry in place."
    assert by_name(matrix, "count_all").parameters == Parameters((), 0, True, False)
    assert by_name(matrix, "kMaxSize").kind == "constant"
    assert by_name(matrix, "main").container is None


@pytest.mark.parametrize(
    ("language_id", "source", "name", "expected"),
    [
        (
            "python",
            b"def f(a, /, b, *, c, d=1, **kw): pass\n",
            "f",
            Parameters(
                ("a", "b", "c", "d"),
                3,
                False,
                True,
                positional_only=1,
                keyword_only=2,
                optional=("d",),
            ),
        ),
        (
            "python",
            b"g = lambda x, y=2: x\n",
            "g",
            Parameters(("x", "y"), 1, False, False, optional=("y",)),
        ),
        (
            "typescript",
            b"function f(this: A, x?: number, ...r: T[]) {}\n",
            "f",
            Parameters(("x",), 0, True, False, optional=("x",)),
        ),
        ("javascript", b"const h = x => x;\n", "h", Parameters(("x",), 1, False, False)),
        (
            "go",
            b"package p\nfunc f(a, b int, c ...string) {}\n",
            "f",
            Parameters(("a", "b"), 2, True, False),
        ),
        (
            "cpp",
            b"int f(int a, int b = 2, ...);\n",
            "f",
            Parameters(("a", "b"), 1, True, False, optional=("b",)),
        ),
        ("java", b"class A { void f(int... xs) {} }\n", "f", Parameters((), 0, True, False)),
        # `(void)` declares no parameter in C and C++ only; in Python `void` is a name like any
        ("c", b"int f(void);\n", "f", Parameters((), 0, False, False)),
        ("cpp", b"int f(void);\n", "f", Parameters((), 0, False, False)),
        ("python", b"def f(void):\n    pass\n", "f", Parameters(("void",), 1, False, False)),
    ],
)
def test_parameter_shapes(language_id, source, name, expected):
    found = symbols.outline(language_id, source)
    assert [d.parameters for d in found.definitions if d.name == name] == [expected]


def test_signature_is_clipped_and_multiline_headers_kept():
    long = (
        b"def f(\n    a,\n    b,\n"
        + b"".join(b"    p%d=1,\n" % i for i in range(80))
        + b"):\n    pass\n"
    )
    found = symbols.outline("python", long)
    signature = found.definitions[0].signature
    assert signature.startswith("def f(\n    a,\n    b,\n")
    assert len(signature) <= symbols.SIGNATURE_CHARS + 1 and signature.endswith("…")


def test_broken_file_still_yields_what_parses():
    found = symbols.outline(
        "python", b"def ok(x):\n    return x\n\ndef broken(:\n    pass\n\nclass After:\n    pass\n"
    )
    names = {d.name for d in found.definitions}
    assert "ok" in names and "After" in names


def test_language_without_grammar():
    assert symbols.outline("plaintext", b"hello") is None
    assert symbols.outline("python", b"") == symbols.Outline("python", (), (), 0, frozenset())


def test_every_fixture_file_parses_in_every_language():
    seen = set()
    for path in WORKSPACE.rglob("*"):
        language_id = languages.EXTENSIONS.get(path.suffix)
        if language_id is None or not path.is_file():
            continue
        found = symbols.outline(language_id, path.read_bytes())
        assert found is not None
        seen.add(language_id)
    assert {
        "python",
        "javascript",
        "typescript",
        "typescriptreact",
        "go",
        "rust",
        "java",
        "c",
        "cpp",
    } <= seen
