"""The repo-calls tasks: call sites of real packages, and a labeller that is Python itself.

Small models are quietly wrong across files, so the benchmark is built
from code no one here wrote: packages installed from the package index at
eval time (into a temporary folder, never copied into this repository).
A task is a call site in a package whose callee is a function or class
defined in *another* module of the same package; the line is cut just
after ``name(`` and the model writes the arguments.

The labeller is independent of the guard: the sites are found by importing
the package (in a child process, so its modules never mix with ours) and
reading ``inspect.signature`` of the real callee; a completion binds when
``inspect.Signature.bind`` accepts the arguments ``ast`` reads from it. The
guard uses tree-sitter and the workspace index; the two share no code.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

# The packages `smalllsp eval --tasks repo-calls` uses when none are named.
DEFAULT_PACKAGES = ("rich", "click")
# Calls of one callee among the sites drawn from a package.
MAX_SITES_PER_CALLEE = 3
BINDS, DOES_NOT_BIND, INVALID, NONE = "binds", "does not bind", "invalid", "none"


class PackageError(RuntimeError):
    """A package could not be installed or read."""


@dataclasses.dataclass(frozen=True)
class Site:
    """One call site: the file, the line cut after ``name(``, the callee's real parameters."""

    package: str
    path: str  # absolute path of the file in the installed package
    line: int  # 0-based
    column: int  # code points: the cursor, just after "("
    callee: str  # "rich.table.Table"
    original: str  # the argument list the package wrote
    parameters: tuple[tuple[str, str, bool], ...]  # (name, inspect kind name, has a default)

    @property
    def task_id(self) -> str:
        return f"{self.package}:{Path(self.path).name}:{self.line + 1}:{self.callee}"

    def signature(self) -> inspect.Signature:
        return inspect.Signature(
            [
                inspect.Parameter(
                    name,
                    getattr(inspect.Parameter, kind),
                    default=None if has_default else inspect.Parameter.empty,
                )
                for name, kind, has_default in self.parameters
            ]
        )


def install(packages: Sequence[str], target: Path) -> dict[str, str]:
    """``pip install --target`` each package (with its dependencies) into ``target``; where
    that fails (no index reachable), a copy already importable here is used instead.
    Returns where each came from."""
    origin = {}
    for package in packages:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            + ["--no-input", "--target", str(target), package],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0 and (target / package).is_dir():
            origin[package] = f"pip install {package} {_version(target, package)}".rstrip()
            continue
        try:
            here = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            here = None
        if here is None or not here.submodule_search_locations:
            raise PackageError(
                f"{package}: pip install failed and it is not installed here: {done.stderr.strip()[-400:]}"
            )
        origin[package] = f"already installed ({list(here.submodule_search_locations)[0]})"
    return origin


def _version(target: Path, package: str) -> str:
    """The version pip installed (from its ``NAME-VERSION.dist-info`` folder); "" if not found."""
    for info in target.glob("*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        if name.lower().replace("-", "_") == package.lower():
            return version
    return ""


def package_root(package: str, target: Path) -> Path:
    """The package's folder: the workspace folder of its tasks."""
    if (target / package / "__init__.py").is_file():
        return target / package
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise PackageError(f"{package} is not a package")
    return Path(list(spec.submodule_search_locations)[0])


def find_sites(package: str, target: Path) -> list[Site]:
    """Every single-line call site in ``package`` to another module's function or class (in a child process)."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-m", "smalllsp.evaluation.repo_calls", package],
        capture_output=True,
        text=True,
        env=environment,
        cwd=str(target),
        timeout=600,
    )
    if done.returncode != 0:
        raise PackageError(f"{package}: reading its call sites failed: {done.stderr[-1000:]}")
    sites = []
    for line in done.stdout.splitlines():
        row = json.loads(line)
        row["parameters"] = tuple(tuple(p) for p in row["parameters"])
        sites.append(Site(**row))
    return sites


def select(
    sites: Sequence[Site], limit: int | None, seed: int, per_callee: int = MAX_SITES_PER_CALLEE
) -> list[Site]:
    """``limit`` sites drawn with ``seed``, at most ``per_callee`` calls of one callee (so that
    a table of ``Style(bold=True)`` lines does not stand for the whole package)."""
    shuffled = list(sites)
    random.Random(seed).shuffle(shuffled)
    chosen: list[Site] = []
    taken: dict[str, int] = {}
    for site in shuffled:
        if taken.get(site.callee, 0) < per_callee:
            taken[site.callee] = taken.get(site.callee, 0) + 1
            chosen.append(site)
    return chosen if limit is None else chosen[:limit]


def call_of(text: str) -> tuple[ast.Call | None, bool]:
    """The call the completion writes after ``name(``: its arguments up to the first closing
    parenthesis that makes a call, or, when it leaves the call open, as if closed after it.
    (call, closed); (None, False) when it is no argument list at all."""
    for i, c in enumerate(text):
        if c == ")":
            call = _parse_call(text[: i + 1])
            if call is not None:
                return call, True
    return _parse_call(text.rstrip() + "\n)"), False  # on its own line: after a comment too


def _parse_call(arguments: str) -> ast.Call | None:
    try:
        node = ast.parse(f"_f({arguments}", mode="eval").body
    except SyntaxError:
        return None
    return node if isinstance(node, ast.Call) else None


def label(site: Site, text: str) -> str:
    """# Calls of one callee among the sites drawn from a package.
    MAX_SITES_PER_CALLEE = 3
    BINDS, DOES_NOT_BIND, INVALID (not an argument list), or NONE (no suggestion)."""
    if not text.strip():
        return NONE
    call, _closed = call_of(text)
    if call is None:
        return INVALID
    spread = any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    )
    explicit = [a for a in call.args if not isinstance(a, ast.Starred)]
    try:
        site.signature().bind(
            *[None] * len(explicit), **{k.arg: None for k in call.keywords if k.arg is not None}
        )
    except TypeError as problem:
        # *args / **kwargs only add arguments: they may fill a missing one, nothing else
        if spread and str(problem).startswith("missing a required"):
            return BINDS
        return DOES_NOT_BIND
    return BINDS


def exact(site: Site, text: str) -> bool:
    """The completion's argument list is the package's own (same syntax tree)."""
    call, _closed = call_of(text)
    original = _parse_call(site.original + ")")
    return call is not None and original is not None and ast.dump(call) == ast.dump(original)


# The child process: import the package, walk its modules, print the sites as JSON lines.


def _sites_in(package: str) -> list[dict[str, Any]]:
    root = package_root(package, Path.cwd())
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        module_name = ".".join((package, *parts)).removesuffix(".__init__")
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
            module = importlib.import_module(module_name)
        except Exception:  # noqa: BLE001 - optional dependencies, other platforms: not a task
            continue
        lines = source.split("\n")
        defined_here = _top_level_definitions(tree)
        for node in ast.walk(tree):
            site = _site(package, module_name, vars(module), lines, defined_here, node, path)
            if site is not None:
                found.append(site)
    return found


def _site(
    package: str,
    module_name: str,
    namespace: dict,
    lines: list[str],
    defined_here: set[str],
    node: ast.AST,
    path: Path,
) -> dict[str, Any] | None:
    if not isinstance(node, ast.Call) or node.lineno != node.end_lineno:
        return None
    callee = _evaluate(node.func, namespace)
    if not (inspect.isfunction(callee) or inspect.isclass(callee)):
        return None
    home = getattr(callee, "__module__", "") or ""
    if "<locals>" in callee.__qualname__:
        return None  # made by a factory: no definition of that name to find
    if home == module_name or not (home == package or home.startswith(package + ".")):
        return None
    if isinstance(node.func, ast.Name) and node.func.id in defined_here:
        return None  # httpx sets ByteStream.__module__ = "httpx": this file defines it
    try:
        signature = inspect.signature(callee)
    except (TypeError, ValueError):
        return None
    line = lines[node.lineno - 1].encode("utf-8")
    name_end = node.func.end_col_offset
    assert name_end is not None and node.end_col_offset is not None
    if line[name_end : name_end + 1] != b"(":
        return None
    return {
        "package": package,
        "path": str(path),
        "line": node.lineno - 1,
        "column": len(line[: name_end + 1].decode("utf-8")),
        "callee": f"{home}.{callee.__qualname__}",
        "original": line[name_end + 1 : node.end_col_offset - 1].decode("utf-8"),
        "parameters": [
            (p.name, p.kind.name, p.default is not inspect.Parameter.empty)
            for p in signature.parameters.values()
        ],
    }


def _top_level_definitions(tree: ast.Module) -> set[str]:
    """Classes and functions the module defines (also under a top-level if/try/with)."""
    found, stack = set(), list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            found.add(node.name)
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody"):
                stack += getattr(node, field, [])
            for handler in getattr(node, "handlers", []):
                stack += handler.body
    return found


def _evaluate(expression: ast.expr, namespace: dict) -> object | None:
    """``name`` or ``module.name`` as the module's namespace has it (nothing is called)."""
    if isinstance(expression, ast.Name):
        return namespace.get(expression.id)
    if isinstance(expression, ast.Attribute):
        base = _evaluate(expression.value, namespace)
        if base is not None and inspect.ismodule(base):
            return getattr(base, expression.attr, None)
    return None


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    for found in _sites_in(sys.argv[1]):
        print(json.dumps(found))
