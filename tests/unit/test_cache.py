from smalllsp import guard
from smalllsp.cache import SuggestionCache
from smalllsp.pipeline import Suggestion

CROSS = guard.Verdict(guard.CROSS_FILE, ("uses charge() from billing/api.py",))


def texts(found):
    return [c.text for c in found]


def test_typing_along_returns_the_rest():
    cache = SuggestionCache()
    cache.store("u", "def f():\n    ", "\n", [Suggestion("return 42")])
    assert texts(cache.lookup("u", "def f():\n    ", "\n")) == ["return 42"]  # same place
    assert texts(cache.lookup("u", "def f():\n    ret", "\n")) == ["urn 42"]
    assert cache.hits == 2


def test_going_another_way_misses():
    cache = SuggestionCache()
    cache.store("u", "x = ", "", [Suggestion("compute()")])
    assert cache.lookup("u", "x = z", "") == []  # typed something else
    assert cache.lookup("u", "x = c", ")") == []  # the text after the cursor changed
    assert cache.lookup("u", "y = c", "") == []  # an edit before the cursor
    assert cache.lookup("u", "x = compute()", "") == []  # typed it all: nothing left
    assert cache.lookup("other", "x = ", "") == []
    assert cache.hits == 0


def test_one_entry_per_document_and_empty_suggestions_are_not_kept():
    cache = SuggestionCache()
    for i in range(100):
        cache.store("u", f"x{i}", "", [Suggestion("abc")])
    assert len(cache) == 1
    cache.store("u", "x", "", [Suggestion("")])
    assert len(cache) == 0


def test_every_suggestion_the_user_typed_along_stays_in_order_with_its_note():
    cache = SuggestionCache()
    cache.store(
        "u",
        "x = ",
        "",
        [Suggestion("charge(1)", CROSS), Suggestion("compute()"), Suggestion("cost")],
    )
    assert cache.lookup("u", "x = c", "") == [
        Suggestion("harge(1)", CROSS),
        Suggestion("ompute()"),
        Suggestion("ost"),
    ]
    assert cache.lookup("u", "x = co", "") == [Suggestion("mpute()"), Suggestion("st")]
    assert cache.lookup("u", "x = cos", "") == [Suggestion("t")]
    cache.forget("u")
    assert cache.lookup("u", "x = c", "") == []
