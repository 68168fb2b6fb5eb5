"""Keyword repair (issue 18): an unknown keyword renamed to the parameter it nearly names.

The binder offers the renames from the signature (``binder.renames``); the
pipeline writes them into the candidate (``repair.renamed``) and shows the
result only when the guard then finds its calls bind (``repair.repaired``,
and through the whole pipeline in test_resampling's richlike package).
"""

from __future__ import annotations

import pytest

from smalllsp import guard
from smalllsp.config import Config
from smalllsp.guard.binder import renames
from smalllsp.pipeline import repair
from tests.support.fake_runtime import FakeRuntime
from tests.unit.test_binder import call_of, parameters_of
from tests.unit.test_resampling import complete
from tests.unit.test_resampling import index as index  # the richlike fixture's index

SIGNATURES = {
    "echo": "def echo(message=None, file=None, nl=True, err=False, color=None):\n    pass\n",
    "box": "def box(width, height, *, border_style=None, fill=' '):\n    pass\n",
    "sized": "def sized(total_width, total_height):\n    pass\n",
    "bounds": "def bounds(max_width, min_width):\n    pass\n",
    "posonly": "def p(value, /, name=None):\n    pass\n",
    "kwargs": "def k(a, **options):\n    pass\n",
    "replace": "def r(replace=''):\n    pass\n",
}
CASES = [
    # a made-up keyword sharing a word with the parameter the model meant (click's echo)
    ("echo", "echo(text, terminal_color=color)", (("terminal_color", "color"),)),
    ("echo", "echo(text, autodetect_color=color)", (("autodetect_color", "color"),)),
    # a misspelling
    ("echo", "echo(text, colour=color)", (("colour", "color"),)),
    # the parameter already filled, by position or by keyword: nothing left to mean
    ("echo", "echo(text, None, True, False, None, terminal_color=c)", ()),
    ("echo", "echo(text, color=c, terminal_color=c)", ()),
    # keyword-only parameters are meant as readily as the others
    ("box", "box(1, 2, style='red')", (("style", "border_style"),)),
    ("sized", "sized(width=1, height=2)", (("width", "total_width"), ("height", "total_height"))),
    # two parameters share the word, spelt as alike: a tie means nothing
    ("bounds", "bounds(width=1)", ()),
    # a positional-only parameter cannot be passed by keyword: not offered
    ("posonly", "p(1, value_name='x')", (("value_name", "name"),)),
    ("posonly", "p(values=1)", ()),
    # **kwargs takes any keyword: none is unknown
    ("kwargs", "k(1, colour=2)", ()),
    # nothing alike: tqdm's FormatReplace(percentage=0) is not a misspelt replace=
    ("replace", "r(percentage=0)", ()),
    # each parameter is meant at most once
    ("echo", "echo(text, fg_color=1, bg_color=2)", (("fg_color", "color"),)),
]


@pytest.mark.parametrize(("signature", "call", "expected"), CASES, ids=lambda v: str(v))
def test_the_binder_offers_the_parameter_an_unknown_keyword_nearly_names(signature, call, expected):
    name = call.split("(", 1)[0]
    parameters = parameters_of("python", SIGNATURES[signature], name)
    assert renames(parameters, call_of("python", call)) == expected


def test_renamed_rewrites_only_keyword_arguments_outside_strings():
    renames_ = [("terminal_color", "color")]
    assert repair.renamed("terminal_color=color)", renames_) == "color=color)"
    assert repair.renamed("text, terminal_color = c)", renames_) == "text, color = c)"
    assert repair.renamed("f(terminal_color=1))", renames_) == "f(color=1))"
    # not a keyword argument: a comparison, a string, a longer name, a value
    assert repair.renamed("terminal_color == 1)", renames_) is None
    assert repair.renamed('"terminal_color=1")', renames_) is None
    assert repair.renamed("x, my_terminal_color=1)", renames_) is None
    assert repair.renamed("x=terminal_color)", renames_) is None
    # every place it is written, the rest of the text as it was
    assert (
        repair.renamed("a, terminal_color=1, b=f(terminal_color=2))", renames_)
        == "a, color=1, b=f(color=2))"
    )


def test_repaired_shows_a_renamed_candidate_only_when_the_guard_then_finds_it_binds():
    judged_texts = []
    bound = guard.Verdict(guard.LOCAL, bound=("echo()",))
    unbound = guard.Verdict(
        guard.CROSS_FILE, ("calls echo() with an unknown keyword terminal_color=",), unbound=True
    )
    verdicts = {
        "plain)": guard.Verdict(guard.CROSS_FILE, ("uses x",)),
        "terminal_color=c)": dataclasses_replace(unbound, renames=(("terminal_color", "color"),)),
        "color=c)": bound,
        "fg=c)": dataclasses_replace(unbound, renames=(("fg", "fill"),)),
        "fill=c)": unbound,  # renamed, but still does not bind: not shown
    }

    def judged(text):
        judged_texts.append(text)
        return verdicts[text]

    text, verdict = repair.repaired(["plain)", "terminal_color=c)"], judged)
    assert text == "color=c)"
    assert verdict == dataclasses_replace(
        bound, resampled=True, repaired=("terminal_color= → color=",)
    )
    assert verdict.as_dict()["repaired"] == ["terminal_color= → color="]
    assert judged_texts == ["plain)", "terminal_color=c)", "color=c)"]
    assert repair.repaired(["fg=c)"], judged) is None


def dataclasses_replace(verdict, **changes):
    import dataclasses

    return dataclasses.replace(verdict, **changes)


def test_a_first_answer_with_a_made_up_keyword_is_shown_renamed_and_nothing_is_drawn(index):
    runtime = FakeRuntime(
        greedy='code, "python", show_line_numbers=True)', sampled=["never drawn)"] * 4
    )
    result = complete(index, runtime)
    assert [g.text for g in result.generations] == ['code, "python", show_line_numbers=True)']
    assert [s.text for s in result.suggestions] == [
        'code, "python", line_numbers=True)',
        'code, "python", show_line_numbers=True)',
    ]
    shown = result.suggestions[0].verdict
    assert shown == guard.Verdict(
        guard.LOCAL,
        bound=("Syntax()",),
        resampled=True,
        repaired=("show_line_numbers= → line_numbers=",),
    )
    assert result.suggestions[1].verdict.unbound
    assert result.resampled == {"drawn": 0, "bound": 0, "given_up": 0, "bare": 0, "repaired": 1}


def test_a_drawn_candidate_is_repaired_when_none_binds_as_drawn(index):
    # the first answer leaves out code: renaming cannot mend it, so candidates are drawn
    runtime = FakeRuntime(greedy='lexr="c")', sampled=['code, "c", themes="x")'])
    result = complete(
        index, runtime, Config(time_budget_ms=60_000, resample_latency_factor=0, resample_unbound=1)
    )
    assert [g.text for g in result.generations] == ['lexr="c")', 'code, "c", themes="x")']
    # themes= is spelt nearly as theme= (0.91): the drawn candidate is not given up at it, and
    # renamed, it binds
    assert result.suggestions[0].text == 'code, "c", theme="x")'
    assert result.suggestions[0].verdict.repaired == ("themes= → theme=",)
    assert result.resampled == {"drawn": 1, "bound": 0, "given_up": 0, "bare": 0, "repaired": 1}


def test_a_rename_that_still_does_not_bind_is_not_shown(index):
    runtime = FakeRuntime(greedy='lexr="c")', sampled=["zzz=1)"])
    result = complete(
        index, runtime, Config(time_budget_ms=60_000, resample_latency_factor=0, resample_unbound=1)
    )
    assert [s.text for s in result.suggestions] == ['lexr="c")']
    assert result.suggestions[0].verdict.unbound
    assert result.resampled == {"drawn": 1, "bound": 0, "given_up": 0, "bare": 0, "repaired": 0}


# Binds (Syntax takes code, lexer, then theme= and line_numbers=), and so does every part of it
# past "code, [" read as if closed there: 16 pieces, the most a resampled candidate may write here
# (twice the first answer's, at least RESAMPLE_MIN_TOKENS).
LONG = "code, [" + "1, " * 13 + "])"
assert len(LONG) == 16 * 3


def test_resampling_ends_once_the_request_took_the_latency_factor_times_its_first_answer(index):
    def slow() -> FakeRuntime:
        # the first answer takes 5 pieces (0.5 s); the drawn one would take 16 (1.6 s)
        return FakeRuntime(greedy='lexer="python")', sampled=[LONG], seconds_per_token=0.1)

    config = Config(time_budget_ms=60_000, resample_unbound=1)
    bounded = slow()
    result = complete(index, bounded, config)  # the default factor, 2
    assert bounded.pieces[0] == 5 and bounded.pieces[1] < 16
    assert result.resampled == {"drawn": 1, "bound": 0, "given_up": 1, "bare": 0, "repaired": 0}
    # cut short, it is not shown, though it binds read as if closed where it was cut
    assert [s.text for s in result.suggestions] == ['lexer="python")']
    cut = result.generations[1].text
    assert LONG.startswith(cut) and len(cut) > len("code, [")
    as_first = complete(
        index, FakeRuntime(greedy=cut), dataclasses_replace(config, resample_unbound=0)
    )
    assert as_first.suggestions[0].verdict.bound == ("Syntax()",)
    # 0: only time_budget_ms bounds it, and the long candidate is drawn to its end
    unbounded = slow()
    result = complete(index, unbounded, dataclasses_replace(config, resample_latency_factor=0))
    assert unbounded.pieces == [5, 16] and result.suggestions[0].text == LONG
    # 1: no time for a draw at all
    none = slow()
    result = complete(index, none, dataclasses_replace(config, resample_latency_factor=1))
    assert none.samplings == [] and result.resampled is None
