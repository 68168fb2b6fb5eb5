"""The plan: budgets, the typed line, and the one request context every stage reads."""

from smalllsp.config import Config
from smalllsp.pipeline.context import fit_budgets, split_trailing_whitespace
from tests.support.fake_runtime import context_at


def test_trailing_whitespace_stays_out_of_the_prompt():
    assert split_trailing_whitespace("    x = ") == ("    x =", " ")
    assert split_trailing_whitespace("    ") == ("", "    ")
    assert split_trailing_whitespace("x") == ("x", "")


def test_budgets_shrink_to_fit_the_context():
    config = Config(global_tokens=1000, prefix_tokens=3000, suffix_tokens=1000, max_tokens=100)
    assert fit_budgets(config, 10_000) == (1000, 3000, 1000)
    global_, prefix, suffix = fit_budgets(config, 2600)
    assert global_ + prefix + suffix == 2500 and (global_, prefix) == (500, 1500)
    assert fit_budgets(config, 50) == (0, 0, 0)


def test_the_context_holds_the_scopes_in_document_lines_and_the_guard_inputs():
    ctx = context_at("import os\n\n\nclass Shape:\n    def area(self):\n        return self.w█\n")
    assert [(s.kind, s.start_line, s.header) for s in ctx.window.chain] == [
        ("class", 3, "class Shape:"),
        ("function", 4, "def area(self):"),
    ]
    assert (ctx.window.first_line, ctx.window.cursor_line, ctx.window.column) == (0, 5, 21)
    assert ctx.whitespace == "" and ctx.before == "        return self.w" and ctx.after == ""
    assert ctx.syntax is not None and ctx.syntax.head.endswith(
        "def area(self):\n        return self.w"
    )
    assert ctx.guard is not None and ctx.guard.head == ctx.syntax.head
    assert ctx.guard.tail == ctx.syntax.tail == "\n"


def test_a_language_without_a_grammar_has_no_syntax_and_no_guard():
    ctx = context_at("some notes█\nmore", language_id="plaintext")
    assert ctx.syntax is None and ctx.guard is None and ctx.window.chain == ()
    assert not ctx.single_line and ctx.below == ("more",)
