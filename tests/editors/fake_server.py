"""A scripted inline-completion server, for the Neovim plugin's display tests.

It answers every textDocument/inlineCompletion with the items in
$FAKE_ITEMS (JSON: a list of {"insertText", "command"?}), placed at the
request's position, after $FAKE_DELAY_S seconds; with $FAKE_ONCE set, only the
first request gets them. Every request, cancellation and executed command is
appended to $FAKE_LOG (JSON lines), with the initializationOptions, the
settings pushed and the answer to a workspace/configuration request, so a
test can see what the plugin sent.
The real server is tested against the same plugin in test_neovim.py.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

ITEMS: list[dict[str, Any]] = json.loads(os.environ["FAKE_ITEMS"])
DELAY_S = float(os.environ.get("FAKE_DELAY_S", "0"))
ONCE = bool(os.environ.get("FAKE_ONCE"))
LOG = Path(os.environ["FAKE_LOG"])

server = LanguageServer("fake-smalllsp", "0")
answered = 0


def record(event: dict[str, Any]) -> None:
    with LOG.open("a") as log:
        log.write(json.dumps(event) + "\n")


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(
    ls: LanguageServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList:
    global answered
    where = {"line": params.position.line, "character": params.position.character}
    record({"event": "request", **where, "trigger": int(params.context.trigger_kind)})
    try:
        await asyncio.sleep(DELAY_S)
    except asyncio.CancelledError:
        record({"event": "cancelled", **where})
        raise
    answered += 1
    if ONCE and answered > 1:
        return types.InlineCompletionList(items=[])
    here = types.Range(params.position, params.position)
    items = [
        types.InlineCompletionItem(
            insert_text=item["insertText"],
            range=here,
            command=types.Command(**item["command"]) if "command" in item else None,
        )
        for item in ITEMS
    ]
    record({"event": "answer", **where, "items": len(items)})
    return types.InlineCompletionList(items=items)


@server.feature(types.INITIALIZE)
def initialize(ls: LanguageServer, params: types.InitializeParams) -> None:
    record({"event": "initialize", "options": params.initialization_options})


@server.feature(types.INITIALIZED)
async def initialized(ls: LanguageServer, params: types.InitializedParams) -> None:
    answer = await ls.workspace_configuration_async(
        types.ConfigurationParams(items=[types.ConfigurationItem(section="smalllsp")])
    )
    record({"event": "configuration", "answer": answer})


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(
    ls: LanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    record({"event": "didChangeConfiguration", "settings": params.settings})


@server.command("smalllsp.accepted")
def accepted(ls: LanguageServer, *arguments: Any) -> None:
    record(
        {
            "event": "accepted",
            "arguments": [json.loads(json.dumps(a, default=vars)) for a in arguments],
        }
    )


@server.feature("smalllsp/status")
def status(ls: LanguageServer, params: Any) -> dict[str, Any]:
    return {"state": "ready", "version": "fake"}


if __name__ == "__main__":
    server.start_io()
