"""The state after accepting a suggestion, and its cache key, without a model."""

from smalllsp.cache import bounded_key, cursor_key
from smalllsp.documents import Document
from smalllsp.speculation import after_accept

TEXT = "def f(x):\n    \n\nprint(f(1))\n"


def test_accepting_a_one_line_suggestion_moves_the_cursor_along_the_line():
    doc = Document("file:///a.py", "python", 3, TEXT)
    accepted, line, column = after_accept(doc, 1, 4, "return x + 1")
    assert accepted.text == "def f(x):\n    return x + 1\n\nprint(f(1))\n"
    assert (line, column, accepted.version) == (1, 16, 4)
    assert doc.text == TEXT  # the shown document is left as it was


def test_accepting_a_multi_line_suggestion_puts_the_cursor_after_its_last_line():
    doc = Document("file:///a.py", "python", 1, TEXT)
    accepted, line, column = after_accept(doc, 1, 4, "y = x\n    return y")
    assert accepted.text == "def f(x):\n    y = x\n    return y\n\nprint(f(1))\n"
    assert (line, column) == (2, 12)


def test_the_key_is_the_one_a_request_at_that_cursor_gets():
    doc = Document("file:///a.py", "python", 1, TEXT)
    offset = TEXT.index("    \n") + 4
    assert cursor_key(doc, 1, 4) == bounded_key(TEXT, 0, offset)
