#!/usr/bin/env python3
"""Benchmark the workspace index on a real project and the watcher's latency.

    .venv/bin/python scripts/bench_index.py [--root DIR ...] [--changes 20]

Indexes the roots (default: this venv's site-packages, code nobody here
wrote), then watches them plus a temporary directory and writes files into
the temporary directory, timing how long each takes to be found by name.
Prints one JSON object: files, definitions, seconds, files/s (wall and per
CPU second: the machine may be shared), the files/s of parsing alone (the
ceiling), the memory the index holds (tracemalloc, in a second build) and
the RSS growth of the first, and the change latencies (p50, p90, max).
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


def timed_build(roots: list[str], max_files: int) -> tuple[WorkspaceIndex, float, float, float]:
    gc.collect()
    before = rss_mb()
    index = WorkspaceIndex(roots, max_files=max_files)
    started = time.perf_counter()
    cpu_started = time.process_time()
    index.build()
    return index, time.perf_counter() - started, time.process_time() - cpu_started, rss_mb() - before


def traced_memory(roots: list[str], max_files: int) -> float:
    """MB of Python objects a fresh index holds after a build."""
    gc.collect()
    tracemalloc.start()
    index = WorkspaceIndex(roots, max_files=max_files)
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
    parser.add_argument("--root", action="append", help="a project to index (repeatable); default: site-packages")
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--max-files", type=int, default=20000)
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the second, traced build")
    args = parser.parse_args()
    projects = [os.path.abspath(r) for r in (args.root or [sysconfig.get_paths()["purelib"]])]
    with tempfile.TemporaryDirectory(prefix="bench-index-") as scratch:
        print(json.dumps(run(projects, Path(scratch), args), indent=2))


def run(projects: list[str], scratch: Path, args: argparse.Namespace) -> dict[str, object]:
    roots = [*projects, str(scratch)]  # the scratch root is empty until the changes are written
    index, seconds, cpu_seconds, rss_growth = timed_build(roots, args.max_files)
    parse_seconds = parse_only_seconds(index)
    stats = index.stats()
    result = {
        "roots": projects,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "files": stats["files"],
        "definitions": stats["definitions"],
        "megabytes_read": round(stats["bytes_read"] / 1e6, 1),
        "seconds": round(seconds, 2),
        "files_per_second": round(stats["files"] / seconds, 1),
        "cpu_seconds": round(cpu_seconds, 2),
        "files_per_cpu_second": round(stats["files"] / cpu_seconds, 1),
        "parse_only_files_per_cpu_second": round(stats["files"] / parse_seconds, 1),
        "megabytes_per_second": round(stats["bytes_read"] / 1e6 / seconds, 2),
        "skipped": {k: v for k, v in stats["skipped"].items() if v},
        "truncated": stats["truncated"],
        "rss_growth_mb": round(rss_growth, 1),
    }
    if not args.no_tracemalloc:
        result["index_memory_mb_tracemalloc"] = round(traced_memory(roots, args.max_files), 1)
    latencies = sorted(change_latencies(index, scratch, args.changes))
    result["change_visible_s"] = {
        "changes": len(latencies),
        "p50": round(statistics.median(latencies), 3),
        "p90": round(latencies[int(0.9 * (len(latencies) - 1))], 3),
        "max": round(latencies[-1], 3),
    }
    return result


if __name__ == "__main__":
    main()
