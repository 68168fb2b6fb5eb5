"""False flags the guard raised on rich 15's own code (scripts/guard_on_real_code.py),
each as a case: real code binds, so none of these may be flagged."""

from __future__ import annotations

import pytest

from smalllsp import guard
from smalllsp.workspace.index import WorkspaceIndex

CELLS = """\
def cell_len(text, unicode_version="auto"):
    return _cell_len(text, unicode_version)


def _cell_len(text, unicode_version):
    return len(text)
"""
MEASURE = """\
class Measurement:
    def span(self):
        return 1
"""
CONTAINERS = """\
class Lines:
    def __init__(self, lines=()):
        self.lines = list(lines)
"""
JUPYTER = """\
def display(segments, text):
    pass
"""
HEADER = "import re\n\nfrom . import containers as types\nfrom .cells import cell_len\nfrom .containers import Lines\n\n\n"


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> WorkspaceIndex:
    root = tmp_path_factory.mktemp("richlike")
    for name, text in [
        ("__init__.py", ""),
        ("cells.py", CELLS),
        ("measure.py", MEASURE),
        ("containers.py", CONTAINERS),
        ("jupyter.py", JUPYTER),
        ("wrap.py", HEADER),
    ]:
        (root / name).write_text(text)
    built = WorkspaceIndex([root])
    built.build()
    return built


def judge(index: WorkspaceIndex, body_above: str, candidate: str) -> guard.Verdict:
    path = next(p for p in index.paths() if p.endswith("wrap.py"))
    outline = index.outline_of(path)
    shown = "\n".join(
        d.signature.split("\n", 1)[0]
        for p in index.paths()
        for d in index.outline_of(p).definitions
    )
    head = HEADER + "def divide(text, highlighter):\n" + body_above + "    "
    context = guard.GuardContext(
        language_id="python",
        path=path,
        head=head,
        tail="\n",
        head_first_line=0,
        document_names=frozenset(d.name for d in outline.definitions),
        imports="\n".join(outline.imports),
        prompt_text=shown,
        index=index,
    )
    return guard.judge(context, candidate)


@pytest.mark.parametrize(
    "above, candidate",
    [
        # a local name bound to a workspace function is not that function (_wrap.py)
        ("    _cell_len = cell_len\n", "width = _cell_len(text.rstrip())"),
        ("    _cell_len, width = cell_len, 0\n", "width = _cell_len(text)"),
        ("    for _cell_len in (cell_len,):\n        pass\n", "width = _cell_len(text)"),
        # a parameter
        ("", "text = highlighter(text, 1, 2)"),
        # an import inside the function, from outside the workspace (live.py)
        ("    from IPython.display import display\n", "display(text)"),
        # a method found by its name alone: re.Match.span, not Measurement.span (ansi.py)
        ("    match = re.match('a', text)\n", "start, end = match.span(0)"),
    ],
)
def test_real_code_is_not_flagged(index, above, candidate):
    found = judge(index, above, candidate)
    assert found.kind == guard.LOCAL, found.reasons
    assert not found.unbound


def test_a_method_found_by_name_alone_is_noted_unchecked(index):
    found = judge(index, "    match = re.match('a', text)\n", "start, end = match.span(0)")
    assert found.unchecked == (
        "match.span(): the receiver's class is not known, the arguments were not checked",
    )


def test_a_generator_argument_is_one_positional_argument(index):
    # text.py: Lines(line for line in ... if ...)
    assert judge(index, "", "lines = Lines(line for line in text if line)") == guard.Verdict(
        guard.LOCAL, bound=("Lines()",)
    )
    assert judge(index, "", "lines = Lines(line for line in text)(1)").kind == guard.LOCAL
    wrong = judge(index, "", "lines = Lines(text, (x for x in text))")
    assert wrong.reasons == (
        "calls Lines() with 2 positional arguments (it takes 1); containers.py defines "
        "class Lines: (lines=…)",
    )


def test_a_parameter_annotated_with_a_workspace_class_does_not_hide_the_class(index):
    # traceback.py: def install(*, console: Optional[Console] = None) ... Console(None, stderr=True)
    found = judge(index, "def install(*, box: Optional[Lines] = None):\n", "    x = Lines(1, 2)")
    assert found.unbound and found.reasons == (
        "calls Lines() with 2 positional arguments (it takes 1); containers.py defines "
        "class Lines: (lines=…)",
    )


def test_a_workspace_module_named_like_a_standard_one_is_the_workspaces(index):
    # click/core.py: from . import types ... types.IntRange(None, min=0)
    assert judge(index, "", "x = types.Lines(1, 2)").reasons == (
        "calls Lines() with 2 positional arguments (it takes 1); containers.py defines "
        "class Lines: (lines=…)",
    )


def test_the_workspace_function_itself_is_still_checked(index):
    assert judge(index, "", "width = cell_len(text, 1, 2)").reasons == (
        "calls cell_len() with 3 positional arguments (it takes 2); cells.py defines "
        'def cell_len(text, unicode_version="auto"):',
    )
