"""model = auto's speed probe on the real default model (the rest of auto is tested model-free)."""

from __future__ import annotations

from smalllsp import modelstore
from smalllsp.config import Config
from smalllsp.models import auto


def test_the_real_probe_times_the_default_model(default_model, tmp_path):
    default = modelstore.find("default")
    choice = auto.choose(
        Config(time_budget_ms=600_000),
        models=[(default, default_model)],
        cache=auto.SpeedCache(tmp_path / "speed.json"),
    )
    assert choice.name == default.name and choice.path == default_model
    (candidate,) = choice.candidates
    assert candidate.fits and candidate.speed is not None
    assert candidate.speed.prompt_tps > 0 and candidate.speed.generate_tps > 0
    assert auto.SpeedCache(tmp_path / "speed.json").get(default_model) == candidate.speed
    assert choice.reason.startswith(
        "qwen2_5-coder-0_5b-q4_k_m: the largest installed model that fits ("
    )
