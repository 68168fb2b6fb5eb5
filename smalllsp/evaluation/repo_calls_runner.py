"""Completing the repo-calls sites through the server's pipeline, in four configurations.

Each site becomes the package's file with the call's line cut just after
``name(`` (the lines below stay, as the suffix), opened in a workspace
index of the whole package, and goes through
:func:`smalllsp.pipeline.generate` as an editor's request does. The four
configurations: the global section off or on, resampling of unbound calls
off or on. Per site they meet the same machine load: the global-off pair
first, then the global-on pair, each pair after a warm-up that reads its
prompt into the KV cache (untimed, like the pause before a request in an
editor), so the pair's timed requests pay only for what they generate.

The scores: the share of sites whose suggestion binds (Python's own
``Signature.bind``, see repo_calls), exact match of the argument list, the
guard's recall and precision on "does not bind", the share of binding
suggestions the guard flags anyway, and latency, with resampled requests
compared with the same sites' greedy requests.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from smalllsp import pipeline
from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.context.window import Cursor
from smalllsp.engine.runtime import Runtime
from smalllsp.evaluation import metrics, repo_calls
from smalllsp.evaluation.repo_calls import BINDS, DOES_NOT_BIND, NONE, Site
from smalllsp.workspace.index import WorkspaceIndex

# Name -> the settings it changes; pairs sharing a prompt are adjacent (global off, then on).
CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "global off": {"global_tokens": 0, "resample_unbound": 0},
    "global off + resampling": {"global_tokens": 0},
    "global on": {"resample_unbound": 0},
    "global on + resampling": {},
}
# The cursor's line is cut after "name(": the suggestion finishes that line.
SETTINGS: dict[str, Any] = {"max_lines": 1}
GOALS = {"binds": 0.9, "recall": 0.9, "precision": 0.95, "binding_flagged": 0.02, "ratio": 2.0}


def document_for(site: Site) -> tuple[str, Cursor]:
    """The file as the user has it: the call's line ends at ``name(``."""
    lines = Path(site.path).read_text(encoding="utf-8").split("\n")
    lines[site.line] = lines[site.line][: site.column]
    return "\n".join(lines), Cursor(lines, site.line, site.column)


def complete_site(
    runtime: Runtime, configs: Sequence[Config], index: WorkspaceIndex, root: Path, site: Site
) -> list[dict[str, Any]]:
    """The site completed with each config (one row per config, in order)."""
    text, cursor = document_for(site)
    index.set_open_document(site.path, "python", text)
    try:
        sources = Sources(
            site.path, index.relpath(site.path), root.name, index.outline_of(site.path), index
        )
        rows = []
        warmed: int | None = None
        for config in configs:
            if config.global_tokens != warmed:
                pipeline.warm(runtime, config, "python", cursor, lambda: False, sources)
                warmed = config.global_tokens
            started = time.perf_counter()
            result = pipeline.generate(runtime, config, "python", cursor, lambda: False, sources)
            latency = (time.perf_counter() - started) * 1000
            rows.append(_row(site, result, latency))
        return rows
    finally:
        index.close_document(site.path)


def _row(site: Site, result: pipeline.Completion, latency_ms: float) -> dict[str, Any]:
    best = result.best
    shown = best.text if best else ""
    verdict = best.verdict if best else None
    blocks = result.prompt.get("global_blocks")
    callee_shown = isinstance(blocks, list) and any(b.get("kind") == "callee" for b in blocks)
    return {
        "task_id": site.task_id,
        "callee": site.callee,
        "expected": site.original,
        "shown": shown,
        "label": repo_calls.label(site, shown),
        "exact_match": repo_calls.exact(site, shown),
        "flagged_unbound": bool(verdict and verdict.unbound),
        "cross_file": bool(verdict and verdict.cross_file),
        "reasons": list(verdict.reasons) if verdict else [],
        "resampled": result.resampled,
        "shown_resampled": bool(verdict and verdict.resampled),
        "callee_in_prompt": callee_shown,
        "latency_ms": round(latency_ms, 1),
    }


def summarize(
    name: str, rows: Sequence[dict[str, Any]], greedy: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """One configuration's scores; ``greedy``: the same sites without resampling (for the latency ratio)."""
    n = len(rows)
    labelled = [r for r in rows if r["label"] in (BINDS, DOES_NOT_BIND)]
    not_binding = [r for r in labelled if r["label"] == DOES_NOT_BIND]
    binding = [r for r in labelled if r["label"] == BINDS]
    flagged = [r for r in labelled if r["flagged_unbound"]]
    resampled = [i for i, r in enumerate(rows) if r["resampled"]]

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    p50 = metrics.percentile([r["latency_ms"] for r in rows], 50)
    # the requests that drew candidates (not only renamed a keyword or closed the call)
    drew = [i for i in resampled if rows[i]["resampled"].get("drawn", 0) > 0]
    p50_resampled, p50_same_greedy = _p50_pair(rows, greedy, resampled)
    p50_drew, p50_drew_greedy = _p50_pair(rows, greedy, drew)
    return {
        "name": name,
        "sites": n,
        "binds": share(len(binding), n),
        "exact_match": share(sum(r["exact_match"] for r in rows), n),
        "no_suggestion": sum(r["label"] == NONE for r in rows),
        "invalid": sum(r["label"] == repo_calls.INVALID for r in rows),
        "not_binding": len(not_binding),
        "recall": share(sum(r["flagged_unbound"] for r in not_binding), len(not_binding)),
        "flagged_any_reason": share(sum(r["cross_file"] for r in not_binding), len(not_binding)),
        "flagged": len(flagged),
        "precision": share(sum(r["label"] == DOES_NOT_BIND for r in flagged), len(flagged)),
        "binding_flagged": share(sum(r["flagged_unbound"] for r in binding), len(binding)),
        "binding_cross_file": share(sum(r["cross_file"] for r in binding), len(binding)),
        "callee_in_prompt": share(sum(r["callee_in_prompt"] for r in rows), n),
        "latency_ms": {"p50": p50, "p90": metrics.percentile([r["latency_ms"] for r in rows], 90)},
        "resampled": len(resampled),
        "resampled_shown": sum(r["shown_resampled"] for r in rows),
        "p50_resampled_ms": p50_resampled,
        "p50_same_sites_greedy_ms": p50_same_greedy,
        "resampled_ratio": _ratio(p50_resampled, p50_same_greedy),
        "drew": len(drew),
        "p50_drew_ms": p50_drew,
        "p50_drew_same_sites_greedy_ms": p50_drew_greedy,
        "drew_ratio": _ratio(p50_drew, p50_drew_greedy),
        "per_task": list(rows),
    }


def _p50_pair(
    rows: Sequence[dict[str, Any]], greedy: Sequence[dict[str, Any]], indices: Sequence[int]
) -> tuple[float | None, float | None]:
    """The p50 latency of ``rows`` at ``indices``, and of the same sites' greedy requests."""
    return (
        metrics.percentile([rows[i]["latency_ms"] for i in indices], 50),
        metrics.percentile([greedy[i]["latency_ms"] for i in indices], 50),
    )


def _ratio(value: float | None, against: float | None) -> float | None:
    return value / against if value is not None and against else None


def interleaved(sites_by_package: dict[str, tuple[Path, list[Site]]]) -> list[tuple[Path, Site]]:
    """The sites, one package after the other in turn: a run stopped early still covers them all."""
    queues = [[(root, site) for site in sites] for root, sites in sites_by_package.values()]
    order = []
    for i in range(max((len(q) for q in queues), default=0)):
        order += [q[i] for q in queues if i < len(q)]
    return order


def evaluate(
    runtime: Runtime,
    base: Config,
    sites_by_package: dict[str, tuple[Path, list[Site]]],
    progress: Callable[[str], None] = lambda _line: None,
    rows_file: Path | None = None,
) -> list[dict[str, Any]]:
    """Every site of every package in the four configurations; one summary per configuration.
    ``rows_file``: each site's rows are appended to it as a JSON line as soon as they are done
    (:func:`summaries` turns what a stopped run left into the same summaries)."""
    names = list(CONFIGURATIONS)
    configs = [dataclasses.replace(base, **SETTINGS, **CONFIGURATIONS[n]) for n in names]
    done: list[list[dict[str, Any]]] = [[] for _ in names]
    order = interleaved(sites_by_package)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    indexes = {}
    for root, _sites in sites_by_package.values():
        indexes[root] = WorkspaceIndex([root], workers=1)
        indexes[root].build()
    for number, (root, site) in enumerate(order, 1):
        rows = complete_site(runtime, configs, indexes[root], root, site)
        for column, row in zip(done, rows):
            column.append(row)
        if rows_file is not None:
            with rows_file.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(dict(zip(names, rows))) + "\n")
        progress(
            f"  {number}/{len(order)} {site.task_id}: "
            + ", ".join(
                f"{row['label']}{' (flagged)' if row['flagged_unbound'] else ''}" for row in rows
            )
        )
    return summaries(done, load_before)


def summaries(
    done: Sequence[Sequence[dict[str, Any]]], load_before: float | None
) -> list[dict[str, Any]]:
    """One summary per configuration from each configuration's rows (in CONFIGURATIONS order)."""
    names = list(CONFIGURATIONS)
    greedy_of = {"global off + resampling": 0, "global on + resampling": 2}
    found = []
    for i, name in enumerate(names):
        summary = summarize(name, done[i], done[greedy_of.get(name, i)])
        summary["load_average"] = [
            load_before,
            os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        ]
        found.append(summary)
    return found


def read_rows(rows_file: Path) -> list[list[dict[str, Any]]]:
    """What :func:`evaluate` appended to ``rows_file``, as each configuration's rows."""
    lines = [json.loads(line) for line in rows_file.read_text().splitlines() if line.strip()]
    return [[line[name] for line in lines] for name in CONFIGURATIONS]


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(configurations: Sequence[dict[str, Any]]) -> str:
    """The README's table: one row per configuration."""
    rows = [
        "| configuration | sites | binds | exact | guard recall (not binding) | guard precision (flagged) "
        "| binding flagged | p50 ms | p90 ms | resampled: p50 ms / same sites greedy |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in configurations:
        ratio = (
            f"{c['p50_resampled_ms']:.0f} / {c['p50_same_sites_greedy_ms']:.0f} (x{c['resampled_ratio']:.2f}, {c['resampled']} requests)"
            if c["resampled_ratio"] is not None
            else f"- ({c['resampled']} requests)"
        )
        rows.append(
            f"| {c['name']} | {c['sites']} | {_f(c['binds'])} | {_f(c['exact_match'])} "
            f"| {_f(c['recall'])} ({c['not_binding']}) | {_f(c['precision'])} ({c['flagged']}) "
            f"| {_f(c['binding_flagged'])} | {_f(c['latency_ms']['p50'], 0)} | {_f(c['latency_ms']['p90'], 0)} | {ratio} |"
        )
    return "\n".join(rows)


def goals(configurations: Sequence[dict[str, Any]]) -> list[str]:
    """Each of issue 18's goals, met or not, with the figure (global on + resampling)."""
    c = {row["name"]: row for row in configurations}.get("global on + resampling")
    if c is None:
        return []
    checks = [
        ("binds >= 0.9", c["binds"], lambda v: v >= GOALS["binds"]),
        ("guard recall >= 0.9", c["recall"], lambda v: v >= GOALS["recall"]),
        ("guard precision >= 0.95", c["precision"], lambda v: v >= GOALS["precision"]),
        ("binding flagged <= 0.02", c["binding_flagged"], lambda v: v <= GOALS["binding_flagged"]),
        ("resampled p50 <= 2x greedy", c["resampled_ratio"], lambda v: v <= GOALS["ratio"]),
        (
            f"the same, of the {c.get('drew', 0)} requests that drew candidates",
            c.get("drew_ratio"),
            lambda v: v <= GOALS["ratio"],
        ),
    ]
    return [
        f"{goal}: {'-' if value is None else f'{value:.2f}'} "
        + ("(no data)" if value is None else "met" if ok(value) else "NOT met")
        for goal, value, ok in checks
    ]
