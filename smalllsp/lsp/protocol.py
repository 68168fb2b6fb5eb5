"""JSON-RPC hardening: pygls's protocol and stdin reader, made to answer every request and survive any message.

Nothing here knows about completions: it is the envelope, the LSP life
cycle, the structuring of params and the answers to the client's mistakes
and our own bugs (see :class:`SmalllspProtocol`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
from typing import Any

import attrs
import cattrs
from lsprotocol import types
from lsprotocol.types import ResponseErrorMessage
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
    JsonRpcRequestCancelled,
    JsonRpcServerNotInitialized,
)
from pygls.io_ import StdinAsyncReader
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
    lsp_method,
)

log = logging.getLogger(__name__)


def _strict(value: Any, cls: type) -> Any:
    """Structure a str, int or bool (or an enum of one) only from a JSON value of that type.

    cattrs would turn ``"text": null`` into the document ``"None"`` and a
    line of 1.5 into 1; a client that sends those has a bug we must not hide.
    """
    base = bool if issubclass(cls, bool) else int if issubclass(cls, int) else str
    if not isinstance(value, base) or (base is int and isinstance(value, bool)):
        raise TypeError(f"expected {base.__name__}, got {type(value).__name__}")
    return value if cls is base else cls(value)


def _valid_id(msg_id: Any) -> bool:
    """LSP request ids are integers or strings."""
    return isinstance(msg_id, str) or (isinstance(msg_id, int) and not isinstance(msg_id, bool))


def _is_notification(method: str) -> bool:
    """An LSP method that is a notification (sent with an id, pygls would run it and answer null)."""
    cls = types.METHOD_TO_TYPES.get(method, (None,))[0]
    return cls is not None and "id" not in attrs.fields_dict(cls)


class _UnreadableLogged(logging.Filter):
    """pygls's read loop logs a stack trace at ERROR for every body that is
    not JSON; :meth:`SmalllspProtocol.answer_unreadable` answers and logs it in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (
            record.msg == "Unable to handle message"
            and isinstance(error, (ValueError, RecursionError))
        )


logging.getLogger("pygls.server").addFilter(_UnreadableLogged())


class SmalllspProtocol(LanguageServerProtocol):
    """pygls's protocol, made to answer every request and survive any message.

    * pygls 2.1 keeps a future per notification in ``_request_futures`` and
      never drops it: every handler's future is dropped once it is done.
    * A request we cancel (superseded, or ``$/cancelRequest``) is answered
      with the RequestCancelled error without a stack trace in the log.
    * A request whose params do not fit the LSP types (a negative line, a
      missing field, a string where a number goes) is answered with
      InvalidParams saying what is wrong; pygls only logs it, and the client
      would wait for ever. A notification like that is logged and dropped.
    * The JSON-RPC envelope and the LSP life cycle are checked before pygls
      sees a message: a body that is not JSON gets ParseError, one that is not
      a request (no ``jsonrpc: "2.0"``, an id or method of the wrong type)
      InvalidRequest, a request before ``initialize`` ServerNotInitialized
      and one after ``shutdown`` InvalidRequest (pygls answered none of them);
      notifications before ``initialize`` or after ``shutdown`` are dropped,
      except ``exit``.
    * Documents live in the server's own store only: pygls's copy doubled
      the memory of every document, and a change it could not apply raised
      before our handler saw it (an error pop-up, and our copy out of step).
    """

    def __init__(self, server: Any, converter: Any) -> None:
        for cls in (str, int, bool):
            converter.register_structure_hook(cls, _strict)
        super().__init__(server, converter)
        self._initialize_seen = False
        self._initialized_seen = False
        self.exit_code = 0  # the process's exit status once the connection ends

    def structure_message(self, data: Any) -> Any:
        """json.loads calls this for every object, nested ones too: the
        message is structured in :meth:`handle_message`, at the top only."""
        return data

    def handle_message(self, message: Any) -> None:
        try:
            structured = self._checked(message)
        except Exception:  # never let one message stop the loop; it is answered or logged
            log.exception("could not handle a message")
            msg_id = message.get("id") if isinstance(message, dict) else None
            if _valid_id(msg_id) and isinstance(message.get("method"), str):
                self._reply_error(
                    msg_id, JsonRpcInternalError(message="could not handle the message")
                )
            return
        if structured is not None:
            super().handle_message(structured)

    def _checked(self, message: Any) -> Any:
        """The structured message, or None when it was answered or dropped here."""
        if not isinstance(message, dict):
            return self._invalid(
                None, f"a message must be a JSON object, got {type(message).__name__}"
            )
        has_id = "id" in message
        msg_id = message.get("id")
        if (
            "method" not in message
        ):  # a response: never answered, or a client that answers errors would loop with us
            if not (
                has_id
                and _valid_id(msg_id)
                and message.get("jsonrpc") == self.VERSION
                and ("result" in message or "error" in message)
            ):
                log.warning(
                    "dropped a message that is neither a request, a notification nor a response"
                )
                return None
            return self._structure(message, None)
        if has_id and not _valid_id(msg_id):
            return self._invalid(
                None, f"a request id must be an integer or a string, got {type(msg_id).__name__}"
            )
        if message.get("jsonrpc") != self.VERSION:
            return self._invalid(msg_id, 'a message must have "jsonrpc": "2.0"', answer=has_id)
        method = message["method"]
        if not isinstance(method, str):
            return self._invalid(
                msg_id, f"a method must be a string, got {type(method).__name__}", answer=has_id
            )
        if (
            "params" in message
            and message["params"] is not None
            and not isinstance(message["params"], (dict, list))
        ):
            if has_id:
                self._reply_error(
                    msg_id,
                    JsonRpcInvalidParams(
                        message=f"invalid {method} request: params must be an object or an array"
                    ),
                )
            else:
                log.warning(
                    "dropped a %s notification: params must be an object or an array", method
                )
            return None
        if has_id and _is_notification(method):
            return self._invalid(msg_id, f"{method} is a notification; it cannot have an id")
        if method == types.EXIT:
            self.exit_code = 0 if self._shutdown else 1  # LSP: 1 when exit comes without shutdown
            return self._structure(message, method)
        if not self._initialize_seen and method != types.INITIALIZE:
            if has_id:
                self._reply_error(
                    msg_id, JsonRpcServerNotInitialized(message=f"{method} before initialize")
                )
            else:
                log.warning("dropped a %s notification sent before initialize", method)
            return None
        if self._shutdown:
            if has_id:
                self._reply_error(msg_id, JsonRpcInvalidRequest(message=f"{method} after shutdown"))
            else:
                log.warning("dropped a %s notification sent after shutdown", method)
            return None
        if method == types.INITIALIZED:
            if self._initialized_seen:  # it would load the model and index the workspace again
                log.warning("dropped a second initialized notification")
                return None
            self._initialized_seen = True
        if method == types.INITIALIZE:
            if not has_id:
                log.warning("dropped an initialize notification (initialize is a request)")
                return None
            if self._initialize_seen:
                self._reply_error(
                    msg_id, JsonRpcInvalidRequest(message="initialize may be sent only once")
                )
                return None
        structured = self._structure(message, method)
        if structured is not None and method == types.INITIALIZE:
            self._initialize_seen = True
        return structured

    def _reply_error(self, msg_id: Any, error: JsonRpcException) -> None:
        """Answer ``msg_id`` (None: a message whose id could not be read) with ``error``."""
        self._send_response(msg_id, error=error.to_response_error())

    def _invalid(self, msg_id: Any, why: str, *, answer: bool = True) -> None:
        log.warning("invalid JSON-RPC message: %s", why)
        if answer:
            self._reply_error(msg_id, JsonRpcInvalidRequest(message=why))
        return None

    def _structure(self, message: dict, method: str | None) -> Any:
        """pygls's structure_message, less its traceback at ERROR for every bad message."""
        try:
            if "id" not in message:
                cls = self.get_message_type(method) or JsonRPCNotification
            elif "error" in message:
                cls = ResponseErrorMessage
            elif method is not None:
                cls = self.get_message_type(method) or JsonRPCRequestMessage
            else:
                cls = self._result_types.pop(message["id"], None) or JsonRPCResponseMessage
            return self._converter.structure(message, cls)
        except Exception as exc:  # noqa: BLE001 - any structuring failure is the sender's
            if isinstance(exc, cattrs.ClassValidationError):
                detail = "; ".join(cattrs.transform_error(exc))
            else:
                detail = f"{type(exc).__name__}: {exc}"
            if method is None:
                log.warning("dropped a response the server cannot read: %s", detail)
            elif "id" in message:
                log.warning("invalid %s request: %s", method, detail)
                self._reply_error(
                    message["id"],
                    JsonRpcInvalidParams(message=f"invalid {method} request: {detail}"),
                )
            else:
                log.warning("dropped a %s notification: %s", method, detail)
            return None

    def answer_unreadable(self, error: BaseException) -> None:
        """A body that is not JSON (or nests too deep): ParseError, with a null id (JSON-RPC 2.0)."""
        log.warning("a message that is not JSON: %s", error)
        self._reply_error(None, JsonRpcParseError(message=f"not JSON: {error}"))

    def _execute_handler(self, msg_id, handler, callback, args=None, kwargs=None):
        def forget_then(future, _callback=callback):
            self._request_futures.pop(msg_id, None)
            _callback(future)

        super()._execute_handler(msg_id, handler, forget_then, args, kwargs)

    def _send_handler_result(self, future, *, msg_id):
        error = None if future.cancelled() else future.exception()
        if isinstance(error, JsonRpcException) and not isinstance(error, JsonRpcInternalError):
            # The client's mistake (a position past the end) or a cancel: an
            # answer and a line in the log, not a stack trace at ERROR.
            self._request_futures.pop(msg_id, None)
            if not isinstance(error, JsonRpcRequestCancelled):
                log.warning("answered %s with error %d: %s", msg_id, error.CODE, error.message)
            self._reply_error(msg_id, error)
            return
        if error is not None and not isinstance(error, JsonRpcException):
            # A bug of ours: the traceback and the server's paths go to the log,
            # the client gets what kind of failure it was and where to look.
            self._request_futures.pop(msg_id, None)
            log.error("request %s failed", msg_id, exc_info=error)
            message = f"smalllsp could not answer: {type(error).__name__} (the server log has the details)"
            self._reply_error(msg_id, JsonRpcInternalError(message=message))
            return
        super()._send_handler_result(future, msg_id=msg_id)

    def _user_handler(self, method: str, params: Any):
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_CLOSE, params)


_CONTENT_LENGTH = re.compile(rb"^Content-Length: (\d+)\r\n$")


class MessageReader(StdinAsyncReader):
    """pygls's stdin reader, with one thread hand-off per message instead of one per line.

    pygls's read loop awaits ``readline`` for each header line and
    ``readexactly`` for the body, each a trip through the thread pool and
    back to the event loop; on a busy machine every trip waits to be
    scheduled. Here the first ``readline`` of a message reads its headers up
    to the blank line and, when they give its length, its body, in one trip;
    the loop's next calls are answered from what was read.
    """

    def __init__(self, stdin: Any, executor: Any = None) -> None:
        super().__init__(stdin, executor)
        self._lines: collections.deque[bytes] = collections.deque()
        self._body: bytes | None = None

    def _read_message(self) -> None:  # on a pool thread
        length = None
        while True:
            line = self.stdin.readline()
            self._lines.append(line)
            if not line:
                return
            match = _CONTENT_LENGTH.fullmatch(line)
            if match and length is None:
                length = int(match.group(1))
            if length is not None and not line.strip():
                self._body = self.stdin.read(length)
                return

    def _done(self, value: Any) -> asyncio.Future[Any]:
        future = self.loop.create_future()
        future.set_result(value)
        return future

    def readline(self) -> Any:
        if self._lines:
            return self._done(self._lines.popleft())
        if (
            self._body is not None
        ):  # a body pygls did not ask for (a header it did not match): drop it
            self._body = None
        return self.loop.run_in_executor(self.executor, self._read_message_then_line)

    def _read_message_then_line(self) -> bytes:
        self._read_message()
        return self._lines.popleft()

    def readexactly(self, n: int) -> Any:
        body, self._body = self._body, None
        if body is not None and len(body) == n:
            return self._done(body)
        return super().readexactly(n)
