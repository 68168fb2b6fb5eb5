"""A call still being written, read as a call that cannot grow (smalllsp.guard.partial).

Resampling gives up on a candidate once what it wrote can no longer bind;
these are the exact texts the guard is then asked to judge, and the guard's
answer on them with a real signature (the richlike fixture's Syntax).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.guard import partial
from smalllsp.pipeline.generate import judge
from smalllsp.workspace.index import WorkspaceIndex
from tests.support.fake_runtime import FakeRuntime, context_at

REST = partial.SPREAD
ROOT = Path(__file__).parent.parent / "fixtures" / "callee_workspace" / "richlike"
DOCUMENT = ROOT / "table.py"


@pytest.mark.parametrize(
    "written, probe",
    [
        ("", None),
        ("code", None),  # one argument being written: it may still become `code=...`
        ("code, ", f"code, {REST})"),
        ("code, lexer, th", f"code, lexer, {REST})"),
        ('code, theme="x', f"code, theme=None, {REST})"),  # a keyword settles with its value
        ("code, theme=", f"code, {REST})"),  # not yet: `theme==` would be a comparison
        ("code, f(a, b", f"code, {REST})"),  # the commas of an inner call are its own
        ('(", "', None),  # a comma inside brackets and a string: nothing settled
        ('", ", x, ', f'", ", x, {REST})'),  # the first comma is a string's
        ("code, lexer)", None),  # closed: the whole candidate is judged as it is
        ("code, # the lexer", None),  # a comment hides the rest of the line
    ],
)
def test_what_is_settled_of_a_call_being_written(written, probe):
    assert partial.probe(written) == probe


def test_a_comment_after_the_parenthesis_is_all_that_was_written():
    assert partial.comment_only("  # type: ignore")
    assert not partial.comment_only("code  # why")


@pytest.fixture(scope="module")
def index() -> WorkspaceIndex:
    built = WorkspaceIndex([ROOT])
    built.build()
    return built


def test_the_guard_says_which_settled_calls_can_no_longer_bind(index):
    lines = DOCUMENT.read_text()
    marked = lines.replace("        return width", "        syntax = Syntax(█")
    sources = Sources(str(DOCUMENT), "table.py", ROOT.name, index.outline_of(str(DOCUMENT)), index)
    ctx = context_at(marked, config=Config(), sources=sources, runtime=FakeRuntime())

    def cannot_bind(written: str) -> bool:
        probe = partial.probe(written)
        assert probe is not None
        return judge(ctx, probe).cross_file

    assert not cannot_bind("code, ")  # lexer may still come
    assert not cannot_bind('code, "python", theme="x", ')
    assert cannot_bind("code, lexer, 3, ")  # Syntax takes 2 positional arguments
    assert cannot_bind('code, colour="red", ')  # no such keyword, and no **kwargs
    assert cannot_bind("code, code=1, ")  # code given twice
    assert not cannot_bind("code, line_numbers=True")
