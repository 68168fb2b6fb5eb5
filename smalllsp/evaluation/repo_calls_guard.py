"""The guard alone on every call site of a package: its recall and precision without a model.

The model-written set is small on a CPU (each site is a new file, read from
cold). This one is large: every repo-calls site of a package, with the
package's own argument list and with plain edits of it (one positional
argument more, the last argument dropped, a keyword renamed, a keyword given
for an argument already passed by position). Python's binding (the
independent labeller of repo_calls) says which of them bind; the guard,
shown every definition of the package as if the prompt held them all,
judges each one spliced into the real file. A flag on a list that binds is
a false flag; a list that does not bind and is not flagged is a miss.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any, Sequence

from smalllsp import guard
from smalllsp.evaluation import repo_calls
from smalllsp.evaluation.repo_calls import BINDS, DOES_NOT_BIND, Site
from smalllsp.workspace.index import WorkspaceIndex


def variants(original: str) -> list[tuple[str, str]]:
    """(what was changed, the argument list): the package's own, then edits of it."""
    call = repo_calls._parse_call(original + ")")
    if call is None:
        return []
    args = [ast.unparse(a) for a in call.args]
    keywords = [(k.arg, ast.unparse(k.value)) for k in call.keywords]

    def written(positional: Sequence[str], named: Sequence[tuple[str | None, str]]) -> str:
        parts = [*positional, *(f"{k}={v}" if k else f"**{v}" for k, v in named)]
        return ", ".join(parts)

    found = [("as written", original)]
    found.append(("one positional more", written([*args, "None"], keywords)))
    if args or keywords:
        if keywords:
            found.append(("last argument dropped", written(args, keywords[:-1])))
        else:
            found.append(("last argument dropped", written(args[:-1], keywords)))
    named = [(i, k) for i, (k, _v) in enumerate(keywords) if k]
    if named:
        i, k = named[0]
        renamed = list(keywords)
        renamed[i] = (f"{k}_", keywords[i][1])
        found.append(("a keyword renamed", written(args, renamed)))
    return found


def shown_everything(index: WorkspaceIndex) -> str:
    """The first line of every definition: as if the prompt had shown the whole package."""
    outlines = [index.outline_of(path) for path in index.paths()]
    return "\n".join(
        d.signature.split("\n", 1)[0]
        for outline in outlines
        if outline is not None
        for d in outline.definitions
    )


def judge_site(
    index: WorkspaceIndex, shown: str, site: Site, arguments: str
) -> tuple[str, guard.Verdict]:
    """The label and the guard's verdict of ``arguments)`` written after ``name(`` at the site."""
    lines = Path(site.path).read_text(encoding="utf-8").split("\n")
    line = lines[site.line]
    cut = line[: site.column]
    original_end = site.column + len(site.original) + 1  # past the call's ")"
    head = "\n".join(lines[: site.line] + [cut])
    tail = line[original_end:] + "\n" + "\n".join(lines[site.line + 1 :])
    outline = index.outline_of(site.path)
    context = guard.GuardContext(
        language_id="python",
        path=site.path,
        head=head,
        tail=tail,
        head_first_line=0,
        document_names=frozenset(d.name for d in outline.definitions) if outline else frozenset(),
        imports="\n".join(outline.imports) if outline else "",
        prompt_text=shown,
        index=index,
    )
    text = arguments + ")"
    return repo_calls.label(site, text), guard.judge(context, text)


@dataclasses.dataclass
class Tally:
    lists: int = 0
    not_binding: int = 0
    caught: int = 0  # not binding and flagged as not binding
    flagged: int = 0  # flagged as not binding
    false_flags: int = 0  # flagged, but they bind
    unchecked: int = 0  # not binding, not flagged, the guard said it could not check

    def as_dict(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "recall": self.caught / self.not_binding if self.not_binding else None,
            "precision": (self.flagged - self.false_flags) / self.flagged if self.flagged else None,
        }


def measure(root: Path, sites: Sequence[Site]) -> dict[str, Any]:
    """Every variant of every site: the tally, by change and in all, and the misses and false flags."""
    index = WorkspaceIndex([root], workers=1)
    index.build()
    shown = shown_everything(index)
    by_change: dict[str, Tally] = {}
    total = Tally()
    misses, false_flags = [], []
    for site in sites:
        for change, arguments in variants(site.original):
            label, verdict = judge_site(index, shown, site, arguments)
            if label not in (BINDS, DOES_NOT_BIND):
                continue
            for tally in (total, by_change.setdefault(change, Tally())):
                tally.lists += 1
                tally.not_binding += label == DOES_NOT_BIND
                tally.caught += label == DOES_NOT_BIND and verdict.unbound
                tally.flagged += verdict.unbound
                tally.false_flags += label == BINDS and verdict.unbound
                tally.unchecked += (
                    label == DOES_NOT_BIND and not verdict.unbound and bool(verdict.unchecked)
                )
            where = f"{site.task_id} {change}: {site.callee.rsplit('.', 1)[-1]}({arguments})"
            if label == DOES_NOT_BIND and not verdict.unbound:
                misses.append(f"{where} {list(verdict.unchecked)[:1]}")
            if label == BINDS and verdict.unbound:
                false_flags.append(f"{where} {list(verdict.reasons)[:1]}")
    return {
        "sites": len(sites),
        "all": total.as_dict(),
        "by_change": {change: t.as_dict() for change, t in by_change.items()},
        "misses": misses,
        "false_flags": false_flags,
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    """One row per package and change: lists, not binding, recall, precision."""
    rows = [
        "| package | argument lists | not binding | guard recall | guard precision (flagged) | false flags |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for package, result in results.items():
        for change, t in [("all", result["all"]), *result["by_change"].items()]:
            recall = "-" if t["recall"] is None else f"{t['recall']:.3f}"
            precision = "-" if t["precision"] is None else f"{t['precision']:.3f}"
            rows.append(
                f"| {package} ({result['sites']} sites) {'' if change == 'all' else '- ' + change} "
                f"| {t['lists']} | {t['not_binding']} | {recall} | {precision} ({t['flagged']}) | {t['false_flags']} |"
            )
    return "\n".join(rows)
