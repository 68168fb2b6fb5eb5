"""Each cutter on golden cases: a document with the cursor at █, what the model wrote, where it ends.

The request context is planned for real (window, scopes, the one syntax
tree) with the fake runtime's tokenizer; ``expected`` is what is left of the
text at the cutter's cut, or None when that cutter lets it run on.
"""

from __future__ import annotations

import pytest

from smalllsp.config import Config
from smalllsp.pipeline import cutters
from smalllsp.pipeline.cutters import heal, stop_predicate
from smalllsp.pipeline.generate import generate
from tests.support.fake_runtime import FakeRuntime, context_at, document_at

FUNCTION = "def area(r):\n    █\n"
RUN_ON = "return 3.14 * r * r\n\nif __name__ == '__main__':\n    print(area(2))\n"

CASES = [
    # (cutter, document, language, model text, text left at the cut or None)
    ("cut_single_line", "x = foo(█)", "python", "a, b)\nmore", "a, b)"),
    ("cut_single_line", FUNCTION, "python", "a = 1\nb = 2", None),
    ("cut_single_line", "    # compute the█\n", "python", " total\n    total = 0", " total"),
    ("cut_fence", FUNCTION, "python", "return 1\n```\nThis returns one.", "return 1"),
    ("cut_fence", FUNCTION, "python", "return 1\nx = 2", None),
    ("cut_max_lines", "█", "python", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj", "a\nb\nc\nd\ne\nf\ng\nh"),
    ("cut_max_lines", "█", "python", "a\nb", None),
    ("cut_dedent", FUNCTION, "python", RUN_ON, "return 3.14 * r * r\n"),
    (
        "cut_dedent",
        "█",
        "python",
        "    y = 1\n    return y\ndef other():",
        "    y = 1\n    return y",
    ),
    ("cut_dedent", FUNCTION, "python", "x = 1\n    y = 2", None),
    (
        "cut_next_top_level",
        "█",
        "python",
        "def f():\n    return 1\n\n\ndef g():\n    return 2",
        "def f():\n    return 1",
    ),
    ("cut_next_top_level", "█", "javascript", "function f() {\n  return 1;\n}", None),
    ("cut_next_top_level", FUNCTION, "python", RUN_ON, None),  # not at the top level
    ("cut_scope_end", FUNCTION, "python", "return r\nprint(area(1))\n", "return r"),
    ("cut_scope_end", FUNCTION, "python", "return r", None),  # mid-line: not yet
    ("cut_scope_end", FUNCTION, "python", "x = r\n    return x\n", None),  # stays inside
    ("cut_scope_end", "█", "text", "a\nb\n", None),  # no grammar
    (
        "cut_scope_end",
        "function f(a) {\n  █\n}\n",
        "javascript",
        "return a;\n}\nf(1);\n",
        "return a;\n",
    ),
]


@pytest.mark.parametrize(("name", "document", "language_id", "text", "expected"), CASES)
def test_each_cutter_ends_the_text_where_its_rule_says(name, document, language_id, text, expected):
    ctx = context_at(document, language_id)
    cut = getattr(cutters, name)(text, ctx)
    assert (text[:cut] if cut is not None else None) == expected


def test_the_earliest_cut_wins():
    ctx = context_at("█", config=Config(max_lines=3))
    assert cutters.first_cut("a\n```\nb\nc", ctx) == 1  # the fence's, before max_lines'


def test_the_stop_predicate_cuts_the_raw_text_the_engine_holds():
    # the space typed before the cursor stays out of the prompt; the model writes it again
    ctx = context_at("def area(r):\n    x = █\n")
    assert ctx.whitespace == " "
    stop_at = stop_predicate(ctx)
    assert stop_at(" r * r") is None
    raw = " r * r\n    return x\n\nprint(1)\n"
    assert raw[: stop_at(raw)] == " r * r\n    return x"  # where it leaves the function


def test_heal_removes_the_whitespace_the_user_typed_already():
    assert heal("     return 1", "    ") == " return 1"  # the model chose 5 spaces: one stays
    assert heal("    return 1", "    ") == "return 1"
    assert heal("  return 1", "    ") == "return 1"  # fewer than typed: the cursor's indent wins
    assert heal("\n    more", " ") == "\n    more"
    assert heal("abc", "") == "abc"


def test_on_a_blank_line_the_suggestion_starts_on_that_line():
    assert heal("\n    return 1", "    ", blank_line=True) == "return 1"
    assert heal("\n\nx = 1", "", blank_line=True) == "x = 1"
    assert heal("\nx = 1", "", blank_line=False) == "\nx = 1"


def test_the_engine_stops_writing_where_the_cutters_end_the_answer():
    runtime = FakeRuntime(greedy=RUN_ON + "# more and more\n" * 20)
    result = generate(runtime, Config(), "python", document_at(FUNCTION), lambda: False)
    assert result.text == "return 3.14 * r * r"
    (generation,) = result.generations
    assert generation.stop_reason == "stop_rule" and generation.text == "return 3.14 * r * r\n"
    assert runtime.pieces == [8]  # 22 characters, 3 a piece: the run-on was never written
