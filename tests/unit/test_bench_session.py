"""The session bench's plan and driver, with a scripted system instead of a model."""

import asyncio

from smalllsp.bench.session import Texts, agreement, run, visits
from smalllsp.bench.session_report import summarize

SOURCE_A = "def a():\n" + "".join(
    f"    value_{i} = compute_something({i}, flag=True)\n" for i in range(40)
)
SOURCE_B = "def b():\n" + "".join(
    f"    other_{i} = transform_the_data({i}, keep=False)\n" for i in range(40)
)


class Scripted:
    """Suggests the real rest of the line, so an accept happens; records what it saw."""

    def __init__(self, texts, originals):
        self.texts, self.originals, self.seen = texts, originals, []

    async def change(self, path, line, start, end, text):
        pass

    async def request(self, path, line, column):
        current = self.texts.lines[path][line]
        self.seen.append((path.name, line, current[:column]))
        rest = self.originals[path][line][column:]
        return rest, {"source": "model"}


def test_visits_cycle_through_the_files_at_places_far_apart(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text(SOURCE_A)
    b.write_text(SOURCE_B)
    plan = visits([a, b], 4)
    assert [v.path.name for v in plan] == ["a.py", "b.py", "a.py", "b.py"]
    assert abs(plan[0].line - plan[2].line) >= 2 and plan[0].line != plan[2].line
    for visit in plan:
        line = (a if visit.path == a else b).read_text().split("\n")[visit.line]
        assert line[: visit.column] + visit.rest == line and visit.column == 8


def test_the_session_types_the_rest_back_accepts_once_and_leaves_the_text_as_it_was(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text(SOURCE_A)
    b.write_text(SOURCE_B)
    texts = Texts([a, b])
    originals = {p: list(lines) for p, lines in texts.lines.items()}
    system = Scripted(texts, originals)
    plan = visits([a, b], 2)
    import smalllsp.bench.session as session

    session.THINK_S, think = 0.0, session.THINK_S
    try:
        records = asyncio.run(run(system, texts, plan, read_pause_s=0.0))
    finally:
        session.THINK_S = think
    kinds = [r["kind"] for r in records]
    assert kinds.count("first") == 2 and kinds.count("after_accept") == 2
    assert texts.lines == originals  # every line typed back, every accept undone
    first = plan[0]
    # the first request sees the line cut at the visit's column
    assert system.seen[0] == ("a.py", first.line, originals[a][first.line][: first.column])
    summary = summarize(records)
    assert summary["first_of_visit"]["n"] == 2 and summary["after_accept"]["n"] == 2
    assert summary["all"]["n"] == len(records)
    # it always suggests the true rest of the line: every judged request agrees whole
    # not judged: the request after each accept, and each visit's last (the line is whole)
    judged = len(records) - 2 - 2
    assert summary["all"]["agrees"] == {"line": judged, "start": 0, "wrong": 0, "none": 0}
    assert summary["first_of_visit"]["agrees"]["line"] == 2


def test_a_suggestion_agrees_with_the_line_whole_in_part_or_not_at_all():
    truth = "total += shape.area()"
    assert agreement("total += shape.area()\n    return total", truth) == "line"
    assert agreement("total += shape", truth) == "start"
    assert agreement("total -= 1", truth) == "wrong"
    assert agreement("", truth) == "none" and agreement("\n    x", truth) == "none"


def test_the_readme_table_shows_each_kind_with_its_ratio():
    from smalllsp.bench.session_report import markdown

    def records(ms):
        return [
            {"kind": "first", "latency_ms": ms * 10, "source": "model"},
            {"kind": "typing", "latency_ms": ms, "source": "model"},
            {"kind": "after_accept", "latency_ms": ms / 2, "source": "cache"},
        ]

    ours, theirs = summarize(records(100)), summarize(records(200))
    report = {
        "smalllsp": {
            **ours,
            "peak_rss_mib": 700.0,
            "rss_loaded_mib": 600.0,
            "kv_states": {"used_mib": 36.5, "budget_mib": 128.0},
        },
        "llama_server": {**theirs, "peak_rss_mib": 650.0},
        "all_p50_ratio": 0.5,
        "first_of_visit_p50_ratio": 0.5,
        "after_accept_p50_ratio": 0.5,
    }
    table = markdown(report).split("\n")
    assert table[2] == "| all requests | 100 / 1,000 (n=3) | 200 / 2,000 (n=3) | 0.50 |"
    assert (
        table[3]
        == "| first request of a visit | 1,000 / 1,000 (n=1) | 2,000 / 2,000 (n=1) | 0.50 |"
    )
    assert table[5] == "| model calls | 2 | 2 | |"
    assert table[-1] == (
        "| smalllsp: resident once loaded → peak (MiB); per-document states used / budget "
        "| 600 → 700; 36.5 / 128.0 | | |"
    )
