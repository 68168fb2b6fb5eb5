"""Prompt-lookup drafts, without a model."""

from smalllsp.engine.lookup import draft


def test_the_tokens_after_the_latest_earlier_match_of_the_last_three():
    history = [1, 2, 3, 4, 5, 9, 1, 2, 3, 7, 8, 0, 1, 2, 3]
    assert draft(history, ngram=3, limit=4) == [7, 8, 0, 1]  # the match at 6, not the one at 0
    assert draft(history, ngram=3, limit=1) == [7]


def test_no_draft_without_a_match_or_room():
    assert draft([1, 2, 3, 4, 5, 6], ngram=3) == []
    assert draft([1, 2, 3, 1, 2, 3], ngram=3, limit=0) == []
    assert draft([1, 2], ngram=3) == []


def test_a_match_at_the_end_drafts_only_what_follows_it():
    assert draft([5, 6, 7, 5, 6, 7], ngram=3, limit=8) == [5, 6, 7]
