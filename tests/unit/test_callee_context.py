"""Call-site context: the callee's definition comes first in the global section."""

from __future__ import annotations

from pathlib import Path

import pytest

from smalllsp import pipeline
from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.context.window import Cursor
from smalllsp.engine.fim import TEMPLATES, FimTokens
from smalllsp.workspace.index import WorkspaceIndex
from tests.unit.test_global_section import runtime

ROOT = Path(__file__).parent.parent / "fixtures" / "callee_workspace" / "richlike"
DOCUMENT = ROOT / "table.py"
DEEPSEEK = FimTokens(TEMPLATES[1], 1, 2, 3, frozenset())


@pytest.fixture(scope="module")
def index() -> WorkspaceIndex:
    built = WorkspaceIndex([ROOT])
    built.build()
    return built


def section_at(index, typed: str, above: str = "", config: Config = Config(), fim=None):
    """The global section with ``typed`` written at the end of Table.render (below ``above``)."""
    lines = DOCUMENT.read_text().split("\n")
    row = next(i for i, line in enumerate(lines) if line.strip() == "return width")
    new = ["        " + line for line in above.split("\n")] if above else []
    lines[row:row] = new
    row += len(new)
    lines[row] = "        " + typed
    cursor = Cursor(lines, row, len(lines[row]))
    sources = Sources(str(DOCUMENT), "table.py", ROOT.name, index.outline_of(str(DOCUMENT)), index)
    planned = pipeline.plan(runtime(fim) if fim else runtime(), config, "python", cursor, sources)
    return planned.prompt.section


def first(section):
    block = section.blocks[0]
    return block.kind, block.relpath, block.text


def test_a_class_shows_its_constructor_and_doc(index):
    assert first(section_at(index, "console = Console(")) == (
        "callee",
        "console.py",
        'class Console:\n    """A high level console interface."""\n'
        '    def __init__(self, *, color_system="auto", width=None, record=False):\n        ...\n',
    )


def test_a_named_tuple_shows_the_parameters_its_fields_make(index):
    assert first(section_at(index, "m = Measurement(")) == (
        "callee",
        "measure.py",
        'class Measurement(NamedTuple):\n    """The range of widths a renderable takes."""\n'
        "    # called as Measurement(minimum, maximum)\n",
    )


@pytest.mark.parametrize(
    "typed", ["label = fs.decimal(", "label = filesize.decimal(size, ", "label = decimal(1, "]
)
def test_module_aliases_submodules_and_star_reexports_lead_to_the_function(index, typed):
    above = "from .compat import decimal" if typed.startswith("label = decimal") else ""
    assert first(section_at(index, typed, above)) == (
        "callee",
        "filesize.py",
        'def decimal(size, *, precision=1, separator=" "):\n'
        '    """Convert a file size in bytes to a decimal string (kB, MB, ...)."""\n',
    )


def test_print_reexported_by_the_package(index):
    kind, relpath, text = first(section_at(index, 'print("total", '))
    assert (kind, relpath) == ("callee", "_print.py")
    assert text.startswith('def print(*objects, sep=" ", end="\\n", file=None, flush=False):\n')


def test_a_method_through_an_instance_of_a_known_class(index):
    assert first(section_at(index, "c.rule(", above="c = Console()")) == (
        "callee",
        "console.py",
        'class Console:\n    def rule(self, title="", *, characters="-"):\n'
        '        """Draw a line with an optional centered title."""\n',
    )


def test_a_call_over_several_lines_and_a_builtin_nested_inside(index):
    assert first(section_at(index, "len(code), ", above="syntax = Syntax(\n    code,"))[:2] == (
        "callee",
        "syntax.py",
    )
    assert first(section_at(index, "code, len(", above="syntax = Syntax("))[:2] == (
        "callee",
        "syntax.py",
    )


def test_no_callee_outside_a_call_or_for_a_closed_one(index):
    for typed in ("console = Console()", "x = ", "x = len(", "def helper(a, "):
        assert all(b.kind != "callee" for b in section_at(index, typed).blocks), typed


def test_the_callee_comes_first_whatever_else_competes_for_the_budget(index):
    roomy = section_at(index, "r = Region(")
    assert [b.kind for b in roomy.blocks][:2] == ["callee", "definitions"]
    assert ("region.py", "Region") in roomy.shown
    # a budget too small for anything but the callee
    tight = section_at(index, "r = Region(", config=Config(global_tokens=48))
    assert [b.kind for b in tight.blocks] == ["callee"]
    assert tight.blocks[0].text.startswith("class Region(NamedTuple):\n")
    # the callee is not shown a second time among the definitions
    assert sum(b.text.count("class Region(") for b in roomy.blocks) == 1


def test_without_a_repository_layout_the_callee_is_the_first_comment(index):
    section = section_at(index, "console = Console(", fim=DEEPSEEK)
    assert section.blocks[0].kind == "callee"
    assert section.lead == ()


GUARD_ROOT = Path(__file__).parent.parent / "fixtures" / "guard_workspace"


@pytest.fixture(scope="module")
def guard_index() -> WorkspaceIndex:
    built = WorkspaceIndex([GUARD_ROOT])
    built.build()
    return built


def other_language_section(guard_index, relpath: str, line_text: str, typed: str, language_id: str):
    path = GUARD_ROOT / relpath
    lines = path.read_text().split("\n")
    row = next(i for i, line in enumerate(lines) if line.strip() == line_text)
    indent = lines[row][: len(lines[row]) - len(lines[row].lstrip())]
    lines[row] = indent + typed
    cursor = Cursor(lines, row, len(lines[row]))
    sources = Sources(
        str(path), relpath, GUARD_ROOT.name, guard_index.outline_of(str(path)), guard_index
    )
    return pipeline.plan(runtime(), Config(), language_id, cursor, sources).prompt.section


def test_typescript_named_imports_lead_to_the_callee(guard_index):
    section = other_language_section(
        guard_index,
        "web/view.ts",
        "return label;",
        "return formatPrice(order.cents, ",
        "typescript",
    )
    assert first(section) == (
        "callee",
        "web/format.ts",
        "// Format a price in cents for display.\nexport function formatPrice(cents: number, currency?: string): string\n",
    )


def test_go_methods_through_a_field_of_a_known_struct(guard_index):
    section = other_language_section(
        guard_index, "server/handler.go", "return key, nil", "item, err := h.store.Get(", "go"
    )
    kind, relpath, text = first(section)
    assert (kind, relpath) == ("callee", "server/store.go")
    assert text.endswith("func (s *Store) Get(key string) (Item, error)\n")


def test_a_docstring_above_the_call_does_not_hide_it(index):
    above = 'def inner():\n    """Docs\n    over lines.\n    """'
    assert first(section_at(index, "    r = Region(", above=above))[:2] == ("callee", "region.py")
