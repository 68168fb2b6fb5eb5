"""Go struct literals bound to the struct's fields, as the Go compiler would: a table of
structs and literals (parsed by the real grammar), then the guard on a Go workspace."""

from __future__ import annotations

import pytest

from smalllsp import guard
from smalllsp.guard import fields as guard_fields
from smalllsp.syntax import languages
from smalllsp.workspace.index import WorkspaceIndex

POINT = "type Point struct {\n\tX int\n\tY, Z int // two at once\n\tBase\n\t*geo.Shape\n}"


def test_struct_fields_in_order_with_embedded_fields_named_by_their_type():
    assert guard_fields.struct_fields(POINT) == ("X", "Y", "Z", "Base", "Shape")
    assert guard_fields.struct_fields("type Empty struct{}") == ()
    assert guard_fields.struct_fields("type ID int") is None
    assert guard_fields.struct_fields("type Point struct {\n\tX int") is None  # clipped


def literal_of(text: str) -> guard_fields.Literal:
    source = f"package p\nfunc f() {{ v := {text}; _ = v }}\n".encode()
    tree = languages.parser("go").parse(source)
    start = source.index(text.encode())
    (found,) = guard_fields.literals(tree.root_node, start, start + len(text), source)
    return found


@pytest.mark.parametrize(
    "text, problem",
    [
        ("Point{X: 1, Y: 2}", None),
        ("Point{}", None),
        ("Point{Base: b, Shape: s}", None),
        ("Point{X: 1, W: 2}", "an unknown field W"),
        ("Point{X: 1, X: 2}", "field X given twice"),
        ("Point{1, 2, 3, b, s}", None),
        ("Point{1, 2}", "too few values (2; it has 5 fields)"),
        ("Point{1, 2, 3, 4, 5, 6}", "too many values (6; it has 5 fields)"),
        ("Point{X: 1, 2}", "a mixture of field:value and value elements"),
        ("geo.Point{X: 1, Q: 2}", "an unknown field Q"),
    ],
)
def test_literals_bind_like_go(text, problem):
    fields = guard_fields.struct_fields(POINT)
    assert guard_fields.check(fields, literal_of(text)) == problem


def test_a_slice_or_map_literal_is_no_struct():
    source = b'package p\nvar a = []int{1, 2}\nvar m = map[string]int{"a": 1}\n'
    tree = languages.parser("go").parse(source)
    assert guard_fields.literals(tree.root_node, 0, len(source), source) == []


GEO = "package geo\n\ntype Point struct {\n\tX int\n\tY int\n}\n"
MAIN = 'package main\n\nimport "example.com/app/geo"\n\nfunc main() {\n\t'


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    (root / "geo").mkdir()
    (root / "geo" / "point.go").write_text(GEO)
    (root / "main.go").write_text(MAIN + "}\n")
    built = WorkspaceIndex([root])
    built.build()
    return root, built


def judge(index, candidate: str, shown: bool = True) -> guard.Verdict:
    root, built = index
    path = str(root / "main.go")
    outline = built.outline_of(path)
    context = guard.GuardContext(
        language_id="go",
        path=path,
        head=MAIN,
        tail="\n}\n",
        head_first_line=0,
        document_names=frozenset(d.name for d in outline.definitions),
        imports="\n".join(outline.imports),
        prompt_text=GEO if shown else "",
        index=built,
    )
    return guard.judge(context, candidate)


def test_the_guard_checks_a_struct_literal_the_model_saw(index):
    assert judge(index, "p := geo.Point{X: 1, Y: 2}") == guard.Verdict(
        guard.LOCAL, bound=("Point{}",)
    )
    wrong = judge(index, "p := geo.Point{X: 1, Z: 2}")
    assert wrong.reasons == (
        "writes geo.Point{} with an unknown field Z; geo/point.go defines type Point struct { X int Y int }",
    )
    assert wrong.unbound and wrong.cross_file
    unseen = judge(index, "p := geo.Point{X: 1, Z: 2}", shown=False)
    assert unseen.reasons == ("uses Point from geo/point.go, not seen by the model",)
    assert not unseen.unbound
