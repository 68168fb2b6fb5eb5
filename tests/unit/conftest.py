"""Fixtures shared by unit tests that need a real GGUF file."""

import pytest

from smalllsp import modelstore
from tests.fixtures import tiny_moe


@pytest.fixture(scope="session")
def default_model():
    try:
        return modelstore.resolve("")
    except modelstore.StoreError as problem:
        pytest.fail(f"this test needs the default model: {problem}", pytrace=False)


@pytest.fixture(scope="session")
def tiny_moe_path(tmp_path_factory, default_model):
    """A tiny random qwen3moe GGUF with the default model's tokenizer."""
    return tiny_moe.write_tiny_moe_gguf(
        tmp_path_factory.mktemp("moe") / "tiny-moe.gguf", default_model
    )
