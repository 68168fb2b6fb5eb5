"""Where the server's log goes: to the editor as ``window/logMessage``, or to stderr.

Editors log a language server's stderr as errors: Neovim's lsp.log writes every
stderr line as ``[ERROR]``, and VS Code's output channel tags them ``[error]``.
So while a client is connected, each record goes to it as ``window/logMessage``
with the record's level as the message type, and the editor files it under the
right level. Before ``initialize``, after the connection ends, and with the
``log_output = stderr`` setting, records go to stderr as before.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, Callable

from lsprotocol import types

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOGGER = "smalllsp"


def message_type(levelno: int) -> types.MessageType:
    """The LSP message type for a logging level."""
    if levelno >= logging.ERROR:
        return types.MessageType.Error
    if levelno >= logging.WARNING:
        return types.MessageType.Warning
    if levelno >= logging.INFO:
        return types.MessageType.Info
    return types.MessageType.Log


class ClientLogHandler(logging.Handler):
    """Sends records to the client once :meth:`attach` gave it a way to, else to stderr.

    Records may come from any thread (the model worker, the index); they are
    handed to the event loop's thread, which alone writes to the client.
    """

    def __init__(self, fallback: logging.Handler) -> None:
        super().__init__()
        self.fallback = fallback
        self._send: Callable[[types.MessageType, str], Any] | None = None
        self._sending = threading.local()  # a record logged while one is sent goes to stderr

    def attach(self, send: Callable[[types.MessageType, str], Any] | None) -> None:
        """``send(type, message)`` must be safe to call from any thread; None detaches."""
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        send = self._send
        if send is None or getattr(self._sending, "on", False):
            self.fallback.handle(record)
            return
        self._sending.on = True
        try:
            send(message_type(record.levelno), self.format(record))
        except Exception:  # noqa: BLE001 - the loop closed or the connection went: stderr still works
            self._send = None
            self.fallback.handle(record)
        finally:
            self._sending.on = False


def configure(output: str) -> ClientLogHandler | None:
    """Set up the server's logging; the handler to attach once a client is connected."""
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(logging.Formatter(FORMAT))
    logging.basicConfig(stream=sys.stderr, format=FORMAT)
    if output != "client":
        return None
    handler = ClientLogHandler(stderr)
    handler.setFormatter(
        logging.Formatter("%(name)s: %(message)s")
    )  # the editor adds its own time and level
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    logger.propagate = False
    return handler


def set_level(level: str) -> None:
    logging.getLogger(LOGGER).setLevel(level.upper())
    # pygls logs every message (document text included) at INFO.
    logging.getLogger("pygls").setLevel(
        logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    )
