"""The bench's third pass: llama.cpp's own ``llama-server`` with llama.vim's request.

The same keystrokes, the same model, the same suggestion cache in front (so
the same requests reach a model), but each model call is llama.vim's
``/infill`` request to a ``llama-server`` on loopback: the lines above the
cursor as ``input_prefix``, the rest of the line and the lines below as
``input_suffix``, the typed part of the line as ``prompt``, with
``cache_prompt`` so the server reuses its KV cache. Build the binary from the
pinned llama.cpp with ``scripts/build-llama-server``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from smalllsp.bench.measure import Cost, peak_rss_kib, replay, summarize
from smalllsp.bench.trace import Keystroke
from smalllsp.config import Config
from smalllsp.context.window import Cursor

# llama.vim's defaults (g:llama_config): lines of context and limits.
N_PREFIX_LINES = 256
N_SUFFIX_LINES = 64
N_PREDICT = 128
T_MAX_PROMPT_MS = 500
T_MAX_PREDICT_MS = 1000


def infill_request(cursor: Cursor) -> dict[str, Any]:
    """llama.vim's ``/infill`` body for this cursor."""
    lines = cursor.lines
    prefix = "".join(
        line + "\n" for line in lines[max(0, cursor.line - N_PREFIX_LINES) : cursor.line]
    )
    suffix = cursor.after + "".join(
        "\n" + line for line in lines[cursor.line + 1 : cursor.line + 1 + N_SUFFIX_LINES]
    )
    line = lines[cursor.line]
    return {
        "input_prefix": prefix,
        "input_suffix": suffix,
        "input_extra": [],
        "prompt": cursor.before,
        "n_predict": N_PREDICT,
        "n_indent": len(line) - len(line.lstrip()),
        "top_k": 40,
        "top_p": 0.90,
        "samplers": ["top_k", "top_p", "infill"],
        "stream": False,
        "cache_prompt": True,
        "t_max_prompt_ms": T_MAX_PROMPT_MS,
        "t_max_predict_ms": T_MAX_PREDICT_MS,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url: str, body: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _wait_healthy(base: str, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"llama-server exited with code {process.returncode} before it was ready"
            )
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"llama-server was not ready after {timeout_s:.0f} s")


class LlamaServer:
    """A ``llama-server`` on loopback, for the bench and the remote engine's tests.

    ``with LlamaServer(binary, model, ...) as server:`` starts it, waits until
    ``/health`` answers, and stops it on exit; ``server.url`` is its base URL.
    ``parallel`` slots share ``n_ctx x parallel`` of context, so each request
    gets ``n_ctx``, as in-process; flash attention and the KV cache type are
    smalllsp's settings too, so greedy decoding gives the in-process answers.
    """

    def __init__(
        self,
        binary: Path,
        model: Path,
        *,
        n_ctx: int,
        threads: int,
        parallel: int = 1,
        cache_reuse: int = 0,
        alias: str | None = None,
        flash_attn: bool = False,
        cache_type: str = "f16",
        log: Path | None = None,
    ) -> None:
        if not binary.is_file():
            raise ValueError(
                f"no llama-server binary at {binary} (build one with scripts/build-llama-server)"
            )
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [
            str(binary),
            "-m",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "-c",
            str(n_ctx * parallel),
            "-t",
            str(threads),
            "-np",
            str(parallel),
            "--no-webui",
        ]
        if cache_reuse:
            self.command += ["--cache-reuse", str(cache_reuse)]
        if alias:
            self.command += ["--alias", alias]
        # As in-process (flash_attn, cache_type): with other attention kernels
        # the logits differ in the last digits, and a near tie can go the other way.
        self.command += [
            "-fa",
            "on" if flash_attn else "off",
            "-ctk",
            cache_type,
            "-ctv",
            cache_type,
        ]
        self._log = log
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "LlamaServer":
        output = self._log.open("ab") if self._log else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command, stdout=output, stderr=output)
        try:
            _wait_healthy(self.url, self.process)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def peak_rss_kib(self) -> int | None:
        return peak_rss_kib(self.process.pid) if self.process else None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def llama_vim_server(binary: Path, model: Path, config: Config) -> LlamaServer:
    """llama-server as llama.vim sets it up (one slot, ``--cache-reuse 256``), with smalllsp's
    threads and KV cache settings, so that both read and decode alike."""
    return LlamaServer(
        binary,
        model,
        n_ctx=config.n_ctx,
        threads=config.n_threads or os.cpu_count() or 1,
        cache_reuse=256,
        flash_attn=config.flash_attn,
        cache_type=config.cache_type,
    )


def run_peer(binary: Path, model: Path, config: Config, strokes: list[Keystroke]) -> dict[str, Any]:
    """Type the keystrokes against ``llama-server`` on loopback."""
    with llama_vim_server(binary, model, config) as server:
        base = server.url

        def model_call(cursor: Cursor) -> tuple[list[str], Cost]:
            answer = post(base + "/infill", infill_request(cursor))
            timings = answer.get("timings", {})
            evaluated = int(timings.get("prompt_n", 0))
            prompt_tokens = int(answer.get("tokens_evaluated", evaluated))
            return [answer.get("content", "")], {
                "source": "model",
                "n_prompt": prompt_tokens,
                "n_reused": max(prompt_tokens - evaluated, 0),
                "n_evaluated": evaluated,
                "n_generated": int(timings.get("predicted_n", 0)),
                "stop_reason": answer.get("stop_type", ""),
                "ms": float(timings.get("prompt_ms", 0)) + float(timings.get("predicted_ms", 0)),
            }

        latencies, generations = replay(strokes, model_call)
        peak = server.peak_rss_kib()
    return {**summarize(latencies, generations), "peak_rss_mib": peak / 1024 if peak else None}
