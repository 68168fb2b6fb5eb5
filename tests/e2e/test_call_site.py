"""Call-site context and the binding guard over LSP, with the real model: the
callee lives in another file of the workspace (a package laid out like a real
one), its definition goes first into the prompt, and a call whose arguments do
not bind arrives flagged with the exact reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import inline_params
from .test_cross_file import start, status_of

FIXTURE = Path(__file__).parent.parent / "fixtures" / "callee_workspace" / "richlike"

MAKE = '''from .console import Console
from .region import Region
from .style import Style
from .syntax import Syntax


def make(width, code):
    """Make one."""
    return {call}
'''


@pytest.fixture
def workspace(tmp_path) -> Path:
    copy = tmp_path / "richlike"
    shutil.copytree(FIXTURE, copy)
    return copy


def open_make(client, workspace: Path, call: str) -> str:
    text = MAKE.format(call=call)
    path = workspace / "report.py"
    path.write_text(text)
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
    )
    return uri


async def test_the_callee_comes_first_and_a_call_that_does_not_bind_is_flagged(client, workspace):
    await start(client, workspace, {"resample_unbound": 0})
    uri = open_make(client, workspace, "Syntax(")
    result = await client.text_document_inline_completion_async(
        inline_params(uri, 8, len("    return Syntax("))
    )
    status = await status_of(client)
    blocks = status["last_generation"]["prompt"]["global_blocks"]
    # the prompt sent: Syntax's constructor first, before the other imported definitions
    assert {k: blocks[0][k] for k in ("kind", "path", "text")} == {
        "kind": "callee",
        "path": "syntax.py",
        "text": 'class Syntax:\n    """Source code, highlighted."""\n'
        '    def __init__(self, code, lexer, *, theme="monokai", line_numbers=False):\n        ...\n',
    }
    assert blocks[0]["tokens"] > 0 and [b["kind"] for b in blocks[1:]] == ["definitions"] * (
        len(blocks) - 1
    )
    assert "syntax.py" not in [b["path"] for b in blocks[1:]]  # shown once

    # the 0.5B model writes keyword arguments only and leaves out `code`
    assert len(result.items) == 1, result
    item = result.items[0]
    assert item.insert_text == 'lexer=make_lexer(code), theme="monokai", line_numbers=False)'
    verdict = item.command.arguments[0]
    assert verdict == {
        "verdict": "cross-file",
        "reasons": [
            "calls Syntax() with no argument for code; syntax.py defines class Syntax: "
            "(code, lexer, *, theme=…, line_numbers=…)"
        ],
    }
    assert status["last_generation"]["verdict"] == verdict


async def test_a_nested_call_is_bound_too(client, workspace):
    await start(client, workspace, {"resample_unbound": 0})
    uri = open_make(client, workspace, "Console(")
    result = await client.text_document_inline_completion_async(
        inline_params(uri, 8, len("    return Console("))
    )
    status = await status_of(client)
    first = status["last_generation"]["prompt"]["global_blocks"][0]
    assert (first["kind"], first["path"]) == ("callee", "console.py")
    assert 'def __init__(self, *, color_system="auto", width=None, record=False):' in first["text"]
    assert len(result.items) == 1, result
    item = result.items[0]
    # the model passes a Style positionally, and gives Style a keyword it does not take
    assert item.insert_text == "Style(width=width), code=code)"
    assert item.command.arguments[0] == {
        "verdict": "cross-file",
        "reasons": [
            "calls Console() with 1 positional argument (it takes 0; color_system, width, record are keyword-only); "
            "console.py defines class Console: (*, color_system=…, width=…, record=…)",
            "calls Style() with an unknown keyword width=; style.py defines class Style: (*, color=…, bold=…, italic=…)",
        ],
    }


async def test_resampling_shows_a_candidate_whose_call_binds(client, workspace):
    await start(client, workspace, {"seed": 1, "resample_latency_factor": 0})
    uri = open_make(client, workspace, "Syntax(")
    result = await client.text_document_inline_completion_async(
        inline_params(uri, 8, len("    return Syntax("))
    )
    status = await status_of(client)
    generation = status["last_generation"]
    # drawing stopped at the first candidate that binds (at most resample_unbound = 4 drawn)
    drawn = generation["resampled"]["drawn"]
    assert 1 <= drawn <= 4 and generation["samples"] == 1 + drawn
    assert generation["resampled"]["bound"] == 1
    # first: the drawn candidate whose call binds, marked; then the greedy one, still flagged
    assert len(result.items) == 2, result
    first, last = result.items
    assert first.command.arguments[0] == {
        "verdict": "local",
        "reasons": [],
        "resampled": True,
        "bound": ["Syntax()"],
    }
    assert generation["verdict"] == first.command.arguments[0]
    assert last.insert_text == 'lexer=make_lexer(code), theme="monokai", line_numbers=False)'
    assert last.command.arguments[0]["reasons"] == [
        "calls Syntax() with no argument for code; syntax.py defines class Syntax: (code, lexer, *, theme=…, line_numbers=…)"
    ]


MADE_UP = '''from .console import Console


def make(terminal_width):
    """Make one."""
    return Console(
'''


async def test_a_made_up_keyword_is_renamed_to_the_parameter_it_nearly_names(client, workspace):
    """The 0.5B model writes ``terminal_width=`` for Console's ``width``: the guard offers the
    rename, and the renamed call, which binds, is shown first with no model step spent."""
    await start(client, workspace, {})
    path = workspace / "report.py"
    path.write_text(MADE_UP)
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, MADE_UP))
    )
    result = await client.text_document_inline_completion_async(
        inline_params(uri, 5, len("    return Console("))
    )
    generation = (await status_of(client))["last_generation"]
    assert generation["samples"] == 1  # the greedy answer only: nothing drawn
    assert generation["resampled"] == {
        "drawn": 0,
        "bound": 0,
        "given_up": 0,
        "bare": 0,
        "repaired": 1,
    }
    assert [item.insert_text for item in result.items] == [
        "width=terminal_width)",
        "terminal_width=terminal_width)",
    ]
    first, last = (item.command.arguments[0] for item in result.items)
    assert first == {
        "verdict": "local",
        "reasons": [],
        "resampled": True,
        "bound": ["Console()"],
        "repaired": ["terminal_width= → width="],
    }
    assert last["reasons"] == [
        "calls Console() with an unknown keyword terminal_width=; console.py defines class "
        "Console: (*, color_system=…, width=…, record=…)"
    ]
