"""Faults with the real model: a bad model file, too little memory, a GPU that runs out of
memory, a model thread that raises (moved from tests/unit/test_faults.py: they load the model).

The GPU cases inject the failure (this project's machines have no GPU): a
CPU-only llama-cpp-python is told it can offload, and every load that asks
for GPU layers fails the way an out-of-memory load does (llama-cpp-python
raises ValueError). The loads that succeed are real loads of the real model.
"""

from __future__ import annotations

import asyncio

import pytest

from smalllsp.config import Config
from smalllsp.engine import Engine
from smalllsp.engine import preflight as llama_module  # the memory checks live there
from smalllsp.engine.llama import LlamaRuntime, ModelError, check_memory, check_model_file


def test_a_truncated_model_is_refused_with_the_sizes(default_model, tmp_path):
    cut = tmp_path / "cut.gguf"
    with default_model.open("rb") as source, cut.open("wb") as target:
        target.write(source.read(32 * 2**20))  # the whole header, a fraction of the weights
    with pytest.raises(
        ModelError, match=r"truncated: its tensors need 0\.4\d GiB but the file has 0\.03 GiB"
    ):
        check_model_file(cut)
    header_only = tmp_path / "header.gguf"
    header_only.write_bytes(cut.read_bytes()[:4096])
    with pytest.raises(ModelError, match="damaged or truncated"):
        check_model_file(header_only)


def test_a_model_too_large_for_memory_names_the_size_needed(default_model, monkeypatch):
    monkeypatch.setattr(llama_module, "available_memory_bytes", lambda: 300 * 2**20)
    with pytest.raises(ModelError) as refused:
        LlamaRuntime(default_model, Config(n_ctx=4096))
    message = str(refused.value)
    # 469 MiB of weights + 48 MiB of KV cache at n_ctx 4096 + 256 MiB of compute buffers
    assert (
        "needs about 0.75 GiB of memory (weights 0.46 GiB, KV cache 0.05 GiB for n_ctx 4096)"
        in message
    ), message
    assert "0.29 GiB of free memory" in message and "smaller n_ctx" in message


def test_the_memory_check_counts_the_kv_cache_of_the_context(default_model, monkeypatch):
    monkeypatch.setattr(llama_module, "available_memory_bytes", lambda: 2 * 2**30)
    check_memory(default_model, Config(n_ctx=4096))  # fits
    with pytest.raises(ModelError, match=r"KV cache 3\.00 GiB for n_ctx 262144"):
        check_memory(default_model, Config(n_ctx=262_144))
    check_memory(default_model, Config(n_ctx=262_144), gpu_free=8 * 2**30)  # the GPU holds the rest


@pytest.fixture
def gpu_that_is_always_full(monkeypatch):
    """llama_cpp says it can offload, and every load with GPU layers fails as an out-of-memory one does."""
    import llama_cpp

    real = llama_cpp.Llama
    attempts: list[int] = []

    def load(*args, n_gpu_layers=0, **kwargs):
        attempts.append(n_gpu_layers)
        if n_gpu_layers != 0:
            raise ValueError(
                "Failed to load model from file (injected: cudaMalloc failed: out of memory)"
            )
        return real(*args, n_gpu_layers=0, **kwargs)

    monkeypatch.setattr(llama_cpp, "Llama", load)
    monkeypatch.setattr(llama_cpp, "llama_supports_gpu_offload", lambda: True)
    monkeypatch.setattr(llama_module.placement, "free_vram_bytes", lambda: 8 * 2**30)
    return attempts


def test_out_of_gpu_memory_falls_back_to_fewer_layers_then_the_cpu_with_a_warning(
    default_model, gpu_that_is_always_full
):
    runtime = LlamaRuntime(default_model, Config(n_ctx=512, n_gpu_layers=-1))
    try:
        assert gpu_that_is_always_full == [
            -1,
            12,
            6,
            0,
        ]  # qwen2.5 0.5B: 24 blocks + the output layer
        assert runtime.device == "cpu" and runtime.gpu_layers == 0
        assert len(runtime.warnings) == 1
        assert (
            "did not fit on the GPU with n_gpu_layers = -1" in runtime.warnings[0]
            and "CPU only" in runtime.warnings[0]
        )
        prompt = runtime.fim.layout(
            runtime.tokenize("def add(a, b):\n"), runtime.tokenize("\n"), runtime.tokenize("    ")
        )
        assert runtime.generate(prompt, max_tokens=4).tokens  # and it works
    finally:
        runtime.close()


def test_when_even_the_cpu_load_fails_every_attempt_is_reported(
    tmp_path, default_model, gpu_that_is_always_full, monkeypatch
):
    import llama_cpp

    def load(*args, n_gpu_layers=0, **kwargs):
        gpu_that_is_always_full.append(n_gpu_layers)
        raise ValueError("no memory at all")

    monkeypatch.setattr(llama_cpp, "Llama", load)
    with pytest.raises(ModelError) as refused:
        LlamaRuntime(default_model, Config(n_ctx=512, n_gpu_layers=4))
    assert gpu_that_is_always_full == [4, 2, 1, 0]
    assert "no memory at all" in str(refused.value) and "n_gpu_layers 4" in str(refused.value)


def test_a_generation_that_raises_midway_fails_its_request_and_the_next_one_works(default_model):
    async def scenario():
        engine = Engine()
        await engine.load(lambda: LlamaRuntime(default_model, Config(n_ctx=512)))
        calls = []

        def boom():
            calls.append(1)
            if len(calls) == 4:  # past the prompt, between two generated tokens
                raise RuntimeError("injected failure in the model thread")
            return False

        def layout(runtime):
            return runtime.fim.layout(
                runtime.tokenize("def fib(n):\n"), runtime.tokenize("\n"), runtime.tokenize("    ")
            )

        with pytest.raises(RuntimeError, match="injected"):
            await engine.run(
                "doc",
                lambda runtime, cancelled: runtime.generate(
                    layout(runtime), max_tokens=16, cancelled=boom
                ),
            )
        after = await engine.run(
            "doc",
            lambda runtime, cancelled: runtime.generate(
                layout(runtime), max_tokens=8, cancelled=cancelled
            ),
        )
        fresh = await engine.run(
            "other",
            lambda runtime, cancelled: (
                setattr(runtime.llm, "n_tokens", 0),
                runtime.generate(layout(runtime), max_tokens=8),
            )[1],
        )
        assert after.tokens and after.text == fresh.text  # the KV cache was not left half-written
        assert engine.status()["state"] == "ready" and engine.pending == 0
        engine.close()

    asyncio.run(asyncio.wait_for(scenario(), 300))
