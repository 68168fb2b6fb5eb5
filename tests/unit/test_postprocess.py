from smalllsp import postprocess
from smalllsp.postprocess import Shape
from smalllsp.syntax.languages import syntax_errors


def shape(before="    ", after="", below=(), max_lines=8, errors_with=None):
    return Shape(
        before=before, after=after, below=below, max_lines=max_lines, errors_with=errors_with
    )


def test_single_line_when_code_follows_the_cursor():
    s = shape(before="x = foo(", after=")")
    assert s.single_line
    assert postprocess.cut_single_line("a, b)\nmore", s) == 5
    assert postprocess.cut_single_line("a, b)\nmore", shape()) is None


def test_fence_and_the_prose_after_it_are_cut():
    text = "return 1\n```\nThis function returns one."
    assert postprocess.finish(text, shape()) == "return 1"


def test_dedent_ends_the_block():
    text = "return x\n\nif __name__ == '__main__':\n    main()"
    assert postprocess.cut_dedent(text, shape()) == len("return x\n")
    assert postprocess.finish(text, shape()) == "return x"


def test_dedent_measures_the_block_from_the_first_code_line():
    # cursor at column 0 of an empty line inside a body: the body's indentation counts
    text = "    y = 1\n    return y\ndef other():"
    assert postprocess.finish(text, shape(before="")) == "    y = 1\n    return y"


def test_next_top_level_definition_is_cut_at_the_blank_line():
    text = "def f():\n    return 1\n\n\ndef g():\n    return 2"
    assert postprocess.finish(text, shape(before="")) == "def f():\n    return 1"


def test_closing_brace_at_top_level_is_kept():
    text = "function f() {\n  return 1;\n}"
    assert postprocess.cut_next_top_level(text, shape(before="")) is None


def test_max_lines():
    assert postprocess.finish("a\nb\nc\nd", shape(before="", max_lines=2)) == "a\nb"


def test_repeated_closer_of_the_line_is_dropped():
    s = shape(before="print(", after=")")
    assert postprocess.finish("x + 1)", s) == "x + 1"
    assert postprocess.finish("f(x)", s) == "f(x)"  # balanced: its own closer


def test_repeated_following_line_is_dropped():
    s = shape(below=("    return total",))
    assert postprocess.finish("total += 1\n    return total", s) == "total += 1"


def test_repetition_is_kept_once():
    assert postprocess.finish("x()\nx()\nx()\nx()", shape(before="")) == "x()"


def test_whitespace_only_is_no_suggestion():
    assert postprocess.finish("  \n\n ", shape()) == ""


def test_syntax_filter_keeps_the_lines_that_parse():
    head, tail = "def f(x):\n    ", "\n"

    def errors(candidate):
        return syntax_errors("python", head + candidate + tail)

    s = shape(errors_with=errors)
    assert postprocess.finish("return x\n    This is prose, not code (", s) == "return x"
    assert postprocess.finish("))) ((", s) == ""


def test_first_cut_is_the_earliest():
    text = "a\n```\nb\nc"
    assert postprocess.first_cut(text, shape(before="", max_lines=3)) == 1


def test_the_scope_cut_applies_when_a_line_is_complete_and_at_the_end():
    from smalllsp.syntax.scope import scope_cut

    head, tail = "def f(x):\n    ", "\n"
    s = Shape(before="    ", after="", scope_end=lambda c: scope_cut("python", head, c, tail))
    assert postprocess.cut_scope_end("return x", s) is None  # mid-line: not yet
    text = "return x\nprint(f(1))\n"
    assert text[: postprocess.cut_scope_end(text, s)].rstrip() == "return x"
    assert postprocess.trim_to_scope("return x\nprint(1)", s).rstrip() == "return x"


def test_in_a_comment_or_string_one_line_only():
    s = Shape(before="    # compute the", after="", in_string_or_comment=True)
    assert s.single_line
    assert postprocess.finish(" total\n    total = 0", s) == " total"


def test_a_comment_alone_after_an_open_call_is_dropped():
    open_call = shape(before="    result = compute(")
    assert postprocess.drop_comment_in_open_call("  # type: ignore", open_call) == ""
    assert postprocess.drop_comment_in_open_call("  # noqa\n    # more", open_call) == ""
    assert postprocess.drop_comment_in_open_call("// keep going", shape(before="  run(")) == ""
    # code with a comment, or a comment where no call is open, stays
    assert postprocess.drop_comment_in_open_call("a, b)  # two", open_call) == "a, b)  # two"
    assert (
        postprocess.drop_comment_in_open_call("  # type: ignore", shape(before="    x = f()"))
        == "  # type: ignore"
    )
    assert postprocess.finish_explained("  # type: ignore", open_call) == (
        "",
        "drop_comment_in_open_call",
    )


def test_a_run_on_counting_sequence_is_dropped():
    run_on = ", ".join(str(i) for i in range(1, 36))
    assert postprocess.drop_counting_run(run_on, shape(before="    s = Syntax(")) == ""
    assert postprocess.drop_counting_run("2, 4, 6, 8, 10, 12, 14, 16]", shape(before="x = [")) == ""
    assert postprocess.drop_counting_run("10\n11\n12\n13\n14\n15\n16\n17", shape(before="")) == ""
    # short runs, repeats and numbers that do not count on stay
    assert (
        postprocess.drop_counting_run("4, 5, 6, 7, 8, 9, 10]", shape(before="x = [1, 2, 3, "))
        == "4, 5, 6, 7, 8, 9, 10]"
    )
    assert (
        postprocess.drop_counting_run("0, 0, 0, 0, 0, 0, 0, 0, 0)", shape())
        == "0, 0, 0, 0, 0, 0, 0, 0, 0)"
    )
    assert (
        postprocess.drop_counting_run("1, 5, 2, 7, 3, 9, 4, 11, 5]", shape())
        == "1, 5, 2, 7, 3, 9, 4, 11, 5]"
    )
    assert (
        postprocess.drop_counting_run("f(1, 2) + g(3, 4) + h(5, 6) + k(7, 8)", shape())
        == "f(1, 2) + g(3, 4) + h(5, 6) + k(7, 8)"
    )
    assert postprocess.finish_explained(run_on + ")", shape(before="    s = Syntax(")) == (
        "",
        "drop_counting_run",
    )
