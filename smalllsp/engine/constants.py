"""The in-process engine's measured constants, in one place, each with the reason for its value."""

from __future__ import annotations

from smalllsp.config import MAX_SAMPLES

# Prompt tokens are evaluated in chunks of at least this many, so a cancel or a
# newer request is noticed within one chunk (~0.3 s on a 2-core CPU, 0.5B model).
PROMPT_CHUNK = 32

# KV cache types llama.cpp accepts, as ggml type ids (llama_cpp.GGML_TYPE_*).
CACHE_TYPES = {"f16": 1, "q4_0": 2, "q8_0": 8}
# Bytes per stored K or V value of each cache type (q8_0: 34 bytes per block of 32).
BYTES_PER_KV_VALUE = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}

# What llama.cpp needs besides weights and KV cache on a CPU (compute buffers, scratch).
CPU_COMPUTE_MARGIN = 256 * 2**20
# What the GPU holds besides weights and KV cache (compute buffers), for ``auto`` placement.
COMPUTE_BUFFER_MARGIN = 512 * 2**20

# Sequences the context holds: the prompt's (0) and the candidates' copies of it.
MAX_SEQUENCES = MAX_SAMPLES
# Candidates are drawn from the TOP_K likeliest tokens before top-p (llama.cpp's default top_k):
# it keeps one sampling step at a partial sort of the vocabulary.
TOP_K = 40
