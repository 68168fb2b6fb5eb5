"""Call-site context: the callee's definition comes first in the global section."""

from __future__ import annotations

from pathlib import Path

import pytest

from smalllsp import completion
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
    planned = completion.plan(runtime(fim) if fim else runtime(), config, "python", cursor, sources)
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


@pytest.mark.parametrize("typed", ["label = fs.decimal(", "label = filesize.decimal(size, ", "label = decimal(1, "])
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
    assert first(section_at(index, "len(code), ", above="syntax = Syntax(\n    code,"))[:2] == ("callee", "syntax.py")


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
