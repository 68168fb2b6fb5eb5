from smalllsp.completion import heal, split_trailing_whitespace


def test_trailing_whitespace_stays_out_of_the_prompt():
    assert split_trailing_whitespace("    x = ") == ("    x =", " ")
    assert split_trailing_whitespace("    ") == ("", "    ")
    assert split_trailing_whitespace("x") == ("x", "")


def test_heal_removes_the_whitespace_the_user_typed_already():
    assert heal("     return 1", "    ") == " return 1"  # the model chose 5 spaces: keep the extra one
    assert heal("    return 1", "    ") == "return 1"
    assert heal("  return 1", "    ") == "return 1"  # fewer than typed: the cursor's indentation wins
    assert heal("\n    more", " ") == "\n    more"
    assert heal("abc", "") == "abc"
