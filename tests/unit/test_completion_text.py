from smalllsp.completion import fit_budgets, heal, split_trailing_whitespace
from smalllsp.config import Config


def test_trailing_whitespace_stays_out_of_the_prompt():
    assert split_trailing_whitespace("    x = ") == ("    x =", " ")
    assert split_trailing_whitespace("    ") == ("", "    ")
    assert split_trailing_whitespace("x") == ("x", "")


def test_heal_removes_the_whitespace_the_user_typed_already():
    assert (
        heal("     return 1", "    ") == " return 1"
    )  # the model chose 5 spaces: keep the extra one
    assert heal("    return 1", "    ") == "return 1"
    assert (
        heal("  return 1", "    ") == "return 1"
    )  # fewer than typed: the cursor's indentation wins
    assert heal("\n    more", " ") == "\n    more"
    assert heal("abc", "") == "abc"


def test_on_a_blank_line_the_suggestion_starts_on_that_line():
    assert heal("\n    return 1", "    ", blank_line=True) == "return 1"
    assert heal("\n\nx = 1", "", blank_line=True) == "x = 1"
    assert heal("\nx = 1", "", blank_line=False) == "\nx = 1"


def test_budgets_shrink_to_fit_the_context():
    config = Config(global_tokens=1000, prefix_tokens=3000, suffix_tokens=1000, max_tokens=100)
    assert fit_budgets(config, 10_000) == (1000, 3000, 1000)
    global_, prefix, suffix = fit_budgets(config, 2600)
    assert global_ + prefix + suffix == 2500 and (global_, prefix) == (500, 1500)
    assert fit_budgets(config, 50) == (0, 0, 0)
