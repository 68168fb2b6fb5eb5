"""Completing the benchmark's holes through the server's own pipeline, then scoring them.

Each task becomes a document (the prefix, an empty line, the suffix) and a
cursor at the start of the empty line, and goes through
:func:`smalllsp.pipeline.generate` exactly as a request from an editor
does: window and global section, the engine (greedy or best-of-n), the
cutters and filters, the guard, the ranking. What the user would see first
is scored (pass@1, exact match, edit similarity); every candidate drawn is
run too, for pass@k. Completing is timed alone; the tests run afterwards,
in parallel sandboxes, so they do not slow the model down.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from smalllsp import pipeline
from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.context.window import Cursor
from smalllsp.documents import split_lines
from smalllsp.engine.runtime import Runtime
from smalllsp.evaluation import metrics, sandbox
from smalllsp.evaluation.humaneval import InfillTask
from smalllsp.syntax import symbols

log = logging.getLogger(__name__)

# What changes between the kinds of task (everything else is the server's default or the caller's):
# a single-line hole is one line; a multi-line hole may be a whole function body.
KIND_SETTINGS: dict[str, dict[str, Any]] = {
    "single-line": {"max_lines": 1},
    "multi-line": {"max_lines": 40, "max_tokens": 384},
}


@dataclasses.dataclass(frozen=True)
class Completed:
    """One task, completed: what was shown first, every candidate, the cost."""

    task: InfillTask
    shown: str  # the top suggestion ("" when there was none)
    candidates: tuple[str, ...]  # every candidate drawn, post-processed ("" when dropped)
    latency_ms: float
    n_evaluated: int


def document_for(task: InfillTask) -> tuple[str, Cursor]:
    """The document an editor would hold, with the cursor at the start of the hole's (empty) line."""
    text = task.prefix + "\n" + task.suffix
    return text, Cursor(split_lines(text), task.prefix.count("\n"), 0)


def complete(runtime: Runtime, config: Config, task: InfillTask) -> Completed:
    """One completion, timed the way an editor sees it after a pause: the server's warm-up has
    already read the prompt into the KV cache (untimed here), the request pays for the rest."""
    text, cursor = document_for(task)
    sources = Sources(
        None,
        task.problem.task_id.replace("/", "_") + ".py",
        "humaneval",
        symbols.outline("python", text.encode()),
        None,
    )
    pipeline.warm(runtime, config, "python", cursor, lambda: False, sources)
    started = time.perf_counter()
    result = pipeline.generate(runtime, config, "python", cursor, lambda: False, sources)
    latency = (time.perf_counter() - started) * 1000
    return Completed(task, result.text, result.finished, latency, result.generations[0].n_evaluated)


def reset_peak_rss() -> bool:
    """Start a new peak-RSS measurement (Linux: /proc/self/clear_refs); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float | None:
    """The peak resident memory since the last reset (VmHWM), or of the whole process elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    if sys.platform.startswith("linux") or sys.platform == "darwin":
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 1024 if sys.platform.startswith("linux") else peak / 2**20
    return None


def run_configurations(
    runtime: Runtime,
    configs: Sequence[Config],
    tasks: Sequence[InfillTask],
    limits: sandbox.Limits,
    progress: Callable[[str], None] = lambda _line: None,
) -> list[dict[str, Any]]:
    """Complete every task with every config, task by task (so that the configurations meet the
    same machine load and the same cache state), then run the tests and summarize each config."""
    done: list[list[Completed]] = [[] for _ in configs]
    peaks: list[float] = [0.0 for _ in configs]
    for number, task in enumerate(tasks, 1):
        for i, config in enumerate(configs):
            reset_peak_rss()
            done[i].append(complete(runtime, config, task))
            peaks[i] = max(peaks[i], peak_rss_mib() or 0.0)
        if number % 10 == 0 or number == len(tasks):
            progress(
                f"  {number}/{len(tasks)}: p50 ms "
                + ", ".join(
                    f"n={c.samples} {metrics.percentile([d.latency_ms for d in rows], 50):.0f}"
                    for c, rows in zip(configs, done)
                )
            )
    programs = [
        d.task.program(text)
        for rows in done
        for d in rows
        for text in (d.shown, *d.candidates)
        if text
    ]
    outcomes = dict(zip(programs, sandbox.run_programs(programs, limits)))
    return [
        summarize(config, rows, outcomes, peak) for config, rows, peak in zip(configs, done, peaks)
    ]


def summarize(
    config: Config, done: Sequence[Completed], outcomes: dict[str, sandbox.Outcome], peak_rss: float
) -> dict[str, Any]:
    """The scores of one configuration, and its per-task rows."""

    def passes(d: Completed, text: str) -> bool:
        return bool(text) and outcomes[d.task.program(text)].passed

    per_task: list[dict[str, Any]] = []
    for d in done:
        per_task.append(
            {
                "task_id": d.task.task_id,
                "shown": d.shown,
                "expected": d.task.middle,
                "passed": passes(d, d.shown),
                "reason": outcomes[d.task.program(d.shown)].reason if d.shown else "no suggestion",
                "exact_match": metrics.exact_match(d.shown, d.task.middle),
                "edit_similarity": metrics.edit_similarity(d.shown, d.task.middle),
                "candidates": len(d.candidates),
                "candidates_passed": sum(passes(d, text) for text in d.candidates),
                "latency_ms": round(d.latency_ms, 1),
                "n_evaluated": d.n_evaluated,
            }
        )
    latencies = [d.latency_ms for d in done]

    def mean(values: Sequence[float]) -> float:
        return statistics.fmean(values) if values else 0.0

    return {
        "samples": config.samples,
        "temperature": config.temperature if config.samples > 1 else 0.0,
        "top_p": config.top_p,
        "tasks": len(per_task),
        "pass@1": mean([r["passed"] for r in per_task]),
        # over the candidates drawn: one sample's chance, and any of them (the unbiased estimator)
        "pass@1_per_sample": mean(
            [metrics.pass_at_k(r["candidates"], r["candidates_passed"], 1) for r in per_task]
        ),
        "pass@n": mean(
            [
                metrics.pass_at_k(r["candidates"], r["candidates_passed"], r["candidates"])
                for r in per_task
            ]
        ),
        "exact_match": mean([r["exact_match"] for r in per_task]),
        "edit_similarity": mean([r["edit_similarity"] for r in per_task]),
        "no_suggestion": sum(1 for row in per_task if not row["shown"]),
        "latency_ms": {
            "p50": metrics.percentile(latencies, 50),
            "p90": metrics.percentile(latencies, 90),
            "mean": mean(latencies),
        },
        "peak_rss_mib": peak_rss,
        "per_task": per_task,
    }


def base_config(path: Path, args: argparse.Namespace, **overrides: Any) -> Config:
    """The settings every ``smalllsp eval`` run starts from: the model and the command's sampling flags.

    No cold hint: an eval measures the window it sets, whatever the machine's speed.
    """
    return Config(
        model=str(path),
        cold_latency_ms=0,
        time_budget_ms=args.time_budget_ms,
        seed=args.seed,
        temperature=args.temperature,
        top_p=args.top_p,
        n_threads=args.threads,
        **overrides,
    )


def run_header(model: str, started: float) -> dict[str, Any]:
    """What every eval result opens with: the model, the command line, when, how long, where."""
    return {
        "model": model,
        "command": " ".join(["smalllsp", "eval", *sys.argv[2:]])
        if sys.argv[1:2] == ["eval"]
        else None,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.time() - started, 1),
        "machine": machine(),
    }


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def evaluate(
    runtime: Runtime,
    base: Config,
    tasks_by_kind: dict[str, list[InfillTask]],
    samples: Sequence[int],
    limits: sandbox.Limits,
    progress: Callable[[str], None] = lambda _line: None,
) -> list[dict[str, Any]]:
    """Every (kind, samples) configuration on the same tasks and the same loaded model."""
    configurations = []
    for kind, tasks in tasks_by_kind.items():
        configs = [dataclasses.replace(base, samples=n, **KIND_SETTINGS[kind]) for n in samples]
        progress(f"{kind}: {len(tasks)} tasks, samples {', '.join(str(n) for n in samples)}")
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        for row in run_configurations(runtime, configs, tasks, limits, progress):
            row["load_average"] = [
                load_before,
                os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            ]
            configurations.append({"kind": kind, **row})
            progress(
                f"{kind} samples={row['samples']}: pass@1 {100 * row['pass@1']:.1f}%, pass@n {100 * row['pass@n']:.1f}%, "
                f"exact {100 * row['exact_match']:.1f}%, p50 {row['latency_ms']['p50']:.0f} ms"
            )
    return configurations


def table(results: Sequence[dict[str, Any]]) -> str:
    """The README's table: one row per model, kind and sample count."""
    rows = [
        "| model | task | samples | pass@1 | pass@n (any of n) | exact match | edit sim. | p50 ms | p90 ms | peak RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        for c in result["configurations"]:
            n = c["samples"]
            label = "greedy" if n == 1 else f"{n} (T={c['temperature']:g})"
            rows.append(
                f"| {result['model']} | {c['kind']} ({c['tasks']}) | {label} | {100 * c['pass@1']:.1f} | "
                f"{100 * c['pass@n']:.1f} | {100 * c['exact_match']:.1f} | {c['edit_similarity']:.3f} | "
                f"{c['latency_ms']['p50']:.0f} | {c['latency_ms']['p90']:.0f} | {c['peak_rss_mib']:.0f} |"
            )
    return "\n".join(rows)
