"""A Mixture-of-Experts model through the real server: the tiny random qwen3moe fixture."""

import pytest

from smalllsp import modelstore
from tests.fixtures import tiny_moe

from .conftest import initialize, inline_params, open_document
from .test_inline_completion import status

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("policy, cpu_layers", [("cpu", 2), ("1", 1)])
async def test_the_server_places_experts_and_answers(client, tmp_path, policy, cpu_layers):
    path = tiny_moe.write_tiny_moe_gguf(tmp_path / "tiny-moe.gguf", modelstore.resolve(""))
    await initialize(client, options={"model": str(path), "moe_placement": policy, "max_tokens": 8})
    uri = open_document(client, "def f(x):\n    \n")
    answer = await client.text_document_inline_completion_async(inline_params(uri, 1, 4))
    assert isinstance(
        answer.items, (list, tuple)
    )  # random weights: any text, or none, but an answer
    state = await status(client)
    assert state["state"] == "ready", state["error"]
    assert state["moe"] == {
        "experts": 4,
        "experts_per_token": 2,
        "layers": 2,
        "layers_with_experts_in_cpu_memory": cpu_layers,
    }
    assert state["last_generation"]["source"] == "model"
