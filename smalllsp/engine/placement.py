"""Where a Mixture-of-Experts model's expert weights live: GPU memory or CPU memory.

A sparse MoE coder (Qwen3-Coder-30B-A3B, DeepSeek-Coder-V2-Lite) has far more
weights than a consumer GPU holds, but each token reads only a few experts.
llama.cpp's answer, ``--cpu-moe`` / ``--n-cpu-moe N``, keeps the expert
tensors of some layers in CPU memory and everything else (attention, norms,
router, embeddings, KV cache) on the GPU, so the model runs at close to GPU
speed in a fraction of the VRAM. llama-cpp-python's ``Llama`` does not expose
the mechanism underneath, ``llama_model_params.tensor_buft_overrides``; this
module reads the model's expert sizes from its GGUF, decides how many layers'
experts go to the CPU, and gets the override list into the next model load.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import re
import sys
import threading
from pathlib import Path
from typing import Iterator, Literal, Sequence

from smalllsp.engine.gguf_header import read_header

# llama.cpp's LLM_FFN_EXPS_REGEX (common/common.h), the pattern behind
# --cpu-moe: the stacked per-expert FFN weights, including the fused gate_up
# and chunked (_chexps) variants some architectures use. It deliberately
# leaves out the router (ffn_gate_inp) and shared experts (*_shexp).
EXPERT_REGEX = r"\.ffn_(up|down|gate|gate_up)_(ch|)exps"

# The same tensors, with the layer number captured, for reading a GGUF.
_EXPERT_TENSOR = re.compile(r"^blk\.(\d+)" + EXPERT_REGEX)

POLICIES = ("auto", "gpu", "cpu")


@dataclasses.dataclass(frozen=True)
class MoeInfo:
    """What placement needs to know about an MoE model, from its GGUF alone."""

    architecture: str
    expert_count: int
    expert_used_count: int
    block_count: int
    expert_bytes_per_layer: tuple[int, ...]  # index = layer number
    total_bytes: int  # all tensors in the file

    @property
    def expert_bytes(self) -> int:
        return sum(self.expert_bytes_per_layer)

    @property
    def dense_bytes(self) -> int:
        """Weights that are not experts: attention, norms, router, embeddings."""
        return self.total_bytes - self.expert_bytes


def read_moe_info(path: Path | str) -> MoeInfo | None:
    """Expert counts and sizes of the model at ``path``; None for a dense model.

    Reads the GGUF header only (:mod:`smalllsp.engine.gguf_header`), never the weights.
    """
    header = read_header(path)
    meta = header.metadata
    arch = meta.get("general.architecture")
    if arch is None:
        raise ValueError(f"{path} has no general.architecture: not a model GGUF")
    expert_count = meta.get(f"{arch}.expert_count")
    if not expert_count:
        return None
    expert_used = meta.get(f"{arch}.expert_used_count")
    block_count = meta.get(f"{arch}.block_count")
    if expert_used is None or block_count is None:
        raise ValueError(
            f"{path} declares {expert_count} experts but lacks {arch}.expert_used_count or {arch}.block_count"
        )

    per_layer = [0] * int(block_count)
    total = 0
    for tensor in header.tensors:
        size = tensor.n_bytes
        total += size
        match = _EXPERT_TENSOR.search(tensor.name)
        if match is None:
            continue
        layer = int(match.group(1))
        if layer >= len(per_layer):
            raise ValueError(
                f"{path}: tensor {tensor.name} is beyond {arch}.block_count {block_count}"
            )
        per_layer[layer] += size
    if not any(per_layer):
        raise ValueError(
            f"{path} declares {expert_count} experts but has no expert tensors matching {EXPERT_REGEX}"
        )
    return MoeInfo(
        architecture=str(arch),
        expert_count=int(expert_count),
        expert_used_count=int(expert_used),
        block_count=int(block_count),
        expert_bytes_per_layer=tuple(per_layer),
        total_bytes=total,
    )


def expert_patterns(cpu_layers: Sequence[int] | Literal["all"]) -> list[str]:
    """The tensor-name regexes that put these layers' experts on the CPU.

    ``"all"`` is llama.cpp's ``--cpu-moe``: one pattern for every layer. A list
    of layers is ``--n-cpu-moe``'s form, one ``blk\\.N`` pattern per layer
    (``--n-cpu-moe N`` is the list ``range(N)``). llama.cpp matches them with
    ``std::regex_search``, so ``blk\\.1\\.`` does not catch layer 11.
    """
    if cpu_layers == "all":
        return [EXPERT_REGEX]
    if isinstance(cpu_layers, str):
        raise ValueError(f"cpu_layers must be 'all' or a list of layer numbers, not {cpu_layers!r}")
    layers = []
    for layer in cpu_layers:
        if isinstance(layer, bool) or not isinstance(layer, int) or layer < 0:
            raise ValueError(f"layer numbers must be non-negative integers, not {layer!r}")
        layers.append(layer)
    return [rf"blk\.{layer}{EXPERT_REGEX}" for layer in sorted(set(layers))]


def choose_cpu_layers(
    policy: str, info: MoeInfo, free_vram_bytes: int | None, other_bytes_estimate: int
) -> int:
    """How many layers, counted from the first, keep their experts in CPU memory.

    ``policy``: ``gpu`` (none), ``cpu`` (all), an integer N (the first N,
    clamped to the layer count), or ``auto``: the fewest layers whose experts
    must leave the GPU so that what stays fits in ``free_vram_bytes``. What
    stays is the dense weights (from ``info``), the experts of the remaining
    layers, and ``other_bytes_estimate``: everything else the GPU must hold,
    KV cache, compute buffers and a margin. With no GPU (``free_vram_bytes``
    None) ``auto`` keeps all experts on the CPU. If even the dense part does
    not fit, ``auto`` answers all layers; whether the dense part itself fits
    is for the GPU-layer setting to decide.
    """
    text = str(policy).strip().lower()
    layers = info.block_count
    if text == "gpu":
        return 0
    if text == "cpu":
        return layers
    if text == "auto":
        if free_vram_bytes is None:
            return layers
        on_gpu = info.dense_bytes + other_bytes_estimate + info.expert_bytes
        for n in range(layers + 1):
            if on_gpu <= free_vram_bytes:
                return n
            if n < layers:
                on_gpu -= info.expert_bytes_per_layer[n]
        return layers
    try:
        count = int(text)
    except ValueError:
        raise ValueError(
            f"MoE placement policy must be one of {', '.join(POLICIES)} or a number of layers, not {policy!r}"
        ) from None
    if count < 0:
        raise ValueError(
            f"MoE placement: the number of layers with experts on the CPU cannot be negative ({policy!r})"
        )
    return min(count, layers)


def _ggml_library(stem: str) -> ctypes.CDLL:
    """A ggml library from the copy llama-cpp-python ships and has already loaded."""
    import llama_cpp

    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    if sys.platform == "win32":
        names = [f"{stem}.dll", f"lib{stem}.dll"]
    elif sys.platform == "darwin":
        names = [f"lib{stem}.dylib", f"lib{stem}.so"]
    else:
        names = [f"lib{stem}.so"]
    for name in names:
        candidate = lib_dir / name
        if candidate.exists():
            return ctypes.CDLL(str(candidate))
    raise RuntimeError(f"llama-cpp-python ships no {' or '.join(names)} in {lib_dir}")


def cpu_buffer_type() -> int:
    """The address of ggml's CPU buffer type, ``ggml_backend_cpu_buffer_type()``.

    It is defined in libggml-base (a ``libggml-cpu`` handle finds it too, through
    that library's dependencies).
    """
    function = _ggml_library("ggml-base").ggml_backend_cpu_buffer_type
    function.argtypes = []
    function.restype = ctypes.c_void_p
    address = function()
    if not address:
        raise RuntimeError("ggml_backend_cpu_buffer_type() returned NULL")
    return address


# enum ggml_backend_dev_type in ggml-backend.h: CPU, GPU, IGPU, ACCEL.
_DEVICE_GPU = 1
_DEVICE_IGPU = 2


def free_vram_bytes() -> int | None:
    """Free memory summed over the GPUs llama.cpp sees; None when it sees none.

    A CPU-only build of llama-cpp-python (the default) has no GPU device, so this
    is None there even on a machine with a GPU.
    """
    registry = _ggml_library("ggml")
    base = _ggml_library("ggml-base")
    registry.ggml_backend_dev_count.argtypes = []
    registry.ggml_backend_dev_count.restype = ctypes.c_size_t
    registry.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    registry.ggml_backend_dev_get.restype = ctypes.c_void_p
    base.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    base.ggml_backend_dev_type.restype = ctypes.c_int
    base.ggml_backend_dev_memory.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.POINTER(ctypes.c_size_t),
    ]
    base.ggml_backend_dev_memory.restype = None

    found = False
    free_total = 0
    for index in range(registry.ggml_backend_dev_count()):
        device = registry.ggml_backend_dev_get(index)
        if base.ggml_backend_dev_type(device) not in (_DEVICE_GPU, _DEVICE_IGPU):
            continue
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        base.ggml_backend_dev_memory(device, ctypes.byref(free), ctypes.byref(total))
        found = True
        free_total += free.value
    return free_total if found else None


class BuftOverride(ctypes.Structure):
    """``struct llama_model_tensor_buft_override`` (llama.h); llama-cpp-python does not define it."""

    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


@dataclasses.dataclass
class OverrideHandle:
    """What ``tensor_overrides`` yields: its patterns, and whether a load took them."""

    patterns: tuple[str, ...]
    applied: bool = False


_active = threading.Lock()


@contextlib.contextmanager
def tensor_overrides(patterns: Sequence[str]) -> Iterator[OverrideHandle]:
    """Make the next ``llama_cpp.Llama(...)`` in this block put tensors matching ``patterns`` in CPU memory.

    How: ``Llama.__init__`` starts its model parameters from
    ``llama_cpp.llama_cpp.llama_model_default_params()`` and never touches
    ``tensor_buft_overrides`` afterwards. For the duration of the block that
    function is replaced by one that, on its first call only, fills the field
    with a NULL-terminated ``{pattern, CPU buffer type}`` array. The array and
    the pattern bytes are attached to the returned parameter struct, which
    ``Llama`` keeps as ``self.model_params`` for its lifetime, so llama.cpp
    never sees a dangling pointer. The original function is back when the
    block ends, error or not. Alternatives were worse: ``Llama`` has no
    parameter that reaches the field, and wrapping the lower-level
    ``llama_model_load_from_file`` would reach into ``llama_cpp._internals``.

    The replacement is process-wide while the block runs: only one block may
    be active at a time (a second one raises), and no other thread should
    create a ``Llama`` meanwhile. ``handle.applied`` says whether a load used
    the overrides. An empty ``patterns`` changes nothing.
    """
    import llama_cpp
    import llama_cpp.llama_cpp as low

    handle = OverrideHandle(tuple(patterns))
    if not handle.patterns:
        yield handle
        return
    limit = llama_cpp.llama_max_tensor_buft_overrides()
    if len(handle.patterns) >= limit:
        raise ValueError(
            f"{len(handle.patterns)} tensor overrides; llama.cpp accepts at most {limit - 1}"
        )
    if not _active.acquire(blocking=False):
        raise RuntimeError("tensor_overrides is already active: one model load at a time")
    try:
        buft = cpu_buffer_type()
        encoded = [pattern.encode("utf-8") for pattern in handle.patterns]
        array = (BuftOverride * (len(encoded) + 1))()  # zeroed: the last entry is the terminator
        for entry, pattern in zip(array, encoded):
            entry.pattern = pattern
            entry.buft = buft
        original = low.llama_model_default_params

        def default_params_with_overrides() -> low.llama_model_params:
            params = original()
            if not handle.applied:
                params.tensor_buft_overrides = ctypes.addressof(array)
                params._smalllsp_buft_overrides = (array, encoded)  # lives as long as the params
                handle.applied = True
            return params

        low.llama_model_default_params = default_params_with_overrides
        try:
            yield handle
        finally:
            low.llama_model_default_params = original
    finally:
        _active.release()
