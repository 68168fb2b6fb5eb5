"""The scope cut and the cross-file guard over LSP, with the real model and a real workspace."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from lsprotocol import types

from smalllsp.lspclient import as_dict

from .conftest import TEST_SETTINGS, capabilities, inline_params

FIXTURE = Path(__file__).parent.parent / "fixtures" / "guard_workspace"

# The model calls charge() here; with the global section off it has not seen
# charge's definition in billing/api.py.
PAY = '''from billing.api import charge, refund


def pay(order):
    """Charge the order's total and return the receipt id."""
    
'''

# Left alone, the 0.5B model finishes circle_area and runs on into a new
# function or an ``if __name__ == "__main__":`` block.
RUNS_ON = '''import math


def circle_area(radius):
    """Return the area of a circle with the given radius."""
    


def main():
    print(circle_area(2.0))
'''


async def status_of(client) -> dict:
    return as_dict(await client.protocol.send_request_async("smalllsp/status", None))


async def start(client, workspace: Path, options: dict) -> None:
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities("neovim"),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(workspace.as_uri(), workspace.name)],
            initialization_options={**TEST_SETTINGS, **options},
        )
    )
    for _ in range(600):
        status = await status_of(client)
        if status["index"]["state"] in ("ready", "failed") and status["state"] == "ready":
            assert status["index"]["state"] == "ready", status
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"the index did not get ready: {status}")


def open_pay(client, workspace: Path) -> str:
    path = workspace / "shop" / "pay.py"
    path.write_text(PAY)
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, PAY))
    )
    return uri


@pytest.fixture
def workspace(tmp_path) -> Path:
    copy = tmp_path / "shop-app"
    shutil.copytree(FIXTURE, copy)
    return copy


async def test_a_call_the_model_wrote_blind_arrives_flagged_with_its_reason(client, workspace):
    await start(client, workspace, {"global_tokens": 0})
    uri = open_pay(client, workspace)
    result = await client.text_document_inline_completion_async(inline_params(uri, 5, 4))
    assert len(result.items) == 1, result
    item = result.items[0]
    assert "charge(" in item.insert_text, item.insert_text  # the model calls into billing/api.py
    verdict = item.command.arguments[0]
    assert verdict["verdict"] == "cross-file"
    assert "uses charge() from billing/api.py, not seen by the model" in verdict["reasons"]
    assert item.command.command == "smalllsp.accepted" and "cross-file" in item.command.title

    # the client runs the command when the user accepts; the server counts it
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=item.command.command, arguments=item.command.arguments)
    )
    status = await status_of(client)
    assert status["accepted"] == {"local": 0, "cross_file": 1}


async def test_under_withhold_a_cross_file_suggestion_is_not_sent(client, workspace):
    await start(client, workspace, {"global_tokens": 0, "cross_file_policy": "withhold"})
    uri = open_pay(client, workspace)
    result = await client.text_document_inline_completion_async(inline_params(uri, 5, 4))
    assert not result.items
    status = await status_of(client)
    assert status["withheld"] == 1
    assert status["last_generation"]["dropped"] == {"withheld": 1}  # it was written, then held back
    assert status["last_generation"]["verdict"] is None


async def test_with_the_definition_in_the_global_section_the_same_call_is_local(client, workspace):
    await start(client, workspace, {})
    uri = open_pay(client, workspace)
    result = await client.text_document_inline_completion_async(inline_params(uri, 5, 4))
    assert len(result.items) == 1, result
    status = await status_of(client)
    shown = [block["path"] for block in status["last_generation"]["prompt"]["global_blocks"]]
    assert "billing/api.py" in shown  # charge's signature went into the prompt
    item = result.items[0]
    assert "charge(" in item.insert_text, item.insert_text
    assert item.command.arguments[0] == {"verdict": "local", "reasons": []}


async def test_a_run_on_past_the_function_is_cut_by_the_stop_rule(client, tmp_path):
    await start(client, tmp_path, {})
    uri = (tmp_path / "area.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, RUNS_ON))
    )
    result = await client.text_document_inline_completion_async(inline_params(uri, 5, 4))
    assert len(result.items) == 1
    text = result.items[0].insert_text
    assert text.strip() and "def " not in text and "__main__" not in text and "```" not in text
    status = await status_of(client)
    assert status["last_generation"]["stop_reason"] == "stop_rule", status[
        "last_generation"
    ]  # stopped, not trimmed
