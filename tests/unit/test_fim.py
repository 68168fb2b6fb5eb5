import pytest

from smalllsp.engine import fim


def vocab(*tokens):
    ids = {t: 1000 + i for i, t in enumerate(tokens)}
    return ids.get


def test_qwen_layout_is_prefix_suffix_middle():
    tokens = fim.resolve(
        vocab(
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            "<|fim_pad|>",
            "<|file_sep|>",
            "<|repo_name|>",
            "<|endoftext|>",
        ),
        "q.gguf",
    )
    assert tokens.template.family == "qwen"
    assert tokens.layout([1, 2], [3], [4]) == [1000, 1, 2, 1001, 3, 1002, 4]
    assert {1003, 1004, 1005, 1006} <= tokens.stops
    assert tokens.file_sep == 1004 and tokens.repo_name == 1005


def test_codegemma_is_told_apart_from_qwen():
    tokens = fim.resolve(
        vocab("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_separator|>"), "g.gguf"
    )
    assert tokens.template.family == "codegemma"


@pytest.mark.parametrize(
    "family, names",
    [
        ("deepseek", ("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>")),
        ("starcoder", ("<fim_prefix>", "<fim_suffix>", "<fim_middle>")),
        ("codellama", ("▁<PRE>", "▁<SUF>", "▁<MID>")),
    ],
)
def test_families_are_detected_from_their_tokens(family, names):
    assert fim.resolve(vocab(*names), "m.gguf").template.family == family


def test_codestral_puts_the_suffix_first():
    tokens = fim.resolve(vocab("[PREFIX]", "[SUFFIX]", "[MIDDLE]"), "c.gguf")
    assert tokens.layout([1], [2], [3]) == [tokens.suffix, 2, tokens.prefix, 1, 3]


def test_a_model_without_fim_tokens_is_a_clear_error():
    with pytest.raises(fim.NoFimTokensError, match="chat.gguf.*qwen.*deepseek"):
        fim.resolve(vocab("<|im_start|>"), "chat.gguf")
