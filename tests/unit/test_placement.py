"""MoE expert placement without a model: policies, patterns, the override switch.

Reading real GGUF files and real loads with overrides: tests/e2e/test_placement_model.py.
"""

from __future__ import annotations

import re

import llama_cpp
import llama_cpp.llama_cpp as low
import pytest

from smalllsp.engine import placement
from smalllsp.engine.placement import (
    MoeInfo,
    choose_cpu_layers,
    expert_patterns,
    tensor_overrides,
)


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


# --- the override switch ---------------------------------------------------------


def test_everything_is_restored_after_an_error(tmp_path):
    original = low.llama_model_default_params
    with pytest.raises(ValueError):
        with tensor_overrides(expert_patterns("all")):
            llama_cpp.Llama(str(tmp_path / "missing.gguf"), verbose=True)  # no such model file
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
