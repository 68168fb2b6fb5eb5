from smalllsp.cache import Cached, SuggestionCache


def texts(found):
    return [c.text for c in found]


def test_typing_along_returns_the_rest():
    cache = SuggestionCache()
    cache.store("u", "def f():\n    ", "\n", [("return 42", None)])
    assert texts(cache.lookup("u", "def f():\n    ", "\n")) == ["return 42"]  # same place
    assert texts(cache.lookup("u", "def f():\n    ret", "\n")) == ["urn 42"]
    assert cache.hits == 2


def test_going_another_way_misses():
    cache = SuggestionCache()
    cache.store("u", "x = ", "", [("compute()", None)])
    assert cache.lookup("u", "x = z", "") == []  # typed something else
    assert cache.lookup("u", "x = c", ")") == []  # the text after the cursor changed
    assert cache.lookup("u", "y = c", "") == []  # an edit before the cursor
    assert cache.lookup("u", "x = compute()", "") == []  # typed it all: nothing left
    assert cache.lookup("other", "x = ", "") == []
    assert cache.hits == 0


def test_one_entry_per_document_and_empty_suggestions_are_not_kept():
    cache = SuggestionCache()
    for i in range(100):
        cache.store("u", f"x{i}", "", [("abc", None)])
    assert len(cache) == 1
    cache.store("u", "x", "", [("", None)])
    assert len(cache) == 0


def test_every_suggestion_the_user_typed_along_stays_in_order_with_its_note():
    cache = SuggestionCache()
    cache.store(
        "u", "x = ", "", [("charge(1)", "cross-file"), ("compute()", "local"), ("cost", "local")]
    )
    assert cache.lookup("u", "x = c", "") == [
        Cached("harge(1)", "cross-file"),
        Cached("ompute()", "local"),
        Cached("ost", "local"),
    ]
    assert cache.lookup("u", "x = co", "") == [Cached("mpute()", "local"), Cached("st", "local")]
    assert cache.lookup("u", "x = cos", "") == [Cached("t", "local")]
    cache.forget("u")
    assert cache.lookup("u", "x = c", "") == []
