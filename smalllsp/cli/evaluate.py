"""``smalllsp eval``: HumanEval infilling and the repository call sites through the pipeline."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from smalllsp import modelstore
from smalllsp.cli.arguments import sample_counts
from smalllsp.config import Config


def _eval(args: argparse.Namespace) -> int:
    from smalllsp.engine.llama import LlamaRuntime, ModelError
    from smalllsp.evaluation import humaneval, plot, runner, sandbox

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if "repo-calls" in args.tasks.split(","):
        from smalllsp.evaluation import repo_calls_cli

        return repo_calls_cli.run(args, say)
    try:
        problems = humaneval.load_problems()
        path = modelstore.resolve(args.model or "")
    except (humaneval.MissingBenchmark, modelstore.StoreError) as problem:
        print(f"smalllsp eval: {problem}", file=sys.stderr)
        return 1
    kinds = [kind.strip() for kind in args.tasks.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in humaneval.KINDS]
    if unknown or not kinds:
        print(
            f"smalllsp eval: --tasks takes {', '.join(humaneval.KINDS)}; got {args.tasks!r}",
            file=sys.stderr,
        )
        return 2
    tasks = {
        kind: humaneval.select(humaneval.derive(problems, kind), args.limit, args.seed)
        for kind in kinds
    }
    base = runner.base_config(path, args)
    try:
        runtime = LlamaRuntime(path, base)
    except ModelError as problem:
        print(f"smalllsp eval: {problem}", file=sys.stderr)
        return 1
    say(
        f"smalllsp eval: {path.name}, {', '.join(f'{len(t)} {k}' for k, t in tasks.items())} tasks, samples {args.samples}"
    )
    started = time.time()
    try:
        configurations = runner.evaluate(
            runtime, base, tasks, args.samples, sandbox.Limits(timeout_s=args.timeout_s), say
        )
    finally:
        runtime.close()
    result = {
        **runner.run_header(path.name, started),
        "limit": args.limit,
        "seed": args.seed,
        "time_budget_ms": args.time_budget_ms,
        "sandbox": {
            "timeout_s": args.timeout_s,
            "network_namespace": sandbox.network_namespace_available(),
        },
        "configurations": configurations,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"eval-{path.stem}-{'+'.join(kinds)}.json"
    target.write_text(json.dumps(result, indent=1) + "\n")
    results = plot.load_results(out)
    print(runner.table([result]))
    say(f"results: {target}")
    try:
        say(f"plot: {plot.plot(results, out / 'quality_vs_latency.png')}")
    except RuntimeError as problem:
        say(f"no plot: {problem}")
    return 0


def add(commands: Any) -> None:
    """Register the command's parser."""
    evaluation = commands.add_parser(
        "eval",
        help="HumanEval infilling through the completion pipeline: pass@k, exact match, latency, memory",
    )
    evaluation.add_argument(
        "--model", help="GGUF file or catalog name (default: the default model)"
    )
    evaluation.add_argument(
        "--samples",
        type=sample_counts,
        default=[1, 2, 4],
        help="sample counts to compare, e.g. 1,2,4 (1: greedy)",
    )
    evaluation.add_argument(
        "--tasks",
        default="single-line,multi-line",
        help="single-line, multi-line or both (comma-separated); or repo-calls (alone): call sites of real packages (--packages), arguments checked by Python's own binding",
    )
    evaluation.add_argument(
        "--packages",
        default="rich,click",
        help="with --tasks repo-calls: packages to pip install into a temporary folder and take the call sites from (comma-separated)",
    )
    evaluation.add_argument(
        "--window",
        metavar="PREFIX,SUFFIX,GLOBAL",
        help="with --tasks repo-calls: prefix_tokens,suffix_tokens,global_tokens (default: the server's 1024,256,512); every site is a new file read from cold, so a loaded CPU may need a smaller window",
    )
    evaluation.add_argument(
        "--guard-only",
        action="store_true",
        help="with --tasks repo-calls: no model; the guard alone on every call site's own argument list and edits of it, against Python's binding",
    )
    evaluation.add_argument(
        "--limit",
        type=int,
        help="tasks per kind, drawn with --seed (default: all: 1,033 single-line, 5,815 multi-line); repo-calls: call sites per package",
    )
    evaluation.add_argument(
        "--seed", type=int, default=0, help="seed of the task draw and of the sampling"
    )
    evaluation.add_argument(
        "--temperature",
        type=float,
        default=Config().temperature,
        help="sampling temperature when samples > 1",
    )
    evaluation.add_argument(
        "--top-p", type=float, default=Config().top_p, help="nucleus cut-off when samples > 1"
    )
    evaluation.add_argument(
        "--time-budget-ms",
        type=int,
        default=120_000,
        help="time_budget_ms of each completion: high, so that quality is not cut by the machine's speed (the server's default is 1000)",
    )
    evaluation.add_argument(
        "--threads", type=int, default=0, help="CPU threads for the model (0: all cores)"
    )
    evaluation.add_argument(
        "--timeout-s",
        type=float,
        default=10.0,
        help="wall-clock limit of one test run in the sandbox",
    )
    evaluation.add_argument(
        "--out",
        default="eval-results",
        help="directory for eval-<model>-<tasks>.json and quality_vs_latency.png (the plot covers every result there)",
    )
    evaluation.set_defaults(run=_eval)
