"""Each filter on golden cases: a document with the cursor at █, what the model wrote, what is left.

The request context is planned for real with the fake runtime's tokenizer
(tests/support/fake_runtime.py); each case runs one filter alone, and
:func:`finish_explained` runs them all and names the one that left nothing.
"""

from __future__ import annotations

import pytest

from smalllsp.config import Config
from smalllsp.pipeline import filters
from tests.support.fake_runtime import context_at

FUNCTION = "def total(items):\n    █\n"

CASES = [
    # (filter, document, model text, what is left)
    ("apply_cutters", FUNCTION, "return 1\n```\nThis returns one.", "return 1"),
    ("apply_cutters", "x = foo(█)", "a, b)\nmore", "a, b)"),
    ("trim_to_scope", FUNCTION, "return 1\nprint(total([]))", "return 1"),
    ("trim_to_scope", FUNCTION, "return sum(items)", "return sum(items)"),
    ("drop_repeated_suffix", "print(█)", "x + 1)", "x + 1"),  # the line has its closer
    ("drop_repeated_suffix", "print(█)", "f(x)", "f(x)"),  # balanced: its own closer
    (
        "drop_repeated_suffix",
        "def total(items):\n    █\n    return total\n",
        "total = 0\n    return total",
        "total = 0",
    ),
    ("drop_repetition", "█", "x()\nx()\nx()\nx()", "x()"),
    ("drop_repetition", "█", "x()\nx()\ny()", "x()\nx()\ny()"),
    ("trim_trailing_whitespace", FUNCTION, "return 1  \n\n", "return 1"),
    ("trim_trailing_whitespace", FUNCTION, "  \n\n ", ""),
    ("drop_comment_in_open_call", "    result = compute(█", "  # type: ignore", ""),
    ("drop_comment_in_open_call", "    result = compute(█", "  # noqa\n    # more", ""),
    ("drop_comment_in_open_call", "  run(█", "// keep going", ""),
    ("drop_comment_in_open_call", "    result = compute(█", "a, b)  # two", "a, b)  # two"),
    ("drop_comment_in_open_call", "    x = f()█", "  # type: ignore", "  # type: ignore"),
    ("drop_counting_run", "    s = Syntax(█", ", ".join(str(i) for i in range(1, 36)), ""),
    ("drop_counting_run", "x = [█", "2, 4, 6, 8, 10, 12, 14, 16]", ""),
    ("drop_counting_run", "█", "10\n11\n12\n13\n14\n15\n16\n17", ""),
    ("drop_counting_run", "x = [1, 2, 3, █", "4, 5, 6, 7, 8, 9, 10]", "4, 5, 6, 7, 8, 9, 10]"),
    ("drop_counting_run", "x = (█", "0, 0, 0, 0, 0, 0, 0, 0, 0)", "0, 0, 0, 0, 0, 0, 0, 0, 0)"),
    ("drop_counting_run", "x = [█", "1, 5, 2, 7, 3, 9, 4, 11, 5]", "1, 5, 2, 7, 3, 9, 4, 11, 5]"),
    ("drop_counting_run", "x = █", "f(1, 2) + g(3, 4) + h(5, 6)", "f(1, 2) + g(3, 4) + h(5, 6)"),
    ("trim_to_valid_syntax", FUNCTION, "return x\n    This is prose, not code (", "return x"),
    ("trim_to_valid_syntax", FUNCTION, "))) ((", ""),
    ("trim_to_valid_syntax", "█", "a\nb", "a\nb"),  # no grammar (plain text): kept
]


@pytest.mark.parametrize(("name", "document", "text", "expected"), CASES)
def test_each_filter_leaves_what_its_rule_says(name, document, text, expected):
    language_id = "plaintext" if name == "trim_to_valid_syntax" and document == "█" else "python"
    ctx = context_at(document, language_id)
    assert getattr(filters, name)(text, ctx) == expected


FINISHED = [
    # (document, model text, config, what is shown, the filter that left nothing)
    (FUNCTION, "return 1\n```\nThis function returns one.", Config(), "return 1", None),
    (
        "def f(x):\n    █\n",
        "return x\n\nif __name__ == '__main__':\n    main()",
        Config(),
        "return x",
        None,
    ),
    (
        "█",
        "def f():\n    return 1\n\n\ndef g():\n    return 2",
        Config(),
        "def f():\n    return 1",
        None,
    ),
    ("█", "a\nb\nc\nd", Config(max_lines=2), "a\nb", None),
    ("    # compute the█\n", " total\n    total = 0", Config(), " total", None),
    ("    result = compute(█", "  # type: ignore", Config(), "", "drop_comment_in_open_call"),
    (
        "    s = Syntax(█",
        ", ".join(str(i) for i in range(1, 36)) + ")",
        Config(),
        "",
        "drop_counting_run",
    ),
    (FUNCTION, "  \n\n ", Config(), "", "trim_trailing_whitespace"),
]


@pytest.mark.parametrize(("document", "text", "config", "shown", "emptied_by"), FINISHED)
def test_the_filters_in_order(document, text, config, shown, emptied_by):
    ctx = context_at(document, config=config)
    assert filters.finish_explained(text, ctx) == (shown, emptied_by)
    assert filters.finish(text, ctx) == shown


def test_in_a_comment_or_a_string_the_suggestion_is_one_line():
    ctx = context_at("    # compute the█\n")
    assert ctx.in_string_or_comment and ctx.single_line
    assert not context_at(FUNCTION).single_line
