"""``smalllsp eval --tasks repo-calls``: install the packages, draw the sites, run, write the table.

The packages go into a temporary folder that is removed afterwards; the
JSON result (every site's suggestion, label and verdict in every
configuration) and the markdown table are what stays.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, cast

from smalllsp import modelstore
from smalllsp.engine.runtime import Runtime
from smalllsp.evaluation import repo_calls, repo_calls_runner, runner


def run(args: argparse.Namespace, say: Callable[[str], None]) -> int:
    if args.tasks.strip() != "repo-calls":
        print("smalllsp eval: repo-calls runs alone (--tasks repo-calls)", file=sys.stderr)
        return 2
    packages = [p.strip() for p in args.packages.split(",") if p.strip()]
    if not packages or not all(p.isidentifier() for p in packages):
        print(
            f"smalllsp eval: --packages takes importable package names; got {args.packages!r}",
            file=sys.stderr,
        )
        return 2
    if args.guard_only:
        return _guard_only(args, packages, say)
    from smalllsp.engine.llama import LlamaRuntime, ModelError

    try:
        path = modelstore.resolve(args.model or "")
    except modelstore.StoreError as problem:
        print(f"smalllsp eval: {problem}", file=sys.stderr)
        return 1
    window: dict[str, Any] = {}
    if args.window:
        try:
            prefix, suffix, global_ = (int(part) for part in args.window.split(","))
        except ValueError:
            print(
                f"smalllsp eval: --window takes PREFIX,SUFFIX,GLOBAL; got {args.window!r}",
                file=sys.stderr,
            )
            return 2
        window = {"prefix_tokens": prefix, "suffix_tokens": suffix, "global_tokens": global_}
    base = runner.base_config(path, args, **window)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="smalllsp-repo-calls-") as folder:
        target = Path(folder)
        try:
            origin = repo_calls.install(packages, target)
            sites = {}
            for package in packages:
                found = repo_calls.find_sites(package, target)
                chosen = repo_calls.select(found, args.limit, args.seed)
                sites[package] = (repo_calls.package_root(package, target), chosen)
                say(f"{package} ({origin[package]}): {len(found)} call sites, {len(chosen)} drawn")
        except (repo_calls.PackageError, OSError) as problem:
            print(f"smalllsp eval: {problem}", file=sys.stderr)
            return 1
        try:
            runtime = LlamaRuntime(path, base)
        except ModelError as problem:
            print(f"smalllsp eval: {problem}", file=sys.stderr)
            return 1
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        rows_file = out / f"eval-{path.stem}-repo-calls.rows.jsonl"
        rows_file.write_text("")
        say(f"rows, site by site: {rows_file}")
        try:
            # (cast: the Runtime protocol's plain attributes do not admit LlamaRuntime's narrower ones)
            configurations = repo_calls_runner.evaluate(
                cast(Runtime, runtime), base, sites, say, rows_file
            )
        finally:
            runtime.close()
    result = {
        **runner.run_header(path.name, started),
        "packages": origin,
        "limit": args.limit,
        "seed": args.seed,
        "time_budget_ms": args.time_budget_ms,
        "window": {
            "prefix_tokens": base.prefix_tokens,
            "suffix_tokens": base.suffix_tokens,
            "global_tokens": base.global_tokens,
        },
        "threads": base.n_threads,
        "configurations": configurations,
        "goals": repo_calls_runner.goals(configurations),
    }
    target_file = out / f"eval-{path.stem}-repo-calls.json"
    target_file.write_text(json.dumps(result, indent=1) + "\n")
    print(repo_calls_runner.table(configurations))
    for line in result["goals"]:
        print(f"- {line}")
    say(f"results: {target_file}")
    return 0


def _guard_only(args: argparse.Namespace, packages: list[str], say: Callable[[str], None]) -> int:
    """The guard alone on every site of each package (no model): see repo_calls_guard."""
    from smalllsp.evaluation import repo_calls_guard

    started = time.time()
    results = {}
    with tempfile.TemporaryDirectory(prefix="smalllsp-repo-calls-") as folder:
        target = Path(folder)
        try:
            origin = repo_calls.install(packages, target)
            for package in packages:
                sites = repo_calls.select(
                    repo_calls.find_sites(package, target), args.limit, args.seed, per_callee=10**9
                )
                say(f"{package} ({origin[package]}): {len(sites)} call sites")
                results[package] = repo_calls_guard.measure(
                    repo_calls.package_root(package, target), sites
                )
        except (repo_calls.PackageError, OSError) as problem:
            print(f"smalllsp eval: {problem}", file=sys.stderr)
            return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target_file = out / "eval-guard-repo-calls.json"
    result = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.time() - started, 1),
        "packages": origin,
        "results": results,
    }
    target_file.write_text(json.dumps(result, indent=1) + "\n")
    print(repo_calls_guard.table(results))
    say(f"results: {target_file}")
    return 0
