from smalllsp.cache import SuggestionCache


def test_typing_along_returns_the_rest():
    cache = SuggestionCache()
    cache.store("u", "def f():\n    ", "\n", "return 42")
    assert cache.lookup("u", "def f():\n    ", "\n") == "return 42"  # same place
    assert cache.lookup("u", "def f():\n    ret", "\n") == "urn 42"
    assert cache.hits == 2


def test_going_another_way_misses():
    cache = SuggestionCache()
    cache.store("u", "x = ", "", "compute()")
    assert cache.lookup("u", "x = z", "") is None  # typed something else
    assert cache.lookup("u", "x = c", ")") is None  # the text after the cursor changed
    assert cache.lookup("u", "y = c", "") is None  # an edit before the cursor
    assert cache.lookup("u", "x = compute()", "") is None  # typed it all: nothing left
    assert cache.lookup("other", "x = ", "") is None


def test_one_entry_per_document_and_empty_suggestions_are_not_kept():
    cache = SuggestionCache()
    for i in range(100):
        cache.store("u", f"x{i}", "", "abc")
    assert len(cache) == 1
    cache.store("u", "x", "", "")
    assert len(cache) == 0


def test_a_note_travels_with_the_suggestion():
    cache = SuggestionCache()
    cache.store("u", "x = ", "", "charge(1)", note="cross-file")
    assert cache.lookup("u", "x = ch", "") == "arge(1)" and cache.note("u") == "cross-file"
    cache.forget("u")
    assert cache.note("u") is None
