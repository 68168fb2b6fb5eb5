"""MoE expert placement with real GGUF files: the tiny MoE's and the default model's headers, and
real loads with overrides (moved from tests/unit/test_placement.py: they need the default model)."""

from __future__ import annotations

import contextlib
import ctypes
import re

import llama_cpp
import llama_cpp.llama_cpp as low
import pytest

from smalllsp.engine.placement import expert_patterns, read_moe_info, tensor_overrides
from tests.fixtures import tiny_moe

# The tiny model's expert tensors, named without placement.EXPERT_REGEX.
EXPERT_NAME = re.compile(r"^blk\.(\d+)\.ffn_(up|down|gate)_exps\.weight$")
# llama.cpp logs this (at debug level) for every tensor a buffer-type override moves.
OVERRIDDEN = re.compile(r"^tensor (\S+) \(.*\) buffer type overridden to (\S+)$")


@contextlib.contextmanager
def llama_log_lines():
    """Collect llama.cpp's log lines; put the previous logger back afterwards."""
    previous, previous_data = low.llama_log_callback(), ctypes.c_void_p()
    low.llama_log_get(ctypes.byref(previous), ctypes.byref(previous_data))
    lines: list[str] = []
    partial: list[str] = []

    @low.llama_log_callback
    def collect(level, text, _user):
        partial.append(text.decode("utf-8", errors="replace"))
        if partial[-1].endswith("\n"):
            lines.append("".join(partial).rstrip("\n"))
            partial.clear()

    low.llama_log_set(collect, None)
    try:
        yield lines
    finally:
        low.llama_log_set(previous, previous_data)
        del collect


def overridden(lines: list[str]) -> dict[str, str]:
    """Tensor name -> buffer type, from the override lines of a load."""
    return {m.group(1): m.group(2) for m in map(OVERRIDDEN.match, lines) if m}


def load_and_generate(path, n_tokens: int = 4) -> list[int]:
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=128, verbose=True)
    try:
        prompt = llm.tokenize(b"def add(a, b):\n    return", add_bos=False)
        assert len(prompt) > 3
        generated = []
        for token in llm.generate(prompt, top_k=1, temp=0.0):
            generated.append(token)
            if len(generated) == n_tokens:
                break
        return generated
    finally:
        llm.close()


@pytest.fixture(scope="session")
def tiny_tensor_sizes(tiny_moe_path) -> dict[str, int]:
    """Every tensor's name and size, from the arrays the fixture wrote."""
    return tiny_moe.tensor_bytes(n_vocab=151936)


@pytest.fixture(scope="session")
def tiny_expert_names(tiny_tensor_sizes) -> dict[int, set[str]]:
    """Expert tensor names by layer."""
    names: dict[int, set[str]] = {}
    for name in tiny_tensor_sizes:
        match = EXPERT_NAME.match(name)
        if match:
            names.setdefault(int(match.group(1)), set()).add(name)
    assert sorted(names) == [0, 1] and all(len(group) == 3 for group in names.values()), names
    return names


def test_read_moe_info_of_the_tiny_moe(tiny_moe_path, tiny_tensor_sizes, tiny_expert_names):
    info = read_moe_info(tiny_moe_path)
    assert info is not None
    assert (info.architecture, info.expert_count, info.expert_used_count, info.block_count) == (
        "qwen3moe",
        4,
        2,
        2,
    )
    # gate, up, down per layer: 4 experts x 32 x 64 float32 each.
    assert info.expert_bytes_per_layer == (3 * 4 * 32 * 64 * 4,) * 2
    for layer, names in tiny_expert_names.items():
        assert info.expert_bytes_per_layer[layer] == sum(tiny_tensor_sizes[name] for name in names)
    assert info.total_bytes == sum(tiny_tensor_sizes.values())
    assert 0 < info.dense_bytes < info.total_bytes


def test_read_moe_info_of_a_dense_model_is_none(default_model):
    assert read_moe_info(default_model) is None


def test_cpu_moe_overrides_exactly_the_expert_tensors(tiny_moe_path, tiny_expert_names):
    original = low.llama_model_default_params
    with llama_log_lines() as lines:
        with tensor_overrides(expert_patterns("all")) as handle:
            generated = load_and_generate(tiny_moe_path)
    assert handle.applied
    assert low.llama_model_default_params is original
    moved = overridden(lines)
    assert set(moved) == tiny_expert_names[0] | tiny_expert_names[1], f"overridden: {sorted(moved)}"
    assert set(moved.values()) == {"CPU"}
    assert len(generated) == 4


def test_n_cpu_moe_one_layer_overrides_only_that_layers_experts(tiny_moe_path, tiny_expert_names):
    with llama_log_lines() as lines:
        with tensor_overrides(expert_patterns([0])) as handle:
            load_and_generate(tiny_moe_path)
    assert handle.applied
    assert set(overridden(lines)) == tiny_expert_names[0], (
        f"overridden: {sorted(overridden(lines))}"
    )


def test_without_overrides_nothing_is_overridden(tiny_moe_path):
    """The check above is only worth something if a plain load logs no overrides."""
    with llama_log_lines() as lines:
        with tensor_overrides([]) as handle:
            generated = load_and_generate(tiny_moe_path, n_tokens=2)
    assert not handle.applied
    assert overridden(lines) == {}
    assert any("load_tensors" in line for line in lines), "the log capture saw no load at all"
    assert len(generated) == 2


def test_only_the_next_load_takes_the_overrides(tiny_moe_path):
    with llama_log_lines() as lines:
        with tensor_overrides(expert_patterns("all")):
            load_and_generate(tiny_moe_path, n_tokens=1)
            first = len(overridden(lines))
            lines.clear()
            load_and_generate(tiny_moe_path, n_tokens=1)
    assert first == 6
    assert overridden(lines) == {}
