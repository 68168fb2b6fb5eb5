"""Call sites of a real package, completed by the real model: do the arguments bind?

For call sites in an installed package whose callee is a function or class of
another module of the same package, the line is cut just after ``name(`` and
the model writes the arguments. Each completion is labelled by an
independent labeller: Python itself (``inspect.signature(callee).bind`` on the
imported object, with the arguments ``ast`` reads from the completion). Three
configurations: the global section off, on (with the callee first), and on
with resampling. Reports the share that binds, exact matches of the argument
list, the guard's recall and precision on "does not bind", and latency.

    python scripts/measure_call_sites.py jinja2 cattrs --sites 20
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import random
import statistics
import time
from pathlib import Path

from smalllsp import modelstore, pipeline
from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.context.window import Cursor
from smalllsp.workspace.index import WorkspaceIndex

CONFIGURATIONS = {
    "global off": dict(global_tokens=0, resample_unbound=0),
    "global on": dict(resample_unbound=0),
    "global on + resampling": dict(),
}


def call_sites(package: str) -> list[tuple[Path, int, int, object, str]]:
    """(file, 0-based line, column after `(`, callee object, the original argument text)."""
    root = Path(importlib.import_module(package).__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        module_name = ".".join(
            (package, *path.relative_to(root).with_suffix("").parts)
        ).removesuffix(".__init__")
        try:
            module = importlib.import_module(module_name)
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - optional dependencies, syntax of other versions
            continue
        lines = path.read_text(encoding="utf-8").split("\n")
        for node in ast.walk(tree):
            if (
                not isinstance(node, ast.Call)
                or node.lineno != node.end_lineno
                or not node.args + node.keywords
            ):
                continue
            callee = _evaluate(node.func, vars(module))
            if callee is None or not (inspect.isfunction(callee) or inspect.isclass(callee)):
                continue
            home = getattr(callee, "__module__", "") or ""
            if not home.startswith(package + ".") and home != package or home == module_name:
                continue
            try:
                inspect.signature(callee)
            except (TypeError, ValueError):
                continue
            line = lines[node.lineno - 1]
            column = len(
                line.encode("utf-8")[: node.func.end_col_offset].decode("utf-8", errors="replace")
            )
            if line[column : column + 1] != "(":
                continue
            original = line.encode("utf-8")[
                node.func.end_col_offset + 1 : node.end_col_offset - 1
            ].decode("utf-8", "replace")
            found.append((path, node.lineno - 1, column + 1, callee, original))
    return found


def _evaluate(expression: ast.expr, namespace: dict) -> object | None:
    if isinstance(expression, ast.Name):
        return namespace.get(expression.id)
    if isinstance(expression, ast.Attribute):
        base = _evaluate(expression.value, namespace)
        if base is not None and inspect.ismodule(base):
            return getattr(base, expression.attr, None)
    return None


def arguments_of(text: str) -> str | None:
    """The argument list the completion writes up to its closing parenthesis; None when it leaves the call open."""
    depth = 1
    for i, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return text[:i]
    return None


def binds(callee: object, arguments: str | None) -> bool:
    if arguments is None:
        return False
    try:
        call = ast.parse(f"_f({arguments})", mode="eval").body
    except SyntaxError:
        return False
    assert isinstance(call, ast.Call)
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        return True  # *args / **kwargs: Python would decide at run time; count it as binding
    try:
        inspect.signature(callee).bind(
            *[None] * len(call.args), **{k.arg: None for k in call.keywords}
        )
    except TypeError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="+")
    parser.add_argument("--sites", type=int, default=20, help="call sites per package")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--time-budget-ms", type=int, default=4000)
    parser.add_argument("--prefix-tokens", type=int, default=256)
    parser.add_argument("--global-tokens", type=int, default=256)
    args = parser.parse_args()
    from smalllsp.engine.llama import LlamaRuntime

    # A small window keeps a cold prompt cheap on a CPU: every site is a new file.
    base = Config(
        time_budget_ms=args.time_budget_ms,
        seed=args.seed,
        max_tokens=64,
        prefix_tokens=args.prefix_tokens,
        suffix_tokens=args.prefix_tokens // 4,
        global_tokens=args.global_tokens,
    )
    runtime = LlamaRuntime(modelstore.resolve(""), base)
    results: dict[str, list[dict]] = {name: [] for name in CONFIGURATIONS}
    for package in args.packages:
        sites = call_sites(package)
        random.Random(args.seed).shuffle(sites)
        sites = sites[: args.sites]
        root = Path(importlib.import_module(package).__file__).parent
        index = WorkspaceIndex([root], workers=1)
        index.build()
        for path, row, column, callee, original in sites:
            lines = path.read_text(encoding="utf-8").split("\n")
            lines[row] = lines[row][:column]
            relpath = index.relpath(str(path))
            index.set_open_document(str(path), "python", "\n".join(lines))
            sources = Sources(str(path), relpath, root.name, index.outline_of(str(path)), index)
            for name, changes in CONFIGURATIONS.items():
                config = Config(**{**vars(base), **changes})
                started = time.monotonic()
                result = pipeline.generate(
                    runtime, config, "python", Cursor(lines, row, column), lambda: False, sources
                )
                seconds = time.monotonic() - started
                best = result.best
                arguments = arguments_of(best.text) if best else None
                bound = binds(callee, arguments)
                verdict = best.verdict if best else None
                results[name].append(
                    {
                        "site": f"{package}/{relpath}:{row + 1}",
                        "binds": bound,
                        "exact": arguments is not None
                        and " ".join(arguments.split()) == " ".join(original.split()),
                        "flagged": bool(verdict and verdict.unbound),
                        "cross_file": bool(verdict and verdict.cross_file),
                        "seconds": seconds,
                        "resampled": result.resampled is not None,
                        "text": best.text[:80] if best else "",
                    }
                )
                row_ = results[name][-1]
                print(
                    f"{name:24} {row_['site']:40} binds={row_['binds']!s:5} flagged={row_['flagged']!s:5} "
                    f"{row_['seconds'] * 1000:6.0f} ms {row_['text']!r}",
                    flush=True,
                )
            index.close_document(str(path))
    print(
        "| configuration | sites | bind | exact | guard recall (does not bind) | guard precision | binding flagged cross-file | p50 latency | p50 resampled |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, rows in results.items():
        n = len(rows)
        not_binding = [r for r in rows if not r["binds"]]
        flagged = [r for r in rows if r["flagged"]]
        recall = (
            sum(r["flagged"] for r in not_binding) / len(not_binding)
            if not_binding
            else float("nan")
        )
        precision = sum(not r["binds"] for r in flagged) / len(flagged) if flagged else float("nan")
        local_flagged = sum(r["cross_file"] for r in rows if r["binds"]) / max(
            1, n - len(not_binding)
        )
        resampled = [r["seconds"] for r in rows if r["resampled"]]
        print(
            f"| {name} | {n} | {sum(r['binds'] for r in rows) / n:.2f} | {sum(r['exact'] for r in rows) / n:.2f} "
            f"| {recall:.2f} ({len(not_binding)}) | {precision:.2f} ({len(flagged)}) | {local_flagged:.2f} "
            f"| {statistics.median(r['seconds'] for r in rows) * 1000:.0f} ms "
            f"| {statistics.median(resampled) * 1000:.0f} ms ({len(resampled)}) |"
            if resampled
            else f"| {name} | {n} | {sum(r['binds'] for r in rows) / n:.2f} | {sum(r['exact'] for r in rows) / n:.2f} "
            f"| {recall:.2f} ({len(not_binding)}) | {precision:.2f} ({len(flagged)}) | {local_flagged:.2f} "
            f"| {statistics.median(r['seconds'] for r in rows) * 1000:.0f} ms | - |"
        )
    for name, rows in results.items():
        for r in rows:
            if not r["binds"] or r["flagged"]:
                print(
                    f"  {name}: {r['site']} binds={r['binds']} flagged={r['flagged']} {r['text']!r}"
                )
    runtime.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
