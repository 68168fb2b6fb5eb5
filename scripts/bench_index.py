#!/usr/bin/env python3
"""Benchmark the workspace index at scale: cold build, warm restart, restart after changes.

    .venv/bin/python scripts/bench_index.py [--tree site-packages] [--tree pip:homeassistant]
        [--tree DIR] [--copies N] [--workers 0] [--changed 0.01] [--out FILE]

Each tree is copied to a temporary folder (mtimes kept; the copy may be
edited), ``--copies`` times side by side (to reach a given size with real
code). ``pip:NAME`` downloads NAME's wheel from the package index with
``pip download --no-deps`` into a temporary folder and unpacks it: code nobody
here wrote. For each tree, every run is a fresh process (a restart), with the
index cache in a temporary folder:

- cold: an empty cache; files/s of the full build (the peer of the others);
- warm: the same cache, nothing changed; time to the full index, files parsed;
- changed: ``--changed`` of the files edited (a function appended), then a restart;
- in every run, the time from the process start, and from the build start,
  until the imports of an open file deep in the tree are indexed (the
  deepest file with imports that resolve in the workspace, opened before the
  build, as an editor's didOpen is);
- the index's memory (RSS growth of the process over the build), the cache
  size on disk, and the time until a change written after the warm start is
  visible (the watcher).

The load average is read before and after each run: on a shared machine the
figures are noisy, compare runs of one invocation. Prints a table and writes
JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

STARTED = time.perf_counter()  # before smalllsp is imported: the process's start-up counts

CHILD_TIMEOUT_S = 1800


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(args: argparse.Namespace) -> None:
    """One restart: build the index of ``args.root`` with the cache in ``args.cache``."""
    from smalllsp.workspace.index import WorkspaceIndex
    from smalllsp.workspace.outline_cache import CacheSettings
    from smalllsp.workspace.watcher import WorkspaceWatcher

    load_before = os.getloadavg()[0]
    rss_before = rss_mb()
    index = WorkspaceIndex(  # no index_max_files limit: the tree is what is measured
        [args.root],
        workers=args.workers,
        max_files=10**7,
        cache=CacheSettings(Path(args.cache), 4 << 30),
    )
    opened = Path(args.open)
    index.set_open_document(opened, "python", opened.read_text(encoding="utf-8"))
    build_started = time.perf_counter()
    index.build()
    built = time.perf_counter()
    rss_after = rss_mb()
    index.flush_cache()
    stats = index.stats()
    result = {
        "files": stats["files"],
        "definitions": stats["definitions"],
        "build_s": round(built - build_started, 3),
        "process_start_to_index_s": round(built - STARTED, 3),
        "files_per_s": round(stats["files"] / (built - build_started), 1),
        "parsed": stats["parsed"],
        "from_cache": stats["from_cache"],
        "rehashed": stats["rehashed"],
        "imports_first": stats["priority_files"],
        "build_start_to_imports_s": stats["imports_ready_s"],
        "process_start_to_imports_s": round(
            build_started - STARTED + (stats["imports_ready_s"] or 0.0), 3
        ),
        "workers": stats["workers"],
        "index_rss_mb": round(rss_after - rss_before, 1),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }
    if args.watch:
        watcher = WorkspaceWatcher(index, index.roots)
        watcher.start()
        try:
            target = Path(args.root) / "bench_change_visible.py"
            started = time.perf_counter()
            target.write_text("def bench_change_visible(a):\n    return a\n")
            while not index.definitions("bench_change_visible"):
                if time.perf_counter() - started > 10:
                    raise SystemExit("a change was not visible within 10 s")
                time.sleep(0.005)
            result["change_visible_s"] = round(time.perf_counter() - started, 3)
            target.unlink()
        finally:
            watcher.stop()
    index.close()
    print(json.dumps(result))


def prepare(spec: str, scratch: Path, copies: int) -> tuple[str, Path]:
    """The tree to index, copied under ``scratch``; returns (its description, its root)."""
    if spec == "site-packages":
        source, name = Path(sysconfig.get_paths()["purelib"]), "this venv's site-packages"
    elif spec.startswith("pip:"):
        package = spec[4:]
        downloads = scratch / "downloads"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "-d",
                str(downloads),
                package,
            ],
            check=True,
        )
        (wheel,) = downloads.glob("*.whl")
        source = scratch / "unpacked"
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(source)
            for info in archive.infolist():  # keep the archive's mtimes, as a checkout would
                stamp = time.mktime((*info.date_time, 0, 0, -1))
                os.utime(source / info.filename, (stamp, stamp))
        name = f"{wheel.name} (from the package index)"
    else:
        source, name = Path(spec), spec
    root = scratch / "workspace"
    for n in range(copies):
        shutil.copytree(source, root / f"copy{n}", symlinks=True, ignore=_bench_leftovers)
    return name + (f" x{copies}" if copies > 1 else ""), root


def _bench_leftovers(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n.startswith("bench-index-")]


def deep_open_file(root: Path) -> Path:
    """The deepest Python file whose imports resolve to other files of the tree."""
    from smalllsp.syntax import symbols
    from smalllsp.workspace import priority

    files = sorted(root.rglob("*.py"), key=lambda p: (-len(p.parts), str(p)))
    for path in files[:2000]:
        outline = symbols.outline("python", path.read_bytes())
        if outline is not None and priority.imported_files(str(path), outline, str(root)):
            return path
    raise SystemExit(f"no file under {root} imports another one")


def edit_some(root: Path, fraction: float) -> int:
    """Append a function to ``fraction`` of the source files (a fixed choice)."""
    from smalllsp.workspace.files import language_of

    paths = sorted(p for p in root.rglob("*") if p.is_file() and language_of(str(p)) == "python")
    chosen = random.Random(20).sample(paths, max(1, int(len(paths) * fraction)))
    for path in chosen:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("\n\ndef bench_edited_function(a):\n    return a\n")
    return len(chosen)


def restart(root: Path, cache: Path, opened: Path, workers: int, watch: bool = False) -> dict:
    command = [sys.executable, __file__, "child", "--root", str(root), "--cache", str(cache)]
    command += ["--open", str(opened), "--workers", str(workers)] + (["--watch"] if watch else [])
    out = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_tree(spec: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-index-", dir=args.tmp) as scratch_name:
        scratch = Path(scratch_name)
        name, root = prepare(spec, scratch, args.copies)
        opened = deep_open_file(root)
        cache = scratch / "cache"
        runs: dict[str, list[dict]] = {"cold": [], "warm": [], "changed": []}
        for _ in range(args.repeat):
            shutil.rmtree(cache, ignore_errors=True)
            runs["cold"].append(restart(root, cache, opened, args.workers))
            size = sum(p.stat().st_size for p in cache.iterdir())
            runs["warm"].append(restart(root, cache, opened, args.workers, watch=True))
            edited = edit_some(root, args.changed)
            runs["changed"].append(restart(root, cache, opened, args.workers))
        return {
            "tree": name,
            "open_file": str(opened.relative_to(root)),
            "open_file_depth": len(opened.relative_to(root).parts),
            "edited_files": edited,
            "cache_mb": round(size / 2**20, 1),
            "runs": runs,
        }


def median(runs: list[dict], key: str) -> float:
    return round(statistics.median(run[key] for run in runs), 3)


def table(results: list[dict]) -> str:
    lines = [
        "| tree | files | cold files/s | warm restart s (x cold) | after 1 % changed s (parsed) "
        "| open file's imports s, cold / warm (from process start) | index RSS MB | cache MB | change visible s | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        cold, warm, changed = r["runs"]["cold"], r["runs"]["warm"], r["runs"]["changed"]
        loads = [
            run[k]
            for runs in r["runs"].values()
            for run in runs
            for k in ("load_before", "load_after")
        ]
        lines.append(
            f"| {r['tree']} | {cold[0]['files']:,} | {median(cold, 'files_per_s'):,.0f} "
            f"| {median(warm, 'build_s')} ({median(warm, 'build_s') / median(cold, 'build_s'):.3f}) "
            f"| {median(changed, 'build_s')} ({int(median(changed, 'parsed'))}) "
            f"| {median(cold, 'build_start_to_imports_s')} / {median(warm, 'build_start_to_imports_s')} "
            f"({median(cold, 'process_start_to_imports_s')} / {median(warm, 'process_start_to_imports_s')}) "
            f"| {median(cold, 'index_rss_mb')} | {r['cache_mb']} | {median(warm, 'change_visible_s')} "
            f"| {min(loads)}-{max(loads)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode")
    run_child = sub.add_parser("child")
    run_child.add_argument("--root", required=True)
    run_child.add_argument("--cache", required=True)
    run_child.add_argument("--open", required=True)
    run_child.add_argument("--workers", type=int, default=0)
    run_child.add_argument("--watch", action="store_true")
    parser.add_argument("--tree", action="append", help="site-packages, pip:NAME or a folder")
    parser.add_argument("--copies", type=int, default=1, help="copies of each tree side by side")
    parser.add_argument("--workers", type=int, default=0, help="index_workers (0: one per core)")
    parser.add_argument("--changed", type=float, default=0.01, help="share of files edited")
    parser.add_argument("--repeat", type=int, default=1, help="cold/warm/changed rounds per tree")
    parser.add_argument("--tmp", default=None, help="where the copies go (default: the system's)")
    parser.add_argument("--out", default=None, help="write the JSON here")
    args = parser.parse_args()
    if args.mode == "child":
        child(args)
        return
    results = [bench_tree(spec, args) for spec in args.tree or ["site-packages"]]
    output = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "results": results}
    if args.out:
        Path(args.out).write_text(json.dumps(output, indent=2))
    print(table(results))


if __name__ == "__main__":  # the worker processes import this module: nothing may run then
    main()
