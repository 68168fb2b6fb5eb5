"""Which smalllsp files one ``textDocument/inlineCompletion`` runs code in.

The README's "How a completion flows" names the files a request passes
through; this counts them for real. The server is built in this process with
the real default model; a document is opened (its outline parsed off the loop,
as in the editor) and one warm request is made, then an edit and a second
request (a cache miss). A profiler on every thread records the file of each
smalllsp function called during that second request only.

    .venv/bin/python scripts/trace_request_files.py [--file some.py] [--line N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from functools import partial
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = str(ROOT / "smalllsp")
calls: Counter[str] = Counter()
recording = False


def profile(frame: Any, event: str, _arg: Any) -> None:
    if recording and event == "call":
        name = frame.f_code.co_filename
        if name.startswith(PACKAGE):
            calls[name[len(PACKAGE) + 1 :]] += 1


async def main(path: Path, line: int) -> None:
    global recording
    from lsprotocol import types

    from pygls.workspace import Workspace

    from smalllsp.config import Config
    from smalllsp.engine import loader
    from smalllsp.server import create_server

    server = create_server(Config(warmup=False, speculate_next=False, cold_latency_ms=0))
    handlers = server.protocol.fm.features
    uri = path.as_uri()
    text = path.read_text()
    lines = text.split("\n")
    server.protocol._workspace = Workspace(None)  # as initialize leaves it, with no folder
    await server.engine.load(partial(loader.open_runtime, server.config))
    handlers[types.TEXT_DOCUMENT_DID_OPEN](
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
    )
    inline = handlers[types.TEXT_DOCUMENT_INLINE_COMPLETION]
    column = len(lines[line]) - len(lines[line].lstrip())

    def request(character: int) -> Any:
        return inline(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic),
                text_document=types.TextDocumentIdentifier(uri),
                position=types.Position(line, character),
            )
        )

    await request(column)  # warm: the outline, the window's prompt read once
    at = types.Position(line, column)
    handlers[types.TEXT_DOCUMENT_DID_CHANGE](
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=uri),
            [types.TextDocumentContentChangePartial(types.Range(at, at), "x")],
        )
    )
    recording = True
    answer = await request(column + 1)
    recording = False
    server.engine.close()
    server.trees.stop()
    print(f"answer: {answer!r:.200}")
    print(f"{len(calls)} files ran code in one request:")
    for name, count in sorted(calls.items()):
        print(f"  {name:40} {count:7} calls")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=ROOT / "smalllsp" / "cache.py")
    parser.add_argument("--line", type=int, default=40, help="0-based line of the cursor")
    args = parser.parse_args()
    sys.setprofile(profile)
    threading.setprofile(profile)
    asyncio.run(main(args.file.resolve(), args.line))
