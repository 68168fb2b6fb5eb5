"""The README's "How a completion flows" names every file one inline request
runs code in, traced with the real default model in this process."""

from __future__ import annotations

import re
from pathlib import Path

from smalllsp.engine.loader import open_runtime
from tests.support.request_path import AREA, AREA_MARKER, trace_one_request

README = Path(__file__).resolve().parents[2] / "README.md"
# Files a request cannot do without: if the trace misses one, the tracing broke.
CORE = {
    "server.py",
    "service.py",
    "engine/llama.py",
    "pipeline/context.py",
    "pipeline/generate.py",
    "pipeline/cutters.py",
    "pipeline/filters.py",
    "guard/__init__.py",
    "pipeline/rank.py",
    "lsp/items.py",
}


def flow_diagram() -> str:
    """The stages and their helpers: the first code block of the README's flow section."""
    text = README.read_text()
    start = text.index("```", text.index("## How a completion flows"))
    return text[start : text.index("```", start + 3)]


async def test_the_readme_names_every_file_one_request_runs_code_in(tmp_path):
    tracer, answer = await trace_one_request(open_runtime, tmp_path / "area.py", AREA, AREA_MARKER)
    calls = tracer.calls
    assert answer.items and answer.items[0].range.start.line == 6  # the model answered
    assert CORE <= set(calls), f"not traced: {sorted(CORE - set(calls))}"
    section = flow_diagram()
    unnamed = [f for f in sorted(calls) if not re.search(rf"(?<![\w/.]){re.escape(f)}\b", section)]
    assert unnamed == [], f"run by one request, not named in the README's flow: {unnamed}"
