from smalllsp.context.window import WINDOW_STEP, Cursor, build_prompt
from smalllsp.engine import fim

FIM = fim.FimTokens(fim.TEMPLATES[0], prefix=-1, suffix=-2, middle=-3, stops=frozenset())


def chars(text):
    """A tokenizer with one token per character: budgets are easy to reason about."""
    return [ord(c) for c in text]


def prompt_for(lines, line, column, prefix_tokens=10_000, suffix_tokens=10_000):
    return build_prompt(
        Cursor(lines, line, column),
        FIM,
        chars,
        prefix_tokens=prefix_tokens,
        suffix_tokens=suffix_tokens,
    )


def test_layout_puts_the_typed_part_of_the_line_after_the_middle_token():
    lines = ["a = 1", "b = a +", "c = 3"]
    p = prompt_for(lines, 1, 5)
    assert p.tokens == [-1, *chars("a = 1\n"), -2, *chars(" +\nc = 3"), -3, *chars("b = a")]


def test_typing_on_the_line_changes_only_the_tail_of_the_prompt():
    lines = [f"line {i}" for i in range(200)] + ["x = "] + [f"after {i}" for i in range(50)]
    before = prompt_for(lines, 200, 4, prefix_tokens=500, suffix_tokens=100).tokens
    lines[200] = "x = fo"
    after = prompt_for(lines, 200, 6, prefix_tokens=500, suffix_tokens=100).tokens
    assert after[: len(before)] == before  # the old prompt is a prefix of the new one
    assert len(after) - len(before) == 2  # only the two typed characters are new


def test_budgets_count_tokens_and_the_window_start_moves_in_steps():
    lines = [f"{i:04d}" for i in range(1000)]  # 5 tokens a line with its newline
    p = prompt_for(lines, 505, 0, prefix_tokens=100, suffix_tokens=50)
    assert p.n_prefix <= 100 and p.n_suffix <= 50
    assert p.first_line % 10 == 0  # 20 lines fit: steps of 10
    assert p.prefix_text.startswith("0490\n")
    moved = prompt_for(lines, 506, 0, prefix_tokens=100, suffix_tokens=50)
    assert moved.first_line == p.first_line  # one line down: the prefix start stays


def test_a_huge_document_is_not_read_whole():
    lines = ["x = 1"] * 100_000
    calls = []

    def counting(text):
        calls.append(len(text))
        return chars(text)

    build_prompt(Cursor(lines, 50_000, 0), FIM, counting, prefix_tokens=300, suffix_tokens=100)
    assert sum(calls) < 2_000


def test_a_long_window_moves_in_whole_steps():
    lines = [f"{i:04d}" for i in range(5000)]
    starts = {
        prompt_for(lines, line, 0, prefix_tokens=1000, suffix_tokens=50).first_line
        for line in range(3000, 3000 + WINDOW_STEP)
    }
    assert all(start % WINDOW_STEP == 0 for start in starts)
    assert len(starts) <= 2
