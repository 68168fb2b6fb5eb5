"""Checks before llama.cpp loads a model: the file, the memory it needs, where its layers go.

llama.cpp itself answers a bad file with a crash or a bare "failed to load",
and a model too large for memory with a machine paging to a crawl. Each
check here fails first with a message that says what is wrong and what to
change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from smalllsp.config import Config
from smalllsp.engine import gguf_header, placement
from smalllsp.engine.constants import (
    BYTES_PER_KV_VALUE,
    CACHE_TYPES,
    COMPUTE_BUFFER_MARGIN,
    CPU_COMPUTE_MARGIN,
)


class ModelError(RuntimeError):
    """The model file is missing, unreadable, not GGUF, or failed to load."""


def cache_type_id(config: Config) -> int:
    """The ggml type of the KV cache, checked against what llama.cpp accepts."""
    if config.cache_type not in CACHE_TYPES:
        raise ModelError(f"cache_type {config.cache_type!r} is not one of {', '.join(CACHE_TYPES)}")
    if config.cache_type != "f16" and not config.flash_attn:
        raise ModelError(
            f"cache_type {config.cache_type!r} needs flash_attn = true (llama.cpp quantizes the V cache only with flash attention)"
        )
    return CACHE_TYPES[config.cache_type]


def check_model_file(path: Path) -> None:
    """Fail with a clear message before llama.cpp sees a bad file."""
    if not path.exists():
        raise ModelError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelError(f"model path is not a file: {path}")
    try:
        gguf_header.require_gguf(path)
    except OSError as exc:
        raise ModelError(f"model file {path} cannot be read: {exc}") from exc
    except gguf_header.NotGguf as exc:
        raise ModelError(f"model file {exc}") from exc
    try:
        header = gguf_header.read_header(path)
    except (ValueError, OSError) as exc:
        raise ModelError(f"model file {path} is damaged or truncated: {exc}") from exc
    weights = sum(tensor.n_bytes for tensor in header.tensors)
    size = path.stat().st_size
    if size < weights:
        raise ModelError(
            f"model file {path} is truncated: its tensors need {_gib(weights)} but the file has {_gib(size)} "
            "(an interrupted download or copy? `smalllsp models verify` checks installed models)"
        )


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f} GiB"


def available_memory_bytes() -> int | None:
    """Memory the system can give a new process without swapping (MemAvailable); None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def memory_needed_bytes(path: Path, config: Config) -> tuple[int, int]:
    """Weights (the file's size) and a full KV cache of ``config.n_ctx``, from the GGUF header."""
    meta = gguf_header.read_header(path).metadata
    arch = meta.get("general.architecture", "")
    layers = int(meta.get(f"{arch}.block_count", 0) or 0)
    embd = int(meta.get(f"{arch}.embedding_length", 0) or 0)
    heads = int(meta.get(f"{arch}.attention.head_count", 0) or 0)
    kv_heads = int(meta.get(f"{arch}.attention.head_count_kv", heads) or heads)
    kv_width = embd // heads * kv_heads if heads else embd
    kv = int(2 * layers * config.n_ctx * kv_width * BYTES_PER_KV_VALUE.get(config.cache_type, 2.0))
    return path.stat().st_size, kv


def check_memory(path: Path, config: Config, *, gpu_free: int | None = None) -> None:
    """Refuse, naming the size needed, a model that cannot fit in the memory there is.

    llama.cpp maps the weights and would start anyway, then page the machine
    to a crawl (or be killed) instead of saying so.
    """
    available = available_memory_bytes()
    if available is None:
        return
    weights, kv = memory_needed_bytes(path, config)
    needed = weights + kv + CPU_COMPUTE_MARGIN
    if needed > available + (gpu_free or 0):
        where = f"{_gib(available)} of free memory" + (
            f" and {_gib(gpu_free)} of free GPU memory" if gpu_free else ""
        )
        raise ModelError(
            f"model {path.name} needs about {_gib(needed)} of memory (weights {_gib(weights)}, KV cache {_gib(kv)} "
            f"for n_ctx {config.n_ctx}), but there is {where}: choose a smaller model or quantization, or a smaller n_ctx"
        )


def gpu_layer_attempts(requested: int, n_layers: int) -> list[int]:
    """GPU layer counts to try, most first: what was asked, then half, a quarter, then none (the CPU)."""
    first = n_layers if requested < 0 else min(requested, n_layers)
    attempts = [requested]
    for fewer in (first // 2, first // 4):
        if 0 < fewer < first and fewer not in attempts:
            attempts.append(fewer)
    return attempts + [0] if requested != 0 else attempts


def kv_cache_bytes(model: Any, n_ctx: int, cache_type: str) -> int:
    """Memory of a full KV cache: keys and values, every layer, every position."""
    import llama_cpp

    n_head = llama_cpp.llama_model_n_head(model)
    kv_width = (
        llama_cpp.llama_model_n_embd(model) // n_head * llama_cpp.llama_model_n_head_kv(model)
    )
    values = 2 * llama_cpp.llama_model_n_layer(model) * n_ctx * kv_width
    return int(values * BYTES_PER_KV_VALUE[cache_type])


def plan_moe_placement(
    path: Path, config: Config
) -> tuple[placement.MoeInfo | None, int, list[str]]:
    """The MoE facts of ``path``, how many layers keep their experts in CPU memory, and the override patterns.

    ``auto`` moves experts only when there is a GPU to save memory on: on a
    CPU-only build everything is in CPU memory anyway, and overriding the
    buffer type would only take the CPU's repacked fast kernels away.
    """
    import llama_cpp

    try:
        moe = placement.read_moe_info(path)
    except ValueError as exc:
        raise ModelError(str(exc)) from exc
    if moe is None:
        return None, 0, []
    gpu = llama_cpp.llama_supports_gpu_offload() and config.n_gpu_layers != 0
    if config.moe_placement.strip().lower() == "auto" and not gpu:
        return moe, moe.block_count, []
    free = placement.free_vram_bytes() if gpu else None
    kv_estimate = (
        config.n_ctx * moe.block_count * 2 * 1024
    )  # bytes per position per layer, generous for MoE coders
    try:
        layers = placement.choose_cpu_layers(
            config.moe_placement, moe, free, kv_estimate + COMPUTE_BUFFER_MARGIN
        )
    except ValueError as exc:
        raise ModelError(str(exc)) from exc
    if layers == 0:
        return moe, 0, []
    patterns = placement.expert_patterns(
        "all" if layers >= moe.block_count else list(range(layers))
    )
    return moe, layers, patterns
