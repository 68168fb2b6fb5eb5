"""Prompt-lookup decoding with the real default model: the same greedy answers, fewer decoding steps."""

import pytest

from smalllsp import modelstore
from smalllsp.config import Config
from smalllsp.engine.llama import LlamaRuntime

pytestmark = pytest.mark.e2e

# Code that repeats itself, where drafts from the prompt are often right, and code that does not.
CASES = [
    (
        "def area(shape):\n    if shape.kind == 'circle':\n        return math.pi * shape.radius ** 2\n"
        "    if shape.kind == 'square':\n        return shape.side ** 2\n    if shape.kind == ",
        "\n",
        "",
    ),
    (
        "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n\n"
        "class Point3:\n    def __init__(self, x, y, z):\n",
        "\n",
        "        ",
    ),
    ("import os\n\n\ndef list_python_files(root):\n", "\n", "    "),
]


@pytest.fixture(scope="module")
def runtime():
    rt = LlamaRuntime(modelstore.resolve(""), Config(n_ctx=1024))
    yield rt
    rt.close()


def test_greedy_answers_are_identical_with_and_without_lookup_decoding(runtime):
    """On these prompts; not in general (a batch's rows can tip a near tie: the README has the count)."""
    for prefix, suffix, middle in CASES:
        prompt = runtime.fim.layout(
            runtime.tokenize(prefix), runtime.tokenize(suffix), runtime.tokenize(middle)
        )
        runtime.lookup = False
        runtime.llm.n_tokens = 0
        plain = runtime.generate(prompt, max_tokens=48)
        runtime.lookup = True
        runtime.llm.n_tokens = 0
        drafted = runtime.lookup_drafted
        looked_up = runtime.generate(prompt, max_tokens=48)
        assert looked_up.tokens == plain.tokens and looked_up.text == plain.text
        assert looked_up.stop_reason == plain.stop_reason
        # rows of a batch go through other kernels than one token does: the same
        # choices, log-probabilities a few hundredths apart (measured: up to 0.065)
        assert looked_up.logprobs == pytest.approx(plain.logprobs, abs=0.1)
        assert runtime.lookup_drafted >= drafted
    assert runtime.lookup_drafted > 0 and 0 < runtime.lookup_accepted <= runtime.lookup_drafted


def test_after_lookup_decoding_the_cache_holds_exactly_the_answer(runtime):
    prefix, suffix, middle = CASES[1]
    prompt = runtime.fim.layout(
        runtime.tokenize(prefix), runtime.tokenize(suffix), runtime.tokenize(middle)
    )
    runtime.lookup = True
    runtime.llm.n_tokens = 0
    first = runtime.generate(prompt, max_tokens=24)
    again = runtime.generate(prompt + first.tokens, max_tokens=4)
    # everything before the last answer token was evaluated, rejected drafts were not kept
    assert again.n_reused == len(prompt) + len(first.tokens) - 1
