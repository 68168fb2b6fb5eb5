"""Which smalllsp files one ``textDocument/inlineCompletion`` runs code in.

The README's "How a completion flows" names the files a request passes
through; this counts them. The server is built in this process, the model
loaded from ``open_runtime``, a document opened (its outline parsed off the
loop, as in an editor) and asked once to warm it; then a character is typed
and the second request, a cache miss, is traced: a profiler on every thread
records the file of each smalllsp function called while it runs (the
edit's reparse, off the loop, is waited for first: it belongs to the edit,
not to the request). The LSP
reader (``lsp/protocol.py``) is not traced, since the handler is called
directly.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.workspace import Workspace

import smalllsp
from smalllsp.config import Config
from smalllsp.engine.runtime import Runtime
from smalllsp.server import create_server

PACKAGE = str(Path(smalllsp.__file__).parent)
# A document whose request makes the model write a call's arguments, so the guard binds them.
AREA = '''def area(width, height):
    """The area of a rectangle."""
    return width * height


def total(width, height, count):
    return count * area(
'''
AREA_MARKER = "area("


# The threads a request runs on: the LSP loop and the engine's worker. The
# others (the trees, the index, its cache writer) work for edits and files.
REQUEST_THREADS = ("MainThread", "smalllsp-model")


class Tracer:
    """Counts calls per smalllsp file while ``on``, on every thread started after it is installed:
    the request's threads in ``calls``, the background threads in ``background``."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.background: Counter[str] = Counter()
        self.on = False

    def __call__(self, frame: Any, event: str, _arg: Any) -> None:
        if self.on and event == "call":
            name = frame.f_code.co_filename
            if name.startswith(PACKAGE):
                request = threading.current_thread().name in REQUEST_THREADS
                counts = self.calls if request else self.background
                counts[Path(name).relative_to(PACKAGE).as_posix()] += 1

    def __enter__(self) -> "Tracer":
        sys.setprofile(self)
        threading.setprofile(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]


def cursor_after(text: str, marker: str) -> types.Position:
    """The position just after the last ``marker`` in ``text``."""
    at = text.rindex(marker) + len(marker)
    line = text.count("\n", 0, at)
    return types.Position(line, at - (text.rfind("\n", 0, at) + 1))


async def trace_one_request(
    open_runtime: Callable[[Config], Runtime], path: Path, text: str, marker: str, typed: str = "w"
) -> tuple[Tracer, Any]:
    """The calls per file of one cache-missing inline request at ``marker``'s end, and its answer.

    The document ``text`` is opened as ``path``; the first request (untraced)
    warms it, then ``typed`` is typed at the cursor and the request traced
    after it (a cache miss, unless the first answer began with it).
    """
    tracer = Tracer()
    with tracer:  # before the server's threads start, so they are traced too
        server = create_server(Config(warmup=False, speculate_next=False, cold_latency_ms=0))
        try:
            server.protocol._workspace = Workspace(None)  # as initialize leaves it, with no folder
            await server.engine.load(lambda: open_runtime(server.config))
            handlers = server.protocol.fm.features
            uri = path.as_uri()
            handlers[types.TEXT_DOCUMENT_DID_OPEN](
                types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
            )
            at = cursor_after(text, marker)

            def request(position: types.Position) -> Any:
                return handlers[types.TEXT_DOCUMENT_INLINE_COMPLETION](
                    types.InlineCompletionParams(
                        context=types.InlineCompletionContext(
                            types.InlineCompletionTriggerKind.Automatic
                        ),
                        text_document=types.TextDocumentIdentifier(uri),
                        position=position,
                    )
                )

            await request(at)
            handlers[types.TEXT_DOCUMENT_DID_CHANGE](
                types.DidChangeTextDocumentParams(
                    types.VersionedTextDocumentIdentifier(version=2, uri=uri),
                    [types.TextDocumentContentChangePartial(types.Range(at, at), typed)],
                )
            )
            assert server.trees.wait_idle(30.0), "the edit's tree was not parsed in 30 s"
            await asyncio.sleep(
                0.1
            )  # the outline's callbacks on the loop: the edit's work, not the request's
            tracer.on = True
            answer = await request(types.Position(at.line, at.character + len(typed)))
            tracer.on = False
        finally:
            server.engine.close()
            server.trees.stop()
    return tracer, answer
