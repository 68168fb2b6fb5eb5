#!/usr/bin/env python3
"""Outline speed of this tree against another revision's, in the same run.

    .venv/bin/python scripts/bench_outline.py [--against REV] [--rounds 5] [--root DIR ...]

Reads the source files under the roots (default: the standard library's
top-level modules and this repository's fixtures), parses each once, then
times ``symbols.outline`` over all of them with the trees given (the walker,
the import query and the references lexer; the parse is tree-sitter's and
left out), the fastest of three passes. ``REV``'s package (``git archive``) and this tree's take turns in
separate processes, round after round, so a busy spell of a shared machine
hits both alike. Prints one JSON object: files, bytes, the seconds of every
round of each, their medians, the ratio this/REV of the medians, and the
1-minute load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Runs in a child process whose sys.path starts with the package to measure;
# prints the fastest of PASSES passes (the one least disturbed by other work).
PASSES = 3
CHILD = (
    f"PASSES = {PASSES}\n"
    + """
import json, sys, time
from smalllsp.syntax import languages, symbols
files = json.loads(sys.stdin.read())
jobs = []
for path in files:
    language_id = languages.EXTENSIONS.get("." + path.rsplit(".", 1)[-1].lower())
    source = open(path, "rb").read()
    jobs.append((language_id, source, languages.parser(language_id).parse(source)))
for language_id, source, tree in jobs:  # warm: compiled lexers and queries
    symbols.outline(language_id, source, tree)
passes = []
for _ in range(PASSES):
    start = time.process_time()
    for language_id, source, tree in jobs:
        symbols.outline(language_id, source, tree)
    passes.append(time.process_time() - start)
print(min(passes))
print(symbols.__file__)
"""
)


def corpus(roots: list[Path], extensions: set[str]) -> list[str]:
    found = []
    for root in roots:
        candidates = [root] if root.is_file() else sorted(root.rglob("*"))
        found += [
            str(p.resolve()) for p in candidates if p.is_file() and p.suffix.lower() in extensions
        ]
    return found


def one_round(package_parent: Path, files: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(package_parent), "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps(files),
        capture_output=True,
        text=True,
        env=env,
        cwd=package_parent,
    )
    if done.returncode != 0:
        raise SystemExit(f"the outline pass under {package_parent} failed:\n{done.stderr}")
    seconds, measured = done.stdout.split()
    assert Path(measured).is_relative_to(package_parent), measured  # not another install's
    return float(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", default="HEAD", help="the git revision to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--root", type=Path, action="append")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from smalllsp.syntax.languages import EXTENSIONS

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    roots = args.root or [*sorted(stdlib.glob("*.py")), REPO / "tests" / "fixtures"]
    files = corpus(roots, set(EXTENSIONS))
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "rev.tar"
        subprocess.run(
            ["git", "-C", str(REPO), "archive", "-o", str(archive), args.against, "smalllsp"],
            check=True,
        )
        with tarfile.open(archive) as tar:  # our own git archive; the filter where Python has it
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:
                tar.extractall(tmp)
        load_before = os.getloadavg()[0]
        this, rev = [], []
        for _ in range(args.rounds):
            this.append(one_round(REPO, files))
            rev.append(one_round(Path(tmp), files))
        load_after = os.getloadavg()[0]
    report = {
        "files": len(files),
        "bytes": sum(os.path.getsize(f) for f in files),
        "against": args.against,
        "this_s": [round(s, 3) for s in this],
        "against_s": [round(s, 3) for s in rev],
        "this_median_s": round(statistics.median(this), 3),
        "against_median_s": round(statistics.median(rev), 3),
        "ratio": round(statistics.median(this) / statistics.median(rev), 3),
        "load_1min": [load_before, load_after],
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
