"""The binding guard on a real package's own calls: every line of the package
that calls something, judged as if the model had written it with every
definition of the package shown. Real code binds, so each "calls X() with ..."
flag is a false flag of the guard (or a bug in the package).

    python scripts/guard_on_real_code.py "$(python -c 'import jinja2, os; print(os.path.dirname(jinja2.__file__))')"
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

from smalllsp import guard
from smalllsp.workspace.index import WorkspaceIndex


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path, help="the package's folder (the workspace folder)")
    parser.add_argument("--show", type=int, default=20, help="flags and unchecked reasons to list")
    args = parser.parse_args()
    index = WorkspaceIndex([args.package], workers=1)
    index.build()
    shown = "\n".join(
        d.signature.split("\n", 1)[0]
        for p in index.paths()
        for d in index.outline_of(p).definitions
    )
    flags, checked, bound, unchecked = [], 0, 0, collections.Counter()
    started = time.monotonic()
    for path in index.paths():
        if not path.endswith(".py"):
            continue
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        outline = index.outline_of(path)
        offset = 0
        for number, line in enumerate(text.split("\n"), 1):
            start = offset + len(line) - len(line.lstrip())
            offset += len(line) + 1
            body = line.strip()
            if "(" not in body or body.startswith(("def ", "class ", "#", "@")):
                continue
            context = guard.GuardContext(
                "python",
                path,
                text[:start],
                text[start + len(body) :],
                0,
                frozenset(d.name for d in outline.definitions),
                "\n".join(outline.imports),
                shown,
                index,
            )
            verdict = guard.judge(context, body)
            checked += 1
            bound += len(verdict.bound)
            unchecked.update(note.split(":")[0][:70] for note in verdict.unchecked)
            flags += [
                (index.relpath(path), number, body[:100], r)
                for r in verdict.reasons
                if r.startswith("calls ")
            ]
    seconds = time.monotonic() - started
    print(
        f"{args.package.name}: {checked} lines with calls judged, {bound} workspace calls bound, "
        f"{len(flags)} flagged as not binding, {sum(unchecked.values())} unchecked, {seconds:.1f} s"
    )
    for flag in flags[: args.show]:
        print("  flag", *flag)
    for note, n in unchecked.most_common(args.show):
        print(f"  unchecked {n}x {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
