"""model = auto through the real server: the choice and its reason in the start-up log and
in smalllsp/status, the probe cached in the store (a store holding only the default model)."""

import json

import pytest

from smalllsp import modelstore
from tests.e2e.rawlsp import RawServer

pytestmark = pytest.mark.e2e


def test_model_auto_reports_its_choice_in_the_log_and_the_status(tmp_path):
    default_model = modelstore.resolve("")
    store = tmp_path / "store"
    store.mkdir()
    (store / default_model.name).symlink_to(default_model)
    server = RawServer(
        "--model", "auto", "--log-level", "INFO", env={"SMALLLSP_MODELS": str(store)}
    )
    try:
        server.initialize()
        status = server.wait_loaded(timeout=600)
        assert status["state"] == "ready", status
        choice = status["model_choice"]
        assert choice["model"] == "qwen2_5-coder-0_5b-q4_k_m"
        assert choice["reason"].startswith("qwen2_5-coder-0_5b-q4_k_m: ")
        (candidate,) = choice["candidates"]
        assert candidate["name"] == "qwen2_5-coder-0_5b-q4_k_m" and candidate["fits_in_memory"]
        assert candidate["typical_request_ms"] > 0
        assert status["model_path"] == str(store / default_model.name)
        assert f"model = auto: {choice['reason']}" in server.log()
        (cached,) = json.loads((store / "speed.json").read_text()).values()
        assert cached["generate_tps"] > 0 and cached["prompt_tps"] > 0
    finally:
        server.close()
