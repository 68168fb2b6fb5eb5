"""Resampling that spends fewer model steps (issue 18: resampled requests within 2x greedy), and
the call sites where it used to find nothing (binds >= 0.9 on packages not looked at).

- a drawn candidate is given up as soon as what it wrote can no longer bind;
- the first answer ends at its call's ``)`` when that call does not bind (resampling replaces it);
- the bare ``)`` is a candidate the guard checks without the model: the answer when the callee
  takes no argument (``sessions.Session(``: every draw wrote ``verify=verify)``), else shown when
  no drawn candidate binds;
- a callee whose parameters are not known (jinja2's ``nodes.`` classes) takes a local candidate;
- a first answer that wrote nothing at an open call is resampled too.

The layers above the engine run for real; the model is tests/support/fake_runtime.py, which
streams each scripted answer three characters a token and asks the stop rule after each.
"""

from __future__ import annotations

import importlib

from pathlib import Path

import pytest

from smalllsp import guard, pipeline
from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.context.window import Cursor
from smalllsp.workspace.index import WorkspaceIndex
from tests.support.fake_runtime import FakeRuntime
from tests.unit.test_resampling import SYNTAX_REASON, complete
from tests.unit.test_resampling import index as index  # the richlike fixture's index

CONFIG = Config(time_budget_ms=60_000, resample_latency_factor=0, max_lines=1)
PACKAGE = {
    "__init__.py": "",
    "sessions.py": 'class Session:\n    """Takes no argument."""\n\n    def __init__(self):\n        self.open = True\n',
    "nodes.py": (
        "class Node:\n    def __init__(self, *fields, **attributes):\n        self.values = fields\n\n\n"
        "class Mixin:\n    pass\n\n\n"
        'class Call(Node, Mixin):\n    fields = ("node", "args")\n'
    ),
    "api.py": (
        "from . import nodes, sessions\n\n\n"
        "def request(method, url):\n    with sessions.Session() as session:\n        return session\n\n\n"
        "def parse(name, args):\n    return nodes.Call(name, args)\n"
    ),
}
SESSION_REASON = (
    "calls Session() with an unknown keyword verify=; sessions.py defines class Session: ()"
)
STYLE_REASON = "calls Style() with 1 positional argument (it takes 0; color, bold, italic are keyword-only); style.py defines class Style: (*, color=…, bold=…, italic=…)"


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> tuple[Path, WorkspaceIndex]:
    root = tmp_path_factory.mktemp("ws") / "pkg"
    root.mkdir()
    for name, text in PACKAGE.items():
        (root / name).write_text(text)
    built = WorkspaceIndex([root])
    built.build()
    return root, built


def at_call(package, runtime, line_start: str, config: Config = CONFIG):
    """Complete in api.py just after the ``(`` of the line that starts with ``line_start``."""
    root, index = package
    document = root / "api.py"
    lines = document.read_text().split("\n")
    row = next(i for i, line in enumerate(lines) if line.strip().startswith(line_start))
    column = lines[row].index("(") + 1
    lines[row] = lines[row][:column]
    sources = Sources(str(document), "api.py", root.name, index.outline_of(str(document)), index)
    return pipeline.generate(
        runtime, config, "python", Cursor(lines, row, column), lambda: False, sources
    )


def test_a_drawn_candidate_is_given_up_once_it_writes_a_keyword_the_callee_does_not_take(index):
    runtime = FakeRuntime(
        greedy='lexer="python")',
        sampled=['theme="x", colour=1, line_numbers=True)', 'code, "python")'],
    )
    result = complete(index, runtime)
    # 'the','me=','"x"',', c','olo','ur=','1, ': given up at the comma that settles colour=1
    assert [g.text for g in result.generations[1:]] == ['theme="x", colour=1, ', 'code, "python")']
    assert runtime.pieces[1:] == [7, 5]
    assert result.generations[1].stop_reason == "stop_rule"
    assert result.resampled == {"drawn": 2, "bound": 1, "given_up": 1, "bare": 0, "repaired": 0}
    assert [s.text for s in result.suggestions] == ['code, "python")', 'lexer="python")']


def test_more_positional_arguments_than_the_callee_takes_and_a_bare_comment_are_given_up(index):
    runtime = FakeRuntime(
        greedy='lexer="python")',
        sampled=["1, 2, 3, 4, 5, 6)", "  # type: ignore[arg-type]", 'code, "python")'],
    )
    result = complete(
        index, runtime, Config(time_budget_ms=60_000, resample_latency_factor=0, max_lines=1)
    )
    assert [g.text for g in result.generations[1:3]] == ["1, 2, 3, ", "  #"]
    assert result.resampled == {"drawn": 3, "bound": 1, "given_up": 2, "bare": 0, "repaired": 0}
    assert result.suggestions[0].text == 'code, "python")'


def test_a_candidate_that_may_still_bind_is_drawn_to_its_end(index):
    runtime = FakeRuntime(greedy='lexer="python")', sampled=['code, theme="x", lexer="c")'])
    result = complete(index, runtime)
    assert result.generations[1].text == 'code, theme="x", lexer="c")'
    assert result.resampled == {"drawn": 1, "bound": 1, "given_up": 0, "bare": 0, "repaired": 0}


def test_the_first_answer_ends_at_its_calls_parenthesis_when_resampling_will_replace_it(index):
    runtime = FakeRuntime(greedy='lexer="python") or default_syntax()', sampled=["theme=1)"] * 4)
    result = complete(index, runtime)
    assert result.generations[0].text == 'lexer="python")'
    assert result.generations[0].stop_reason == "stop_rule"
    # none binds: the first answer is the one shown, flagged with its reason, up to its ")"
    assert [s.text for s in result.suggestions] == ['lexer="python")']
    assert result.suggestions[0].verdict.reasons == (SYNTAX_REASON,)
    # a call that binds keeps its line; with resampling off nothing replaces it, so it keeps it too
    binds = complete(index, FakeRuntime(greedy='code, "c") or default_syntax()'))
    assert binds.generations[0].text == 'code, "c") or default_syntax()'
    off = complete(
        index,
        FakeRuntime(greedy='lexer="python") or default_syntax()'),
        Config(time_budget_ms=60_000, resample_latency_factor=0, resample_unbound=0),
    )
    assert off.generations[0].text == 'lexer="python") or default_syntax()'


def test_a_callee_that_takes_no_argument_gets_the_bare_parenthesis_without_drawing(package):
    runtime = FakeRuntime(greedy="verify=verify) as session:", sampled=["verify=True)"] * 4)
    result = at_call(package, runtime, "with sessions.Session(")
    assert runtime.samplings == [] and len(runtime.pieces) == 1  # the model was not asked again
    assert [s.text for s in result.suggestions] == [")", "verify=verify)"]
    assert result.suggestions[0].verdict == guard.Verdict(
        guard.LOCAL, bound=("Session()",), takes_nothing=("Session()",), resampled=True
    )
    assert result.suggestions[1].verdict.reasons == (SESSION_REASON,)
    assert result.resampled == {"drawn": 0, "bound": 0, "given_up": 0, "bare": 1, "repaired": 0}


def test_a_first_answer_that_wrote_nothing_at_an_open_call_is_resampled_too(package):
    result = at_call(package, FakeRuntime(greedy=""), "with sessions.Session(")
    assert [s.text for s in result.suggestions] == [")"]
    assert result.dropped == {"apply_cutters": 1}
    assert result.resampled == {"drawn": 0, "bound": 0, "given_up": 0, "bare": 1, "repaired": 0}
    # and the model is asked again where the callee takes arguments
    runtime = FakeRuntime(greedy="", sampled=["name, args)"])
    drawn = at_call(package, runtime, "return nodes.Call(")
    assert [s.text for s in drawn.suggestions] == ["name, args)"]


def test_the_bare_parenthesis_is_shown_when_no_drawn_candidate_binds(index):
    runtime = FakeRuntime(greedy="1)", sampled=["2)", "hue=1, bold=2)", "bold=1, 2)", "4)"])
    result = complete(index, runtime, typed="style = Style(")
    assert len(runtime.pieces) == 5  # every candidate drawn: Style takes arguments
    assert [s.text for s in result.suggestions] == [")", "1)"]
    assert result.suggestions[0].verdict == guard.Verdict(
        guard.LOCAL, bound=("Style()",), resampled=True
    )
    assert result.suggestions[1].verdict.reasons == (STYLE_REASON,)
    assert result.resampled == {"drawn": 4, "bound": 0, "given_up": 1, "bare": 1, "repaired": 0}
    # a drawn candidate that binds comes before it
    found = complete(
        index, FakeRuntime(greedy="1)", sampled=["bold=True)"]), typed="style = Style("
    )
    assert [s.text for s in found.suggestions] == ["bold=True)", "1)"]


def test_a_callee_whose_parameters_are_not_known_takes_a_local_candidate(package):
    """jinja2's nodes.Call(: the greedy answer was a comment, and every drawn candidate was
    dropped for want of a check the guard cannot make (several bases: constructor unknown)."""
    runtime = FakeRuntime(greedy="  # type: ignore", sampled=["name, args)", "never drawn)"])
    result = at_call(package, runtime, "return nodes.Call(")
    assert [s.text for s in result.suggestions] == ["name, args)"]
    verdict = result.suggestions[0].verdict
    assert verdict.resampled and verdict.kind == guard.LOCAL and verdict.bound == ()
    assert verdict.unchecked == (
        "Call() from nodes.py: its parameters are not known, the arguments were not checked",
    )
    assert result.resampled == {"drawn": 1, "bound": 1, "given_up": 0, "bare": 0, "repaired": 0}


def test_a_first_answer_that_is_a_comment_after_the_parenthesis_ends_at_once(index):
    """It is dropped whatever follows; on requests' call sites such comments ran to 21 tokens."""
    greedy = "  # type: ignore[arg-type]  # pyright widens tuple from Callable"
    runtime = FakeRuntime(greedy=greedy, sampled=['code, "python")'])
    result = complete(index, runtime, CONFIG)
    assert result.generations[0].text == "  #" and runtime.pieces[0] == 1
    assert result.dropped == {"drop_comment_in_open_call": 1}
    assert [s.text for s in result.suggestions] == ['code, "python")']
    # with resampling off it is dropped all the same, one token in
    off = FakeRuntime(greedy=greedy)
    nothing = complete(
        index,
        off,
        Config(time_budget_ms=60_000, resample_latency_factor=0, max_lines=1, resample_unbound=0),
    )
    assert nothing.suggestions == () and off.pieces == [1]
    # where the answer may take more lines, the arguments may follow on the next one
    lines = FakeRuntime(greedy="  # the code\n            code, 'python')")
    kept = complete(
        index,
        lines,
        Config(time_budget_ms=60_000, resample_latency_factor=0, max_lines=3, resample_unbound=0),
    )
    assert kept.generations[0].text.startswith("  # the code\n")


def test_nothing_is_drawn_where_the_callee_was_not_shown(index):
    """With the global section off every candidate calls a callee the model did not see: none
    can be local, so a comment after the parenthesis is not drawn again (it drew 4 before)."""
    runtime = FakeRuntime(greedy="  # type: ignore", sampled=['code, "python")'] * 4)
    result = complete(
        index,
        runtime,
        Config(time_budget_ms=60_000, resample_latency_factor=0, max_lines=1, global_tokens=0),
    )
    assert runtime.samplings == [] and result.resampled is None and result.suggestions == ()


def test_the_first_answer_is_asked_not_to_begin_with_a_comment_only_inside_a_one_line_call(index):
    """At an open call's ``(`` a one-line answer that begins with a comment is dropped, so the
    engine is asked for the best answer that does not (``avoid_start``); elsewhere it is not."""
    inside = FakeRuntime(greedy='code, "python")')
    complete(index, inside, CONFIG)
    assert inside.avoid_starts == ["#"]
    several_lines = FakeRuntime(greedy='code, "python")')
    complete(
        index, several_lines, Config(time_budget_ms=60_000, resample_latency_factor=0, max_lines=3)
    )
    assert several_lines.avoid_starts == [""]
    outside = FakeRuntime(greedy="1")
    complete(index, outside, CONFIG, typed="syntax = ")
    assert outside.avoid_starts == [""]


def test_a_draw_is_out_of_time_before_the_step_that_would_end_past_the_deadline(monkeypatch):
    generate = importlib.import_module("smalllsp.pipeline.generate")  # the module, not the function
    clock = iter([5.0, 7.0, 8.0, 8.5])
    monkeypatch.setattr(generate.time, "monotonic", lambda: next(clock))
    out = generate._out_of_time(10.0)
    # 5: no step measured yet; 7: a 2 s step ends at 9; 8: a 1 s step ends at 9;
    # 8.5: half a second ends at 9, still in time
    assert [out(), out(), out(), out()] == [False, False, False, False]
    clock = iter([5.0, 8.0, 9.5])
    out = generate._out_of_time(10.0)
    # 8: a 3 s step would end at 11, past 10
    assert [out(), out()] == [False, True]
