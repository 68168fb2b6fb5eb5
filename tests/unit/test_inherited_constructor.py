"""A class with no constructor of its own is called as the class it inherits from:
resolve.constructor follows the base through the subclass file's imports, the
guard binds calls against it, and the call-site context shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from smalllsp import guard
from smalllsp.context.global_section import render_callee
from smalllsp.syntax.symbols import Parameters
from smalllsp.workspace import constructors
from smalllsp.workspace.index import WorkspaceIndex

BASE = """\
class Base:
    def __init__(self, name, *, width=None):
        self.name = name


class Plain:
    def render(self):
        return 1
"""
CHILD = '''\
import abc

from . import base as b
from .base import Base
from external import Outside


class Child(Base):
    """A child."""

    def render(self):
        return self.name


class Grand(Child):
    pass


class Aliased(b.Base):
    pass


class Generic_(Base, metaclass=abc.ABCMeta):
    pass


class Mixed(Base, b.Plain):
    pass


class Fields(Base):
    x: int
    y: str = "a"


class Shared(Base):
    highlights: ClassVar[list] = []
    style: typing.ClassVar[str] = ""


class Magic(Base, metaclass=Registry):
    pass


class FromOutside(Outside):
    pass


class ParseError(ValueError):
    pass


class Local(Grand):
    size = 3
'''
USER = "from .child import Child, Grand, Aliased, Mixed, Fields, ParseError, Local\n"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> tuple[Path, WorkspaceIndex]:
    root = tmp_path_factory.mktemp("pkg")
    (root / "__init__.py").write_text("")
    (root / "base.py").write_text(BASE)
    (root / "child.py").write_text(CHILD)
    (root / "user.py").write_text(USER)
    index = WorkspaceIndex([root])
    index.build()
    return root, index


BASE_PARAMETERS = Parameters(("name", "width"), 1, False, False, 0, 1, ("width",))


def constructor_of(index: WorkspaceIndex, root: Path, name: str):
    (symbol,) = [s for s in index.definitions(name) if s.path == str(root / "child.py")]
    return constructors.constructor(index, symbol)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Child", (BASE_PARAMETERS, "Base in base.py")),
        ("Grand", (BASE_PARAMETERS, "Base in base.py")),  # two classes up
        ("Local", (BASE_PARAMETERS, "Base in base.py")),  # a base of the same file
        ("Aliased", (BASE_PARAMETERS, "Base in base.py")),  # through a module alias
        ("Generic_", (BASE_PARAMETERS, "Base in base.py")),  # a metaclass that changes nothing
        ("ParseError", (Parameters((), 0, True, False), "the builtin ValueError")),
        ("Mixed", None),  # two bases: which constructor wins is the MRO's business
        ("Fields", None),  # annotated fields: a dataclass decorator would add them
        ("Shared", (BASE_PARAMETERS, "Base in base.py")),  # class variables are no fields
        ("Magic", None),  # a metaclass may change the call
        ("FromOutside", None),  # a base from outside the workspace
    ],
)
def test_constructor_follows_the_base(workspace, name, expected):
    root, index = workspace
    assert constructor_of(index, root, name) == expected


def judge(index: WorkspaceIndex, root: Path, candidate: str) -> guard.Verdict:
    path = str(root / "user.py")
    outline = index.outline_of(path)
    context = guard.GuardContext(
        language_id="python",
        path=path,
        head=USER,
        tail="\n",
        head_first_line=0,
        document_names=frozenset(),
        imports="\n".join(outline.imports),
        prompt_text=CHILD + BASE,
        index=index,
    )
    return guard.judge(context, candidate)


def test_the_guard_binds_calls_against_the_inherited_constructor(workspace):
    root, index = workspace
    assert judge(index, root, 'x = Grand("a", width=3)') == guard.Verdict(
        guard.LOCAL, bound=("Grand()",)
    )
    found = judge(index, root, 'x = Child("a", 80)')
    assert found.reasons == (
        "calls Child() with 2 positional arguments (it takes 1; width is keyword-only); "
        "child.py defines class Child(Base): (name, *, width=…, from Base in base.py)",
    )
    assert found.unbound
    assert judge(index, root, "raise ParseError(1, 2)") == guard.Verdict(
        guard.LOCAL, bound=("ParseError()",)
    )
    assert judge(index, root, "raise ParseError(line=1)").reasons == (
        "calls ParseError() with an unknown keyword line=; child.py defines "
        "class ParseError(ValueError): (*args, from the builtin ValueError)",
    )
    mixed = judge(index, root, "x = Mixed(1, 2, 3)")
    assert mixed.kind == guard.LOCAL and mixed.unchecked == (
        "Mixed() from child.py: its parameters are not known, the arguments were not checked",
    )


def test_the_call_site_context_shows_the_inherited_constructor(workspace):
    root, index = workspace
    (child,) = [s for s in index.definitions("Child") if s.path == str(root / "child.py")]
    assert render_callee(index, child) == (
        "class Child(Base):\n"
        '    """A child."""\n'
        "    # called as Child(name, *, width=…), from Base in base.py\n"
    )
