"""The repo-calls labeller (Python's own binding of what the model wrote) and the site draw."""

import inspect
import json
from pathlib import Path

import pytest

from smalllsp.evaluation import repo_calls, repo_calls_guard, repo_calls_runner
from smalllsp.evaluation.repo_calls import BINDS, DOES_NOT_BIND, INVALID, NONE, Site
from smalllsp.evaluation.repo_calls_runner import CONFIGURATIONS


def site_of(function, original="", callee="pkg.mod.f"):
    parameters = tuple(
        (p.name, p.kind.name, p.default is not inspect.Parameter.empty)
        for p in inspect.signature(function).parameters.values()
    )
    return Site("pkg", "/nowhere/mod.py", 0, 2, callee, original, parameters)


def plain(a, b=1): ...
def keyword_only(*, color=None, bold=False): ...
def positional_only(a, /, b): ...
def variadic(a, *rest, **options): ...


class Measurement:
    def __init__(self, minimum, maximum): ...


@pytest.mark.parametrize(
    "function, text, expected",
    [
        (plain, "x)", BINDS),
        (plain, "x, 2)", BINDS),
        (plain, "x, b=2)", BINDS),
        (plain, "b=2)", DOES_NOT_BIND),  # no a
        (plain, "x, 2, 3)", DOES_NOT_BIND),
        (plain, "x, c=3)", DOES_NOT_BIND),
        (plain, "x, a=3)", DOES_NOT_BIND),  # a twice
        (keyword_only, ")", BINDS),
        (keyword_only, "bold=True)", BINDS),
        (keyword_only, "1)", DOES_NOT_BIND),  # Console(1)
        (positional_only, "1, 2)", BINDS),
        (positional_only, "1, b=2)", BINDS),
        (positional_only, "a=1, b=2)", DOES_NOT_BIND),
        (variadic, "1, 2, 3, x=4)", BINDS),
        (variadic, ")", DOES_NOT_BIND),
        (plain, "*args)", BINDS),  # *args may fill a
        (plain, "x, 2, *args)", BINDS),
        (plain, "x, 2, 3, *args)", DOES_NOT_BIND),  # a spread only adds arguments
        (plain, "x, a=1, **options)", DOES_NOT_BIND),  # a twice, whatever options holds
        (plain, "**options)", BINDS),
        (keyword_only, "1, **options)", DOES_NOT_BIND),
        (Measurement, "0, 10)", BINDS),
        (Measurement, "max=10)", DOES_NOT_BIND),
        # the first ")" that closes the call; what follows it is not an argument
        (plain, "f(x), 2) + g(1, 2, 3)", BINDS),
        (plain, "')', 2)", BINDS),  # a parenthesis in a string
        # left open: read as if closed after it
        (plain, "x, 2,", BINDS),
        (plain, "1, 2, 3, 4, 5, 6", DOES_NOT_BIND),
        (plain, "  # type: ignore", DOES_NOT_BIND),  # a comment: no argument at all
        (plain, "x = = 1)", INVALID),
        (plain, "", NONE),
        (plain, "   ", NONE),
    ],
)
def test_label_binds_like_python(function, text, expected):
    assert repo_calls.label(site_of(function), text) == expected


def test_exact_compares_syntax_trees_not_spelling():
    site = site_of(plain, original='x, b="on"')
    assert repo_calls.exact(site, "x, b='on')")
    assert repo_calls.exact(site, "x,b = 'on'),")
    assert not repo_calls.exact(site, "x, b='off')")
    assert not repo_calls.exact(site, "")
    assert repo_calls.exact(site_of(plain, original=""), ")")


def test_select_draws_with_the_seed_and_caps_each_callee():
    sites = [
        Site("pkg", f"/p/{i}.py", i, 1, "pkg.style.Style" if i < 10 else f"pkg.m.f{i}", "", ())
        for i in range(20)
    ]
    first = repo_calls.select(sites, 8, seed=3)
    assert first == repo_calls.select(sites, 8, seed=3)
    assert first != repo_calls.select(sites, 8, seed=4)
    everything = repo_calls.select(sites, None, seed=3)
    assert sum(s.callee == "pkg.style.Style" for s in everything) == 3
    assert len(everything) == 13


def row(label, flagged=False, cross_file=False, latency=100.0, resampled=None):
    return {
        "label": label,
        "flagged_unbound": flagged,
        "cross_file": cross_file or flagged,
        "exact_match": False,
        "callee_in_prompt": True,
        "shown_resampled": False,
        "resampled": resampled,
        "latency_ms": latency,
    }


def test_summary_scores_recall_precision_and_the_resampled_latency_ratio():
    greedy = [row(BINDS, latency=100), row(DOES_NOT_BIND, True, latency=200), row(NONE)]
    resampled = [
        row(BINDS, latency=100),
        row(DOES_NOT_BIND, True, latency=500, resampled={"drawn": 4, "bound": 0}),
        row(NONE),
        row(DOES_NOT_BIND),
        row(BINDS, True),
        row(INVALID),
        # renamed a keyword: resampled, but drew nothing
        row(BINDS, latency=90, resampled={"drawn": 0, "bound": 0, "repaired": 1}),
    ]
    s = repo_calls_runner.summarize(
        "x", resampled, [*greedy, row(BINDS), row(BINDS), row(BINDS), row(BINDS, latency=80)]
    )
    assert (s["sites"], s["binds"], s["no_suggestion"], s["invalid"]) == (7, 3 / 7, 1, 1)
    assert (s["not_binding"], s["recall"]) == (2, 0.5)
    assert (s["flagged"], s["precision"]) == (2, 0.5)
    assert s["binding_flagged"] == 1 / 3
    # two requests resampled (p50 of two: the lower), one of them drew candidates
    assert (s["resampled"], s["p50_resampled_ms"], s["p50_same_sites_greedy_ms"]) == (2, 90, 80)
    assert s["resampled_ratio"] == 90 / 80
    assert (s["drew"], s["p50_drew_ms"], s["p50_drew_same_sites_greedy_ms"]) == (1, 500, 200)
    assert s["drew_ratio"] == 2.5
    goals = repo_calls_runner.goals([{**s, "name": "global on + resampling"}])
    assert goals[0] == "binds >= 0.9: 0.43 NOT met"
    assert goals[4] == "resampled p50 <= 2x greedy: 1.12 met"
    assert goals[5] == "the same, of the 1 requests that drew candidates: 2.50 NOT met"


def test_sites_are_taken_from_each_package_in_turn():
    a = [Site("a", f"/a/{i}.py", i, 1, "a.m.f", "", ()) for i in range(3)]
    b = [Site("b", "/b/0.py", 0, 1, "b.m.f", "", ())]
    order = repo_calls_runner.interleaved({"a": (Path("/a"), a), "b": (Path("/b"), b)})
    assert [s.path for _root, s in order] == ["/a/0.py", "/b/0.py", "/a/1.py", "/a/2.py"]


def test_the_rows_file_of_a_stopped_run_gives_the_same_summaries(tmp_path):
    rows = [
        {name: row(BINDS if i else DOES_NOT_BIND, flagged=not i) for name in CONFIGURATIONS}
        for i in range(3)
    ]
    rows_file = tmp_path / "rows.jsonl"
    rows_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    columns = repo_calls_runner.read_rows(rows_file)
    assert [len(c) for c in columns] == [3, 3, 3, 3]
    found = repo_calls_runner.summaries(columns, 1.0)
    assert [s["name"] for s in found] == list(CONFIGURATIONS)
    assert found[3]["binds"] == 2 / 3 and found[3]["recall"] == 1.0


def test_variants_edit_the_packages_own_argument_list():
    assert repo_calls_guard.variants("2, height=3") == [
        ("as written", "2, height=3"),
        ("one positional more", "2, None, height=3"),
        ("last argument dropped", "2"),
        ("a keyword renamed", "2, height_=3"),
    ]
    assert repo_calls_guard.variants("") == [
        ("as written", ""),
        ("one positional more", "None"),
    ]


SHAPES = """\
class Box:
    def __init__(self, width, height=1, *, color=None):
        self.width = width


def area(box, /, scale=1):
    return box.width * scale


class Public:
    def __init__(self, x):
        self.x = x


Public.__module__ = "tinypkg"  # as httpx does: a call in this file is no cross-module site


def make_public():
    return Public(1)
"""
USE = """\
from .shapes import Box, area


def make():
    box = Box(2, height=3)
    return area(box)
"""


def test_the_guard_alone_on_a_real_package_against_pythons_binding(tmp_path):
    package = tmp_path / "tinypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "shapes.py").write_text(SHAPES)
    (package / "use.py").write_text(USE)
    sites = repo_calls.find_sites("tinypkg", tmp_path)
    assert sorted((s.callee, s.original) for s in sites) == [
        ("tinypkg.shapes.Box", "2, height=3"),
        ("tinypkg.shapes.area", "box"),
    ]
    found = repo_calls_guard.measure(package, sites)
    assert found["all"] == {
        "lists": 7,
        "not_binding": 3,  # Box(2, None, height=3), Box(2, height_=3), area()
        "caught": 3,
        "flagged": 3,
        "false_flags": 0,
        "unchecked": 0,
        "recall": 1.0,
        "precision": 1.0,
    }
    assert found["misses"] == [] and found["false_flags"] == []
