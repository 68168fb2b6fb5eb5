import pytest

from smalllsp.config import Config
from smalllsp.engine.llama import ModelError, plan_moe_placement
from smalllsp.engine.placement import expert_patterns


def test_a_dense_model_has_no_plan(default_model):
    assert plan_moe_placement(default_model, Config()) == (None, 0, [])


def test_auto_without_a_gpu_overrides_nothing(tiny_moe_path):
    # this machine's llama-cpp-python is a CPU build: everything is in CPU memory already
    moe, layers, patterns = plan_moe_placement(tiny_moe_path, Config(moe_placement="auto"))
    assert moe.expert_count == 4 and layers == moe.block_count == 2 and patterns == []


@pytest.mark.parametrize(
    "policy, layers, patterns",
    [("cpu", 2, expert_patterns("all")), ("1", 1, expert_patterns([0])), ("gpu", 0, [])],
)
def test_explicit_policies(tiny_moe_path, policy, layers, patterns):
    assert plan_moe_placement(tiny_moe_path, Config(moe_placement=policy))[1:] == (layers, patterns)


def test_a_bad_policy_is_a_model_error(tiny_moe_path):
    with pytest.raises(ModelError, match="placement"):
        plan_moe_placement(tiny_moe_path, Config(moe_placement="most"))
