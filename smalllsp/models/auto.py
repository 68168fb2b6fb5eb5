"""``model = auto``: the best installed catalog model this machine serves within the latency target.

A bigger model writes better code (the 1.5B scores about 28 points of
HumanEval single-line pass@1 above the 0.5B) and costs more per token; on a
GPU or Apple Silicon the cost hardly matters, on a 2-core CPU it decides.
So the choice is measured, not guessed: each candidate that fits in free
memory (RAM, plus free VRAM where llama.cpp offloads) is timed once with a
short probe (a prompt read, a few tokens generated), and the timing is
cached per machine in the model store. A typical request (a few dozen new
prompt tokens after KV reuse, a short answer) must fit ``time_budget_ms``.
The best model, by parameter count, that fits both wins; when none is fast
enough, the fastest; the reason says which and why.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import platform
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from smalllsp import modelstore
from smalllsp.config import Config

log = logging.getLogger(__name__)

AUTO = "auto"
SPEED_FILE = "speed.json"
# What a typical editor request costs after KV reuse: prompt tokens read, tokens generated.
TYPICAL_PROMPT_TOKENS = 48
TYPICAL_ANSWER_TOKENS = 24
# The probe: a prompt of about this many tokens, then this many tokens generated.
PROBE_TEXT = (
    "import os\nimport sys\n\n\ndef read_config(path):\n"
    '    """Read a key=value file into a dict, skipping comments."""\n'
    "    values = {}\n    with open(path) as handle:\n        for line in handle:\n"
    "            line = line.strip()\n            if not line or line.startswith('#'):\n"
    "                continue\n            key, _, value = line.partition('=')\n"
)
PROBE_TOKENS = 16
PROBE_N_CTX = 512


@dataclasses.dataclass(frozen=True)
class Speed:
    """Tokens per second measured by the probe on this machine."""

    prompt_tps: float
    generate_tps: float
    measured: str  # when (UTC)
    load: float | None = None  # the 1-minute load average then: a busy machine measures slow

    def request_ms(self) -> float:
        return 1000 * (
            TYPICAL_PROMPT_TOKENS / self.prompt_tps + TYPICAL_ANSWER_TOKENS / self.generate_tps
        )


@dataclasses.dataclass(frozen=True)
class Candidate:
    name: str
    path: Path
    parameters_b: float
    need_bytes: int
    fits: bool
    speed: Speed | None  # None when not probed (it did not fit, or a better one was fast enough)


@dataclasses.dataclass(frozen=True)
class Choice:
    name: str
    path: Path
    reason: str
    candidates: tuple[Candidate, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "reason": self.reason,
            "candidates": [
                {
                    "name": c.name,
                    "parameters_b": c.parameters_b,
                    "memory_need_gib": round(c.need_bytes / 2**30, 2),
                    "fits_in_memory": c.fits,
                    "typical_request_ms": round(c.speed.request_ms()) if c.speed else None,
                    "probe": dataclasses.asdict(c.speed) if c.speed else None,
                }
                for c in self.candidates
            ],
        }


def machine_key() -> str:
    """What a speed measurement depends on: the CPU, its cores, the llama.cpp build's devices."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in handle if "model name" in line), cpu
            )
    except OSError:
        pass
    offload = _gpu_offload()
    text = f"{platform.node()}|{platform.system()}|{cpu}|{os.cpu_count()}|gpu={offload}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _gpu_offload() -> bool:
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except (ImportError, OSError, AttributeError):
        return False


def free_memory() -> tuple[int | None, int | None]:
    """Free RAM (MemAvailable) and free VRAM (None without a GPU llama.cpp can use)."""
    from smalllsp.engine import placement
    from smalllsp.engine.preflight import available_memory_bytes

    vram = None
    if _gpu_offload():
        try:
            vram = placement.free_vram_bytes()
        except OSError:
            vram = None
    return available_memory_bytes(), vram


def memory_need(path: Path, config: Config) -> int:
    """Weights, a KV cache of ``n_ctx`` and a working margin (what the loader checks too)."""
    from smalllsp.engine.constants import CPU_COMPUTE_MARGIN
    from smalllsp.engine.preflight import memory_needed_bytes

    weights, kv = memory_needed_bytes(path, config)
    return weights + kv + CPU_COMPUTE_MARGIN


def probe(path: Path, config: Config) -> Speed:
    """Load the model with a small context, read a prompt, generate a few tokens; tokens per second."""
    from smalllsp.engine.llama import LlamaRuntime

    runtime = LlamaRuntime(path, dataclasses.replace(config, n_ctx=PROBE_N_CTX, model=str(path)))
    try:
        # untimed: the first decode allocates buffers and touches the weights (no shared prefix)
        runtime.generate(runtime.tokenize("// warm-up\n"), max_tokens=1)
        tokens = runtime.tokenize(PROBE_TEXT)
        read = runtime.generate(tokens, max_tokens=0)
        written = runtime.generate(tokens, max_tokens=PROBE_TOKENS)
    finally:
        runtime.close()
    generated = max(1, len(written.tokens))
    return Speed(
        prompt_tps=read.n_evaluated / max(read.seconds, 1e-6),
        generate_tps=generated / max(written.seconds, 1e-6),
        measured=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        load=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    )


class SpeedCache:
    """Probe results in the store, by machine and model file (its name and size)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or modelstore.store_dir() / SPEED_FILE

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def key(path: Path) -> str:
        return f"{machine_key()}/{path.name}/{path.stat().st_size}"

    def get(self, path: Path, load_now: float | None = None) -> Speed | None:
        """The cached speed; None when there is none, or when it was measured on a machine
        busier than its cores (``load``) and the machine is now at most half as busy."""
        found = self._read().get(self.key(path))
        try:
            speed = Speed(**found) if isinstance(found, dict) else None
        except TypeError:
            return None
        cores = os.cpu_count() or 1
        if speed is not None and speed.load is not None and speed.load > cores:
            if load_now is not None and load_now <= speed.load / 2:
                return None  # measured while overloaded: measure again now
        return speed

    def put(self, path: Path, speed: Speed) -> None:
        data = self._read()
        data[self.key(path)] = dataclasses.asdict(speed)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(data, indent=1) + "\n")
            os.replace(temporary, self.path)
        except OSError as problem:  # a read-only store: measured again next time
            log.warning(
                "model = auto: the speed probe could not be cached in %s: %s", self.path, problem
            )


def installed() -> list[tuple[modelstore.CatalogModel, Path]]:
    """The catalog models whose file is in the store."""
    return [(e.model, e.path) for e in modelstore.entries() if e.installed]


def choose(
    config: Config,
    *,
    models: Sequence[tuple[modelstore.CatalogModel, Path]] | None = None,
    memory: tuple[int | None, int | None] | None = None,
    measure: Callable[[Path, Config], Speed] = probe,
    cache: SpeedCache | None = None,
    need: Callable[[Path, Config], int] = memory_need,
) -> Choice:
    """The model ``model = auto`` means on this machine, and why."""
    models = installed() if models is None else list(models)
    if not models:
        raise modelstore.StoreError(
            "model = auto: no catalog model is installed; run: smalllsp models install default"
        )
    ram, vram = free_memory() if memory is None else memory
    room = None if ram is None else ram + (vram or 0)
    cache = cache or SpeedCache()
    target = config.time_budget_ms
    ranked = sorted(models, key=lambda m: -float(m[0].info.get("parameters_total_b") or 0))
    candidates: list[Candidate] = []
    chosen: Candidate | None = None
    for model, path in ranked:
        size = float(model.info.get("parameters_total_b") or 0)
        needed = need(path, config)
        fits = room is None or needed <= room
        speed = None
        if fits and chosen is None:
            speed = cache.get(path, os.getloadavg()[0] if hasattr(os, "getloadavg") else None)
            if speed is None:
                log.info("model = auto: measuring %s (once on this machine)", model.name)
                speed = measure(path, config)
                cache.put(path, speed)
        candidate = Candidate(model.name, path, size, needed, fits, speed)
        candidates.append(candidate)
        if chosen is None and speed is not None and speed.request_ms() <= target:
            chosen = candidate
    where = (
        "free memory unknown"
        if room is None
        else f"{_gib(room)} free" + (f" ({_gib(vram)} of it GPU memory)" if vram else "")
    )
    if chosen is not None:
        better = [c for c in candidates if c.parameters_b > chosen.parameters_b]
        assert chosen.speed is not None
        reason = (
            f"{chosen.name}: the largest installed model that fits ({_gib(chosen.need_bytes)} of {where}) "
            f"and serves a typical request in ~{chosen.speed.request_ms():.0f} ms (target {target} ms)"
            + (f"; larger: {_why_not(better, target)}" if better else "")
        )
        return Choice(chosen.name, chosen.path, reason, tuple(candidates))
    timed = [c for c in candidates if c.speed is not None]
    if timed:
        fastest = min(timed, key=lambda c: c.speed.request_ms() if c.speed else 0.0)
        assert fastest.speed is not None
        others = [c for c in candidates if c is not fastest]
        reason = (
            f"{fastest.name}: no installed model serves a typical request within {target} ms here; "
            + (
                f"this one is the fastest (~{fastest.speed.request_ms():.0f} ms; {_why_not(others, target)})"
                if others
                else f"it is the only one (~{fastest.speed.request_ms():.0f} ms)"
            )
            + _busy(fastest.speed)
        )
        return Choice(fastest.name, fastest.path, reason, tuple(candidates))
    smallest = min(candidates, key=lambda c: c.need_bytes)
    reason = (
        f"{smallest.name}: no installed model fits in memory ({where}); "
        f"this one needs the least ({_gib(smallest.need_bytes)})"
    )
    return Choice(smallest.name, smallest.path, reason, tuple(candidates))


def _busy(speed: Speed) -> str:
    cores = os.cpu_count() or 1
    if speed.load is not None and speed.load > cores:
        return f"; measured at load {speed.load:.1f} on {cores} cores, measured again once the machine is quieter"
    return ""


def _why_not(candidates: Sequence[Candidate], target: int) -> str:
    parts = []
    for c in candidates:
        if not c.fits:
            parts.append(f"{c.name} needs {_gib(c.need_bytes)}")
        elif c.speed is not None:
            parts.append(f"{c.name} ~{c.speed.request_ms():.0f} ms")
        else:
            parts.append(f"{c.name} not measured")
    return ", ".join(parts) if parts else f"none within {target} ms"


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def recommend(config: Config, *, as_json: bool = False) -> int:
    """``smalllsp models recommend``: the choice, the reason, each candidate's figures."""
    choice = choose(config)
    if as_json:
        print(json.dumps({**choice.as_dict(), "time_budget_ms": config.time_budget_ms}, indent=1))
        return 0
    print(choice.name)
    print(f"  {choice.reason}")
    for c in choice.candidates:
        timing = (
            f"~{c.speed.request_ms():.0f} ms a typical request (measured {c.speed.measured}, load {c.speed.load})"
            if c.speed
            else "not measured"
        )
        fits = "fits" if c.fits else "does not fit"
        print(f"  {c.name}: {c.parameters_b:g}B, needs {_gib(c.need_bytes)} ({fits}), {timing}")
    return 0
