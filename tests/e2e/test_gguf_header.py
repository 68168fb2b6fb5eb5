import pytest

from smalllsp.engine.gguf_header import read_header
from tests.fixtures import tiny_moe


def test_tensor_sizes_and_metadata_of_the_tiny_moe(tiny_moe_path):
    header = read_header(tiny_moe_path)
    assert {t.name: t.n_bytes for t in header.tensors} == tiny_moe.tensor_bytes(n_vocab=151936)
    assert header.metadata["general.architecture"] == "qwen3moe"
    assert header.metadata["qwen3moe.expert_count"] == 4
    assert header.metadata["tokenizer.ggml.tokens"] == 151936  # arrays as their length


def test_arrays_are_read_whole_when_asked(default_model):
    meta = read_header(default_model, arrays=("tokenizer.ggml.tokens",)).metadata
    tokens = meta["tokenizer.ggml.tokens"]
    assert len(tokens) == 151936 and tokens[151659] == "<|fim_prefix|>"


def test_not_gguf_and_damaged_headers_are_value_errors(tmp_path, tiny_moe_path):
    text = tmp_path / "text.gguf"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a GGUF"):
        read_header(text)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_moe_path.read_bytes()[:5000])
    with pytest.raises(ValueError, match="damaged"):
        read_header(cut)
