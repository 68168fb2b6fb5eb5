#!/usr/bin/env python3
"""Benchmark the workspace index on a real project and the watcher's latency.

    .venv/bin/python scripts/bench_index.py [--root DIR ...] [--workers 1 --workers 0] [--repeat 3] [--changes 20]

Indexes the roots (default: this venv's site-packages, code nobody here
wrote) ``--repeat`` times with each ``--workers`` setting (index_workers:
1 = the build thread alone, 0 = one worker process per core; the settings
take turns, so a busy spell of a shared machine hits them alike), then
watches them plus a temporary directory and writes files into the temporary
directory, timing how long each takes to be found by name. Prints one JSON
object: files, definitions; per setting and run the wall seconds and files/s,
the CPU seconds of the server process and of the workers, and the 1-minute
load average before the run, then the best and the median files/s; the
files/s of parsing alone (the ceiling of one core), the memory the index
holds (tracemalloc, in further builds) and the RSS growth of the first, and
the change latencies (p50, p90, max).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import sysconfig
import tempfile
import time
import tracemalloc
from pathlib import Path

from tree_sitter import Parser

from smalllsp.syntax import languages
from smalllsp.workspace.index import WorkspaceIndex, language_of
from smalllsp.workspace.watcher import WorkspaceWatcher

POLL_S = 0.005
CHANGE_TIMEOUT_S = 10.0


def rss_mb() -> float:
    """Resident memory now (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_cpu_seconds() -> float:
    """CPU seconds of this process's finished children (the pool's workers are joined at the end of a build)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_build(
    roots: list[str], max_files: int, workers: int
) -> tuple[WorkspaceIndex, dict[str, object], float]:
    """A fresh index built; the run's figures; the RSS it added to this process."""
    gc.collect()
    before = rss_mb()
    load = os.getloadavg()[0]
    index = WorkspaceIndex(roots, max_files=max_files, workers=workers)
    started = time.perf_counter()
    cpu_started = time.process_time()
    children_started = children_cpu_seconds()
    index.build()
    seconds = time.perf_counter() - started
    files = index.stats()["files"]
    run = {
        "seconds": round(seconds, 2),
        "files_per_second": round(files / seconds, 1),
        "workers_used": index.stats()["workers"],
        "cpu_seconds_server": round(time.process_time() - cpu_started, 2),
        "cpu_seconds_workers": round(children_cpu_seconds() - children_started, 2),
        "load_average_1m_before": round(load, 2),
    }
    if index.stats()["workers"] > 1:  # the largest resident set of any worker so far (Linux: KiB)
        run["worker_max_rss_mb"] = round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        )
    return index, run, rss_mb() - before


def traced_memory(roots: list[str], max_files: int, workers: int) -> float:
    """MB of Python objects a fresh index holds after a build."""
    gc.collect()
    tracemalloc.start()
    index = WorkspaceIndex(roots, max_files=max_files, workers=workers)
    index.build()
    gc.collect()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del index
    return held / 2**20


def parse_only_seconds(index: WorkspaceIndex) -> float:
    """CPU seconds to read and parse the indexed files, nothing else: the ceiling for files/s."""
    parsers: dict[str, Parser] = {}
    started = time.process_time()
    for path in index.paths():
        language_id = language_of(path)
        if language_id not in parsers:
            parsers[language_id] = languages.parser(language_id)
        with open(path, "rb") as handle:
            parsers[language_id].parse(handle.read())
    return time.process_time() - started


def change_latencies(index: WorkspaceIndex, scratch: Path, changes: int) -> list[float]:
    """Seconds from writing a file under ``scratch`` (one of the index's roots) to finding its new function by name."""
    watcher = WorkspaceWatcher(index, index.roots)
    watcher.start()
    latencies = []
    try:
        time.sleep(0.5)  # the observer adds its watches on start
        for n in range(changes):
            name = f"bench_change_{n}"
            # Alternate new files and edits of one file, in a subdirectory made on the way.
            target = scratch / ("edited.py" if n % 2 else f"pkg{n // 4}/new_{n}.py")
            target.parent.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            target.write_text(f"def {name}(a, b=1):\n    return a + b\n")
            while not index.definitions(name):
                if time.perf_counter() - started > CHANGE_TIMEOUT_S:
                    raise SystemExit(f"change {n} not visible after {CHANGE_TIMEOUT_S} s")
                time.sleep(POLL_S)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.05)
    finally:
        watcher.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root", action="append", help="a project to index (repeatable); default: site-packages"
    )
    parser.add_argument(
        "--workers",
        type=int,
        action="append",
        help="index_workers to build with (repeatable); default: 1 and 0",
    )
    parser.add_argument("--repeat", type=int, default=3, help="builds per --workers setting")
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--max-files", type=int, default=20000)
    parser.add_argument(
        "--no-tracemalloc", action="store_true", help="skip the second, traced build"
    )
    args = parser.parse_args()
    projects = [os.path.abspath(r) for r in (args.root or [sysconfig.get_paths()["purelib"]])]
    with tempfile.TemporaryDirectory(prefix="bench-index-") as scratch:
        print(json.dumps(run(projects, Path(scratch), args), indent=2))


def run(projects: list[str], scratch: Path, args: argparse.Namespace) -> dict[str, object]:
    roots = [*projects, str(scratch)]  # the scratch root is empty until the changes are written
    settings = args.workers or [1, 0]
    runs: dict[int, list[dict[str, object]]] = {workers: [] for workers in settings}
    index = None
    rss_growth: dict[
        str, float
    ] = {}  # each setting's first build's: later builds reuse memory freed before them
    for _ in range(args.repeat):
        for workers in settings:
            index = None
            gc.collect()
            index, figures, growth = timed_build(roots, args.max_files, workers)
            rss_growth.setdefault(str(workers), round(growth, 1))
            runs[workers].append(figures)
    assert index is not None
    parse_seconds = parse_only_seconds(index)
    stats = index.stats()
    builds = []
    for workers, figures in runs.items():
        rates = [run["files_per_second"] for run in figures]
        cpu = [run["cpu_seconds_server"] + run["cpu_seconds_workers"] for run in figures]
        builds.append(
            {
                "index_workers": workers,
                "best_files_per_second": max(rates),
                "median_files_per_second": round(statistics.median(rates), 1),
                "files_per_cpu_second_best": round(stats["files"] / min(cpu), 1),
                "runs": figures,
            }
        )
    result = {
        "roots": projects,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "files": stats["files"],
        "definitions": stats["definitions"],
        "megabytes_read": round(stats["bytes_read"] / 1e6, 1),
        "builds": builds,
        "parse_only_files_per_cpu_second": round(stats["files"] / parse_seconds, 1),
        "skipped": {k: v for k, v in stats["skipped"].items() if v},
        "truncated": stats["truncated"],
        "rss_growth_mb_first_build": rss_growth,
    }
    if not args.no_tracemalloc:
        result["index_memory_mb_tracemalloc"] = {
            str(workers): round(traced_memory(roots, args.max_files, workers), 1)
            for workers in settings
        }
    latencies = sorted(change_latencies(index, scratch, args.changes))
    result["change_visible_s"] = {
        "changes": len(latencies),
        "p50": round(statistics.median(latencies), 3),
        "p90": round(latencies[int(0.9 * (len(latencies) - 1))], 3),
        "max": round(latencies[-1], 3),
    }
    return result


if __name__ == "__main__":  # the worker processes import this module: nothing may run then
    main()
