"""The guard on the misses seen on real code, in a package laid out like one
(tests/fixtures/callee_workspace/richlike, the workspace folder being the
package itself): each case completes a line of richlike/table.py, with the
workspace's definitions shown to the model (so the arguments are what is
checked) or not, and the exact verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from smalllsp import guard
from smalllsp.workspace.index import WorkspaceIndex

ROOT = Path(__file__).parent.parent / "fixtures" / "callee_workspace" / "richlike"
DOCUMENT = ROOT / "table.py"


@pytest.fixture(scope="module")
def index() -> WorkspaceIndex:
    built = WorkspaceIndex([ROOT])
    built.build()
    return built


def everything_shown(index: WorkspaceIndex) -> str:
    """The first line of every definition in the workspace: as if the prompt showed them all."""
    return "\n".join(
        d.signature.split("\n", 1)[0]
        for path in index.paths()
        for d in index.outline_of(path).definitions
    )


def verdict(
    index: WorkspaceIndex, candidate: str, *, shown: bool = True, typed: str = "", extra: str = ""
) -> guard.Verdict:
    """The verdict on ``candidate`` written at the end of Table.render's body
    (after ``typed`` on that line, below ``extra`` lines)."""
    text = DOCUMENT.read_text()
    head_end = text.index("        return width")
    head = (
        text[:head_end]
        + "".join(f"        {line}\n" for line in extra.splitlines())
        + "        "
        + typed
    )
    outline = index.outline_of(str(DOCUMENT))
    context = guard.GuardContext(
        language_id="python",
        path=str(DOCUMENT),
        head=head,
        tail="\n        return width\n",
        head_first_line=0,
        document_names=frozenset(d.name for d in outline.definitions),
        imports="\n".join(outline.imports),
        prompt_text=everything_shown(index) if shown else "",
        index=index,
    )
    return guard.judge(context, candidate)


def bound(*calls: str) -> guard.Verdict:
    """A local verdict whose workspace calls all bound."""
    return guard.Verdict(guard.LOCAL, bound=calls)


def test_keyword_only_constructor_parameters_are_checked(index):
    found = verdict(index, "console = Console(1)")
    assert found.kind == guard.CROSS_FILE
    assert found.reasons == (
        "calls Console() with 1 positional argument (it takes 0; color_system, width, record are keyword-only); "
        "console.py defines class Console: (*, color_system=…, width=…, record=…)",
    )
    assert verdict(index, "console = Console(width=80)") == bound("Console()")
    style = verdict(index, "style = Style(0)")
    assert style.reasons == (
        "calls Style() with 1 positional argument (it takes 0; color, bold, italic are keyword-only); "
        "style.py defines class Style: (*, color=…, bold=…, italic=…)",
    )


def test_named_tuple_fields_are_the_constructor(index):
    assert verdict(index, "m = Measurement(max=3)").reasons == (
        "calls Measurement() with an unknown keyword max=; measure.py defines class Measurement(NamedTuple): "
        "(minimum, maximum)",
    )
    assert verdict(index, "r = Region(0, 0)").reasons == (
        "calls Region() with no argument for width; region.py defines class Region(NamedTuple): (x, y, width, height)",
    )
    assert verdict(index, "r = Region(0, 0, 10, 2)") == bound("Region()")


def test_an_unclosed_run_on_call_is_still_checked(index):
    run_on = ", ".join(str(i) for i in range(1, 36))
    found = verdict(index, f"syntax = Syntax({run_on}")
    assert found.reasons == (
        "calls Syntax() with 35 positional arguments (it takes 2; theme, line_numbers are keyword-only); "
        "syntax.py defines class Syntax: (code, lexer, *, theme=…, line_numbers=…)",
    )
    # the user typed the call's opening; the candidate writes only the run-on arguments
    assert verdict(index, run_on, typed="syntax = Syntax(").reasons == found.reasons


def test_definitions_inside_top_level_if_and_try_blocks_are_indexed(index):
    assert [s.relpath for s in index.definitions("detect_legacy")] == ["console.py", "console.py"]
    assert verdict(
        index, "legacy = detect_legacy(console)", extra="from .console import detect_legacy"
    ).reasons == (
        "calls detect_legacy() with no argument for strict; console.py defines def detect_legacy(console, strict):",
    )
    assert verdict(
        index, "size = terminal_size()", extra="from .console import terminal_size", shown=False
    ).reasons == ("uses terminal_size() from console.py, not seen by the model",)


def test_attribute_names_are_not_matched_against_unrelated_definitions(index):
    # markup.py defines a function bold(); StyleType.bold is an attribute, not that function
    assert verdict(index, "flag = StyleType.bold", shown=False).reasons == (
        "uses StyleType from style.py, not seen by the model",
    )
    assert verdict(index, "flag = StyleType.bold") == guard.LOCAL_VERDICT
    assert verdict(index, "flag = self.bold", shown=False) == guard.LOCAL_VERDICT
    # nor is a keyword argument's name
    assert verdict(index, "style = Style(bold=True)", shown=True) == bound("Style()")


def test_print_imported_from_a_workspace_module_is_not_the_builtin(index):
    found = verdict(index, 'print("x", colour=2)')
    assert found.reasons == (
        "calls print() with an unknown keyword colour=; _print.py defines "
        'def print(*objects, sep=" ", end="\\n", file=None, flush=False):',
    )
    assert verdict(index, 'print("x", "y", sep="")') == bound("print()")
    assert verdict(index, 'print("x")', shown=False).reasons == (
        "uses print() from _print.py, not seen by the model",
    )


def test_module_aliases_lead_to_the_module(index):
    assert verdict(index, "label = fs.decimal(size, 2)").reasons == (
        "calls decimal() with 2 positional arguments (it takes 1; precision, separator are keyword-only); "
        'filesize.py defines def decimal(size, *, precision=1, separator=" "):',
    )
    assert verdict(index, "label = filesize.decimal(size, precision=2)") == bound("decimal()")
    assert verdict(index, "label = filesize.decimal(size, precision=2)", shown=False).reasons == (
        "uses decimal() from filesize.py, not seen by the model",
    )


def test_a_method_through_an_instance_of_a_known_class(index):
    # Logger.log (imported too) takes anything, so without the receiver's class nothing can be said
    assert verdict(index, "console.log(1, foo=2)") == bound("log()")
    typed = verdict(index, "c.log(1, foo=2)", extra="c = Console()")
    assert typed.reasons == (
        'calls log() with an unknown keyword foo=; console.py defines def log(self, *objects, sep=" ", emoji=None):',
    )
    assert verdict(index, "c.rule('x', '=')", extra="c = Console()").reasons == (
        "calls rule() with 2 positional arguments (it takes 1; characters is keyword-only); "
        'console.py defines def rule(self, title="", *, characters="-"):',
    )


def test_calls_that_cannot_be_checked_say_so(index):
    missing = verdict(index, "thing = Missing(1)")
    assert missing.kind == guard.LOCAL
    assert missing.unchecked == (
        "Missing() is imported from .console, where the index finds no definition of it",
    )
    assert missing.as_dict() == {
        "verdict": "local",
        "reasons": [],
        "unchecked": list(missing.unchecked),
    }
    inherited = verdict(index, "panel = Panel(1, 2)")
    assert inherited.kind == guard.LOCAL
    assert inherited.unchecked == (
        "Panel() from panel.py: its parameters are not known, the arguments were not checked",
    )
    no_method = verdict(index, "c.export_text(1)", extra="c = Console()")
    assert no_method.unchecked == (
        "c.export_text(): Console in console.py defines no export_text (inherited?), not checked",
    )
    assert verdict(index, "console = Console(width=80)").checked


def test_a_bare_name_is_not_a_member_of_a_class_elsewhere(index):
    # Region's field `height` is no free variable of this file
    assert verdict(index, "area = width * height", shown=False) == guard.LOCAL_VERDICT
