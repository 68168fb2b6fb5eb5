"""Work-done progress (``$/progress``) for the model's loading and the workspace's indexing."""

from __future__ import annotations

import asyncio
from typing import Any, Mapping

from lsprotocol import types
from pygls.lsp.server import LanguageServer


class Progress:
    """One work-done progress (``$/progress``), when the client can show it.

    Reports are throttled to a few a second; ``end`` may be called once.
    """

    MIN_INTERVAL_S = 0.2

    def __init__(self, server: LanguageServer, token: str, title: str, message: str) -> None:
        self._server = server
        self._token = token
        self._last = 0.0
        self._ended = False
        capabilities = server.client_capabilities.window
        self._enabled = bool(capabilities and capabilities.work_done_progress)
        if self._enabled:
            server.work_done_progress.create(token)
            server.work_done_progress.begin(
                token,
                types.WorkDoneProgressBegin(
                    title=title, message=message or None, cancellable=False
                ),
            )

    def report(self, done: int, total: int | None, message: str) -> None:
        now = asyncio.get_running_loop().time()
        if not self._enabled or self._ended or now - self._last < self.MIN_INTERVAL_S:
            return
        self._last = now
        percentage = min(100, done * 100 // total) if total else None
        self._server.work_done_progress.report(
            self._token,
            types.WorkDoneProgressReport(message=message or None, percentage=percentage),
        )

    def end(self, message: str = "") -> None:
        if self._enabled and not self._ended:
            self._server.work_done_progress.end(
                self._token, types.WorkDoneProgressEnd(message=message or None)
            )
        self._ended = True


def index_summary(status: Mapping[str, Any]) -> str:
    """What the indexing progress says when it ends."""
    if status.get("state") == "failed":
        return "indexing failed (see the server log)"
    return f"{status.get('files', 0)} files, {status.get('definitions', 0)} definitions"
