"""MoE expert placement: policies, patterns, GGUF reading, and a real load with overrides."""

from __future__ import annotations

import contextlib
import ctypes
import re

import llama_cpp
import llama_cpp.llama_cpp as low
import pytest

from smalllsp.engine import placement
from smalllsp.engine.placement import (
    MoeInfo,
    choose_cpu_layers,
    expert_patterns,
    read_moe_info,
    tensor_overrides,
)
from tests.fixtures import tiny_moe

# The tiny model's expert tensors, named without placement.EXPERT_REGEX.
EXPERT_NAME = re.compile(r"^blk\.(\d+)\.ffn_(up|down|gate)_exps\.weight$")
# llama.cpp logs this (at debug level) for every tensor a buffer-type override moves.
OVERRIDDEN = re.compile(r"^tensor (\S+) \(.*\) buffer type overridden to (\S+)$")


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


# --- patterns ------------------------------------------------------------------


def matches(patterns: list[str], name: str) -> bool:
    """llama.cpp applies the patterns with std::regex_search; re.search is the same for these."""
    return any(re.search(pattern, name) for pattern in patterns)


def test_all_is_llama_cpps_cpu_moe_pattern():
    patterns = expert_patterns("all")
    assert patterns == [r"\.ffn_(up|down|gate|gate_up)_(ch|)exps"]
    for name in (
        "blk.0.ffn_up_exps.weight",
        "blk.47.ffn_down_exps.weight",
        "blk.3.ffn_gate_exps.weight",
        "blk.3.ffn_gate_up_exps.weight",
    ):
        assert matches(patterns, name), name
    # The router, the shared expert and the dense tower stay where they are.
    for name in (
        "blk.0.ffn_gate_inp.weight",
        "blk.0.ffn_up_shexp.weight",
        "blk.0.ffn_up.weight",
        "blk.0.attn_q.weight",
        "token_embd.weight",
    ):
        assert not matches(patterns, name), name


def test_layer_list_is_n_cpu_moe_one_pattern_per_layer():
    patterns = expert_patterns([2, 0, 2])
    assert patterns == [
        r"blk\.0\.ffn_(up|down|gate|gate_up)_(ch|)exps",
        r"blk\.2\.ffn_(up|down|gate|gate_up)_(ch|)exps",
    ]
    assert matches(patterns, "blk.0.ffn_up_exps.weight")
    assert matches(patterns, "blk.2.ffn_down_exps.weight")
    assert not matches(patterns, "blk.1.ffn_up_exps.weight")
    assert not matches(patterns, "blk.12.ffn_up_exps.weight")
    assert not matches(patterns, "blk.20.ffn_up_exps.weight")
    assert expert_patterns([]) == []
    assert expert_patterns(range(3)) == expert_patterns([0, 1, 2])


@pytest.mark.parametrize("junk", ["some", "ALL", [-1], [1.5], [True], ["0"]])
def test_junk_layers_are_refused(junk):
    with pytest.raises(ValueError):
        expert_patterns(junk)


# --- policy ----------------------------------------------------------------------

# 4 layers of 100 bytes of experts, 600 bytes of everything else.
INFO = MoeInfo(
    "qwen3moe",
    expert_count=8,
    expert_used_count=2,
    block_count=4,
    expert_bytes_per_layer=(100, 100, 100, 100),
    total_bytes=1000,
)


@pytest.mark.parametrize(
    "policy, expected",
    [
        ("gpu", 0),
        ("cpu", 4),
        ("GPU", 0),
        (" cpu ", 4),
        ("0", 0),
        ("2", 2),
        (" 3 ", 3),
        ("4", 4),
        ("9", 4),
    ],
)
def test_fixed_policies(policy, expected):
    assert (
        choose_cpu_layers(policy, INFO, free_vram_bytes=10**12, other_bytes_estimate=0) == expected
    )


@pytest.mark.parametrize(
    "free, expected",
    [
        (10**12, 0),  # everything fits
        (1050, 0),  # 600 dense + 50 other + 400 experts, exactly
        (1049, 1),
        (950, 1),
        (949, 2),
        (750, 3),
        (650, 4),  # only the dense part and the rest fit
        (
            649,
            4,
        ),  # not even that: all experts on the CPU, the dense part is another setting's problem
        (0, 4),
        (None, 4),  # no GPU
    ],
)
def test_auto_moves_the_fewest_layers_that_make_the_rest_fit(free, expected):
    assert (
        choose_cpu_layers("auto", INFO, free_vram_bytes=free, other_bytes_estimate=50) == expected
    )


def test_auto_counts_uneven_layers_from_the_first():
    info = MoeInfo("x", 4, 2, 3, expert_bytes_per_layer=(10, 500, 10), total_bytes=620)
    # 100 dense + 520 experts = 620; without layer 0: 610; without layers 0 and 1: 110.
    assert choose_cpu_layers("auto", info, 615, 0) == 1
    assert choose_cpu_layers("auto", info, 609, 0) == 2


@pytest.mark.parametrize("junk", ["", "many", "1.5", "-1", "all", "auto-ish"])
def test_junk_policy_is_a_clear_error(junk):
    with pytest.raises(ValueError, match="MoE placement"):
        choose_cpu_layers(junk, INFO, free_vram_bytes=1000, other_bytes_estimate=0)


# --- GGUF reading ---------------------------------------------------------------


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


# --- a real load ------------------------------------------------------------------


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


def test_everything_is_restored_after_an_error(tmp_path):
    original = low.llama_model_default_params
    with pytest.raises(ValueError):
        with tensor_overrides(expert_patterns("all")):
            llama_cpp.Llama(model_path=str(tmp_path / "missing.gguf"), verbose=True)
    assert low.llama_model_default_params is original
    with tensor_overrides(expert_patterns([0])) as handle:  # the lock was released
        assert low.llama_model_default_params is not original
    assert low.llama_model_default_params is original
    assert not handle.applied


def test_nested_overrides_are_refused():
    original = low.llama_model_default_params
    with tensor_overrides(expert_patterns("all")):
        with pytest.raises(RuntimeError, match="already active"):
            with tensor_overrides(expert_patterns([0])):
                pass
    assert low.llama_model_default_params is original


def test_cpu_buffer_type_resolves():
    assert placement.cpu_buffer_type() != 0


def test_free_vram_is_none_without_a_gpu_backend():
    free = placement.free_vram_bytes()
    if llama_cpp.llama_supports_gpu_offload():
        assert free is None or free >= 0
    else:
        assert free is None
