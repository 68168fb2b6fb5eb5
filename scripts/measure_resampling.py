"""Where the time of a resampled repo-calls request goes (issue 18: resampled p50 <= 2x greedy).

For each call site of ``smalllsp eval --tasks repo-calls`` (same packages,
limit and seed give the same sites), with the global section on: a warm-up
(untimed), the greedy request (``resample_unbound = 0``), then the same
request with resampling, as the eval runs them. The pipeline's stages are
timed by wrapping them in place (plan, the model's greedy call, the
filters, the guard's judge, the resampling draw with its prompt read), and
each resampled candidate's length, stop reason and verdict is kept, so the
time of a request that resampled splits into its parts. The first answer as
the model wrote it, and the filter that dropped it (a comment after ``(``),
are printed too: they say why a site resampled. The ``resampled`` report
counts the candidates drawn, those that bind, those given up early and
whether the bare ``)`` was shown.

    .venv/bin/python scripts/measure_resampling.py --packages rich,click --limit 6 --seed 7 \
        --threads 1 --window 384,96,384

Prints one line per site and a summary (medians); ``--out FILE`` writes
every figure as JSON. Quote ``uptime`` with the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from smalllsp import modelstore, pipeline
from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.engine import llama, rows
from smalllsp.engine.llama import LlamaRuntime
from smalllsp.evaluation import repo_calls, repo_calls_runner
from smalllsp.evaluation.repo_calls_runner import document_for
from smalllsp.workspace.index import WorkspaceIndex

generate_module = sys.modules["smalllsp.pipeline.generate"]


class Stages:
    """Seconds spent in each wrapped stage during one request (stages inside resampling prefixed)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.resampling = False
        self.judged: list[tuple[str, bool, bool]] = []  # resampling: (text, bound, cross-file)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            key = f"resample.{name}" if self.resampling and name != "resample" else name
            if name == "resample":
                self.resampling = True
            began = time.perf_counter()
            try:
                result = function(*args, **kwargs)
            finally:
                self.seconds[key] += time.perf_counter() - began
                self.calls[key] += 1
                if name == "resample":
                    self.resampling = False
            if name == "judge" and self.resampling:
                self.judged.append((args[1], bool(result.bound), result.cross_file))
            return result

        return timed

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()
        self.judged = []


def instrument(runtime: LlamaRuntime, stages: Stages) -> None:
    for name in ("plan", "judge", "finish", "resample_unbound"):
        label = "resample" if name == "resample_unbound" else name
        setattr(generate_module, name, stages.wrap(label, getattr(generate_module, name)))
    # instance attributes shadow the methods: only this runtime is measured
    runtime.generate = stages.wrap("model.generate", runtime.generate)  # type: ignore[method-assign]
    runtime.sample = stages.wrap("model.sample", runtime.sample)  # type: ignore[method-assign]
    runtime._read_prompt = stages.wrap("model.read_prompt", runtime._read_prompt)  # type: ignore[method-assign]
    # inside sampling: the decoding steps, the token choice, the stop predicate's calls
    rows.Rows.step = stages.wrap("model.steps", rows.Rows.step)  # type: ignore[method-assign]
    llama.sample_token = stages.wrap("model.sample_token", llama.sample_token)


def measure_site(
    runtime: LlamaRuntime,
    stages: Stages,
    configs: tuple[Config, Config],
    index: WorkspaceIndex,
    root: Path,
    site: repo_calls.Site,
) -> dict[str, Any]:
    _text, cursor = document_for(site)
    index.set_open_document(site.path, "python", _text)
    try:
        sources = Sources(
            site.path, index.relpath(site.path), root.name, index.outline_of(site.path), index
        )
        pipeline.warm(runtime, configs[0], "python", cursor, lambda: False, sources)
        row: dict[str, Any] = {"task_id": site.task_id}
        for name, config in zip(("greedy", "resampling"), configs):
            stages.reset()
            began = time.perf_counter()
            result = pipeline.generate(runtime, config, "python", cursor, lambda: False, sources)
            row[f"{name}_ms"] = round((time.perf_counter() - began) * 1000, 1)
            row[f"{name}_stages_ms"] = {k: round(v * 1000, 1) for k, v in stages.seconds.items()}
            row[f"{name}_label"] = repo_calls.label(site, result.text)
            row[f"{name}_dropped"] = result.dropped
            if name == "greedy":
                row["greedy_tokens"] = len(result.generations[0].tokens)
                row["greedy_text"] = result.text
                row["greedy_raw"] = result.generations[0].text
            else:
                row["resampled"] = result.resampled
                drawn = result.generations[1:]
                row["candidates"] = [
                    {"tokens": len(g.tokens), "stop": g.stop_reason, "text": g.text} for g in drawn
                ]
                row["judged"] = stages.judged
                row["shown"] = result.text
        return row
    finally:
        index.close_document(site.path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", default="rich,click")
    parser.add_argument("--limit", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--window", default="384,96,384")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    prefix, suffix, global_ = (int(p) for p in args.window.split(","))
    path = modelstore.resolve("")
    base = Config(
        model=str(path),
        time_budget_ms=120_000,
        seed=args.seed,
        n_threads=args.threads,
        prefix_tokens=prefix,
        suffix_tokens=suffix,
        global_tokens=global_,
        **repo_calls_runner.SETTINGS,
    )
    configs = (dataclasses.replace(base, resample_unbound=0), base)
    packages = [p for p in args.packages.split(",") if p]
    rows = []
    with tempfile.TemporaryDirectory(prefix="smalllsp-measure-resampling-") as folder:
        target = Path(folder)
        repo_calls.install(packages, target)
        sites_by_package = {}
        for package in packages:
            chosen = repo_calls.select(
                repo_calls.find_sites(package, target), args.limit, args.seed
            )
            sites_by_package[package] = (repo_calls.package_root(package, target), chosen)
        runtime = LlamaRuntime(path, base)
        stages = Stages()
        instrument(runtime, stages)
        indexes = {}
        for root, _sites in sites_by_package.values():
            indexes[root] = WorkspaceIndex([root], workers=1)
            indexes[root].build()
        try:
            for root, site in repo_calls_runner.interleaved(sites_by_package):
                row = measure_site(runtime, stages, configs, indexes[root], root, site)
                row["load"] = os.getloadavg()[0]
                rows.append(row)
                print(_line(row), flush=True)
        finally:
            runtime.close()
    resampled = [r for r in rows if r["resampled"]]
    summary = _summary(resampled)
    summary["step_seconds_by_rows"] = {
        k: round(v, 4) for k, v in runtime.step_costs._seconds.items()
    }
    print(json.dumps(summary, indent=1))
    if args.out:
        args.out.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1) + "\n")
    return 0


def _line(row: dict[str, Any]) -> str:
    line = (
        f"{row['task_id']}: greedy {row['greedy_ms']:.0f} ms ({row['greedy_tokens']} tokens, "
        f"{row['greedy_label']}), resampling {row['resampling_ms']:.0f} ms ({row['resampling_label']}); "
        f"load {row['load']:.1f}\n    greedy wrote {row['greedy_raw']!r}"
    )
    if row["greedy_dropped"]:
        line += f", dropped: {row['greedy_dropped']}"
    if row["resampled"]:
        stages = row["resampling_stages_ms"]
        line += "\n    " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(stages.items()))
        line += "\n    candidates: " + "; ".join(
            f"{c['tokens']} tok {c['stop']} {c['text']!r}" for c in row["candidates"]
        )
        line += "\n    judged (bound, cross-file): " + "; ".join(
            f"{b:d}{u:d}" for _t, b, u in row["judged"]
        )
    return line


def _summary(resampled: list[dict[str, Any]]) -> dict[str, Any]:
    if not resampled:
        return {"resampled": 0}

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 1)

    keys = sorted({k for r in resampled for k in r["resampling_stages_ms"]})
    return {
        "resampled": len(resampled),
        "p50_resampling_ms": median([r["resampling_ms"] for r in resampled]),
        "p50_same_sites_greedy_ms": median([r["greedy_ms"] for r in resampled]),
        "p50_stage_ms": {
            k: median([r["resampling_stages_ms"].get(k, 0.0) for r in resampled]) for k in keys
        },
        "p50_greedy_tokens": median([r["greedy_tokens"] for r in resampled]),
        "p50_candidate_tokens": median([c["tokens"] for r in resampled for c in r["candidates"]]),
        "first_binding_candidate": [
            next((i for i, (_t, b, u) in enumerate(r["judged"]) if b and not u), None)
            for r in resampled
        ],
    }


if __name__ == "__main__":
    sys.exit(main())
