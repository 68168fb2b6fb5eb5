"""Loading a model into llama.cpp without losing a byte of LSP output, with the sequences it needs.

llama-cpp-python prints to stdout and redirects file descriptor 1 while it
loads with ``verbose=False``; an LSP server on stdio cannot afford either.
And ``Llama`` has no parameter for several sequences in one unified KV
cache, which best-of-n needs.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import os
from pathlib import Path
from typing import Any, Iterator

from smalllsp.config import Config
from smalllsp.engine import placement
from smalllsp.engine.constants import MAX_SEQUENCES
from smalllsp.engine.preflight import ModelError

llama_log = logging.getLogger("smalllsp.llama_cpp")


@contextlib.contextmanager
def parallel_sequences(n: int) -> Iterator[None]:
    """Make the next ``llama_cpp.Llama(...)`` in this block hold ``n`` sequences in one unified KV cache.

    ``Llama`` has no parameter for it, and starts its context parameters from
    ``llama_context_default_params()``: for the duration of the block that
    function returns parameters with ``n_seq_max = n`` and ``kv_unified`` set.
    Unified: all sequences share the ``n_ctx`` cells, so copying the prompt
    to a candidate's sequence costs no memory (cells are shared, not copied),
    and a long prompt is not limited to ``n_ctx / n``.
    """
    import llama_cpp.llama_cpp as low

    original = low.llama_context_default_params

    def default_params() -> low.llama_context_params:
        params = original()
        params.n_seq_max = n
        params.kv_unified = True
        return params

    low.llama_context_default_params = default_params
    try:
        yield
    finally:
        low.llama_context_default_params = original


_LOG_CALLBACK = None


def route_llama_logs() -> None:
    """Send llama.cpp's own log lines to Python logging (stderr), never stdout."""
    global _LOG_CALLBACK
    import llama_cpp

    if _LOG_CALLBACK is not None:
        return

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        message = text.decode("utf-8", errors="replace").rstrip()
        if message:
            llama_log.debug("%s", message)

    _LOG_CALLBACK = callback
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


def load_llama(
    path: Path, config: Config, kv_type: int, n_gpu_layers: int, patterns: list[str]
) -> Any:
    """One llama.cpp load with ``n_gpu_layers`` on the GPU; ModelError if it fails."""
    import llama_cpp

    printed = io.StringIO()
    try:
        # verbose=True: with verbose=False llama-cpp-python points file
        # descriptor 1 at /dev/null while loading, which would swallow LSP
        # messages written meanwhile. llama.cpp's log lines go through our
        # callback; the Python-level prints (metadata, chat template) are
        # caught here and logged at DEBUG.
        with (
            contextlib.redirect_stderr(printed),
            placement.tensor_overrides(patterns) as overrides,
            parallel_sequences(MAX_SEQUENCES),
        ):
            llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=config.n_ctx,
                n_batch=config.n_batch,
                n_threads=config.n_threads or os.cpu_count() or 1,
                # the same for batches (several candidates side by side, prompt chunks): left
                # unset it is every core, and on a loaded machine those threads' spin-waits made
                # a 4-row sampling step with n_threads = 1 take seconds instead of 0.3 s
                n_threads_batch=config.n_threads or os.cpu_count() or 1,
                n_gpu_layers=n_gpu_layers,
                flash_attn=config.flash_attn,
                type_k=kv_type,
                type_v=kv_type,
                logits_all=False,
                verbose=True,
            )
    except (ValueError, RuntimeError, OSError, MemoryError) as exc:
        raise ModelError(f"llama.cpp could not load {path}: {exc}") from exc
    finally:
        llama_log.debug("%s", printed.getvalue())
    if patterns and not overrides.applied:
        llm.close()
        raise ModelError(f"the MoE expert placement did not reach llama.cpp while loading {path}")
    return llm
