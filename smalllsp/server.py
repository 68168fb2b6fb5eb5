"""The language server: pygls wiring only.

Handlers are plain functions that translate between LSP and the pipeline in
:mod:`smalllsp.completion`; the model runs on the engine's worker thread and
async handlers await it, so ``$/cancelRequest`` is read while a completion
runs.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import logging
import re
from functools import partial
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
import pygls.server as pygls_server
from pygls.io_ import StdinAsyncReader
from pygls.lsp.server import LanguageServer
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
    lsp_method,
)

from smalllsp import __version__, completion, guard, logsetup, modelstore
from smalllsp.cache import KEY_LINES, SuggestionCache, bounded_key
from smalllsp.config import Config
from smalllsp.context.sources import ContextSources, path_of
from smalllsp.context.window import Cursor
from smalllsp.documents import (
    DocumentStore,
    PositionError,
    column_to_index,
    index_to_column,
    split_lines,
)
from smalllsp.engine import Cancelled, Engine, ModelUnavailable
from smalllsp.engine import loader
from smalllsp.syntax import symbols
from smalllsp.syntax.doctree import DocumentTrees
from smalllsp.workspace import outline_cache

log = logging.getLogger(__name__)

STATUS_REQUEST = "smalllsp/status"
# What the server holds for one document (version, length, SHA-256; never the text):
# a client, or a test, can check that the server's copy is in step with its own.
DOCUMENT_STATE_REQUEST = "smalllsp/documentState"
# Settings the workspace index follows at run time (smalllsp.workspace.folders).
INDEX_SETTINGS = ("workspace_index", "index_max_files", "index_max_file_kb")
# Settings read when the model loads: changing one reloads it.
RELOAD_SETTINGS = (
    "model",
    "n_ctx",
    "n_threads",
    "n_gpu_layers",
    "n_batch",
    "moe_placement",
    "flash_attn",
    "cache_type",
    "engine",
    "remote_url",
    "remote_api",
    "remote_model",
    "remote_api_key_env",
    "remote_api_key_file",
    "remote_tls_verify",
    "remote_ca_bundle",
    "remote_timeout_ms",
    "remote_retries",
)
SUGGESTION_LABEL = "smalllsp · model suggestion"
# How long a document's first prompt waits for its outline (parsed off the loop).
FIRST_OUTLINE_WAIT_S = 2.0
# Executed by the client when a suggestion is accepted; carries the verdict.
ACCEPTED_COMMAND = "smalllsp.accepted"


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
                self._send_response(
                    msg_id,
                    error=JsonRpcInternalError(
                        message="could not handle the message"
                    ).to_response_error(),
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
                self._send_response(
                    msg_id,
                    error=JsonRpcInvalidParams(
                        message=f"invalid {method} request: params must be an object or an array"
                    ).to_response_error(),
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
                self._send_response(
                    msg_id,
                    error=JsonRpcServerNotInitialized(
                        message=f"{method} before initialize"
                    ).to_response_error(),
                )
            else:
                log.warning("dropped a %s notification sent before initialize", method)
            return None
        if self._shutdown:
            if has_id:
                self._send_response(
                    msg_id,
                    error=JsonRpcInvalidRequest(
                        message=f"{method} after shutdown"
                    ).to_response_error(),
                )
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
                self._send_response(
                    msg_id,
                    error=JsonRpcInvalidRequest(
                        message="initialize may be sent only once"
                    ).to_response_error(),
                )
                return None
        structured = self._structure(message, method)
        if structured is not None and method == types.INITIALIZE:
            self._initialize_seen = True
        return structured

    def _invalid(self, msg_id: Any, why: str, *, answer: bool = True) -> None:
        log.warning("invalid JSON-RPC message: %s", why)
        if answer:
            self._send_response(
                msg_id, error=JsonRpcInvalidRequest(message=why).to_response_error()
            )
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
                self._send_response(
                    message["id"],
                    error=JsonRpcInvalidParams(
                        message=f"invalid {method} request: {detail}"
                    ).to_response_error(),
                )
            else:
                log.warning("dropped a %s notification: %s", method, detail)
            return None

    def answer_unreadable(self, error: BaseException) -> None:
        """A body that is not JSON (or nests too deep): ParseError, with a null id (JSON-RPC 2.0)."""
        log.warning("a message that is not JSON: %s", error)
        self._send_response(
            None, error=JsonRpcParseError(message=f"not JSON: {error}").to_response_error()
        )

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
            self._send_response(msg_id, error=error.to_response_error())
            return
        if error is not None and not isinstance(error, JsonRpcException):
            # A bug of ours: the traceback and the server's paths go to the log,
            # the client gets what kind of failure it was and where to look.
            self._request_futures.pop(msg_id, None)
            log.error("request %s failed", msg_id, exc_info=error)
            message = f"smalllsp could not answer: {type(error).__name__} (the server log has the details)"
            self._send_response(
                msg_id, error=JsonRpcInternalError(message=message).to_response_error()
            )
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


class SmalllspServer(LanguageServer):
    def __init__(
        self,
        config: Config,
        client_log: logsetup.ClientLogHandler | None = None,
        *,
        allow_remote_settings: bool = False,
    ) -> None:
        super().__init__("smalllsp", __version__, protocol_cls=SmalllspProtocol)
        self.config = config
        self.client_log = client_log
        self._reported: set[str] = (
            set()
        )  # settings problems already told: each is told once a session
        # user_only settings (config.Setting.user_only) come from the user's start-up
        # choice: the environment, the command line and initializationOptions. A
        # change by workspace/didChangeConfiguration is refused unless this is set.
        self.allow_remote_settings = allow_remote_settings
        # The variables remote_api_key_env may name: the default and those named at start-up.
        self.key_envs = {Config().remote_api_key_env, config.remote_api_key_env}
        self.documents = DocumentStore()
        self.engine = Engine()
        self.loading: asyncio.Future[Any] | None = None
        self.last_generation: dict[str, Any] | None = None
        self.cache = SuggestionCache()
        self.sources = ContextSources(config.ring_chunks, config.ring_chunk_lines)
        self.accepted = {guard.LOCAL: 0, guard.CROSS_FILE: 0}
        self.withheld = 0
        self._warmups: dict[str, asyncio.TimerHandle] = {}
        self._refreshes: dict[str, asyncio.TimerHandle] = {}
        self._progress_count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outlined: set[str] = set()  # open documents whose outline reached the index
        self._outline_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self.trees = DocumentTrees(self._tree_parsed, config.max_document_kb * 1024)

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        """Serve over stdio with :class:`MessageReader` (pygls builds its reader by this module-level name)."""
        pygls_server.StdinAsyncReader = MessageReader
        super().start_io(stdin, stdout)

    def shutdown(self) -> None:
        """The connection ended (exit, or the client went away without one):
        stop the model between two tokens and the index's threads, so the
        process exits cleanly instead of killing a generation mid-call."""
        if self.client_log is not None:
            self.client_log.attach(None)
        self.engine.close()
        self.sources.stop()
        self.trees.stop()
        super().shutdown()  # last: it waits for the thread that reads stdin

    def report_server_error(self, error: Exception, source: Any) -> None:
        if source is JsonRpcException and isinstance(error, (ValueError, RecursionError)):
            self.protocol.answer_unreadable(error)  # the read loop's json.loads failed
            return
        super().report_server_error(error, source)

    @property
    def encoding(self) -> str:
        return self.workspace.position_encoding or types.PositionEncodingKind.Utf16

    def tell(self, kind: types.MessageType, message: str) -> None:
        """Show ``message`` to the user and log it."""
        level = {
            types.MessageType.Error: logging.ERROR,
            types.MessageType.Warning: logging.WARNING,
        }.get(kind, logging.INFO)
        log.log(level, "%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def apply_settings(self, values: Any, *, at_start: bool = False) -> bool:
        """Merge client settings; True when the model must be reloaded.

        ``at_start``: they came in initializationOptions, the user's start-up
        choice (the VS Code extension sends only user-scope values there; the
        Neovim plugin its setup() table). Otherwise (didChangeConfiguration,
        which may carry a workspace's values) a change to a user_only setting
        is refused unless the server started with --allow-remote-settings.
        Messages name settings, never their values.
        """
        if values is not None and not isinstance(values, dict):
            self.tell(
                types.MessageType.Warning,
                f"smalllsp: settings must be an object, got {type(values).__name__}",
            )
            return False
        old = self.config
        merged, problems = old.merged(values)
        for problem in problems:
            if (
                problem not in self._reported
            ):  # VS Code sends the same settings at start and on every change
                self._reported.add(problem)
                self.tell(types.MessageType.Warning, f"smalllsp: {problem}")
        refused = [] if at_start or self.allow_remote_settings else old.user_only_changes(merged)
        if refused:
            merged = dataclasses.replace(merged, **{name: getattr(old, name) for name in refused})
            self.tell(
                types.MessageType.Warning,
                f"smalllsp: refused a change of {', '.join(refused)} from workspace/didChangeConfiguration: these settings "
                "move data off the machine or read files, so they come only from the start-up settings (the editor's "
                "user settings, the environment, the command line); restart the server to apply them, or start it "
                "with --allow-remote-settings",
            )
        if at_start:
            self.key_envs.add(merged.remote_api_key_env)
        elif merged.remote_api_key_env not in self.key_envs:
            merged = dataclasses.replace(merged, remote_api_key_env=old.remote_api_key_env)
            self.tell(
                types.MessageType.Warning,
                "smalllsp: refused remote_api_key_env: it may name only a variable named at start-up",
            )
        self.config = merged
        logsetup.set_level(self.config.log_level)
        self.sources.ring.resize(self.config.ring_chunks, self.config.ring_chunk_lines)
        self.sources.private_patterns = self.config.private_patterns()
        if (
            self.config != old
        ):  # a cached suggestion was made under the old settings (global_tokens, policy, model...)
            self.cache.clear()
        self.trees.max_bytes = self.config.max_document_kb * 1024
        if any(getattr(old, n) != getattr(merged, n) for n in INDEX_SETTINGS):
            self.index_changed()
        return any(getattr(old, name) != getattr(self.config, name) for name in RELOAD_SETTINGS)

    def load_model(self) -> None:
        """Load the configured model on the worker; tell the user if it fails."""
        config = self.config
        try:
            what = loader.describe(config)
        except modelstore.StoreError as problem:
            self.engine.fail(str(problem))
            self.tell(types.MessageType.Error, f"smalllsp: {problem}")
            return
        progress = self.progress("smalllsp: loading model", what)
        loop = asyncio.get_running_loop()
        notify = partial(
            loop.call_soon_threadsafe, self.tell, types.MessageType.Warning
        )  # a remote engine down / back
        self.loading = self.engine.load(partial(loader.open_runtime, config, notify))
        self.loading.add_done_callback(lambda _future: progress.end())
        self.loading.add_done_callback(self._loaded)

    def progress(self, title: str, message: str = "") -> "Progress":
        """A work-done progress shown by the client (a no-op when it cannot show one)."""
        self._progress_count += 1
        return Progress(self, f"smalllsp-{self._progress_count}", title, message)

    def start_index(self) -> None:
        """Index the workspace folders in the background, with progress reports."""
        folders = [path_of(folder.uri) for folder in self.workspace.folders.values()]
        if not folders and self.workspace.root_path:
            folders = [self.workspace.root_path]
        folders = [r for r in folders if r]
        roots = folders if self.config.workspace_index else []
        progress = (
            self.progress("smalllsp: indexing workspace", ", ".join(roots)) if roots else None
        )
        loop = asyncio.get_running_loop()

        def report(done: int, total: int | None, message: str) -> None:
            if progress is not None:
                loop.call_soon_threadsafe(progress.report, done, total, message)

        def finished() -> None:
            if progress is not None:
                loop.call_soon_threadsafe(progress.end, _index_summary(self.sources.status()))

        self.sources.start(
            roots,
            max_files=self.config.index_max_files,
            max_file_bytes=self.config.index_max_file_kb * 1024,
            workers=self.config.index_workers,
            progress=report,
            done=finished,
            boundary_roots=folders,
            cache=outline_cache.settings(self.config.index_cache, self.config.index_cache_max_mb),
        )

    def index_changed(self) -> None:
        """Folders or index settings changed: the index follows, off the loop (latest wins)."""
        folders = [path_of(folder.uri) for folder in self.workspace.folders.values()]
        if not folders and self.workspace.root_path:  # as start_index: the root without folders
            folders = [self.workspace.root_path]
        if self.sources.index is not None:
            self.sources.changes.want(
                [f for f in folders if f],
                self.config.workspace_index,
                self.config.index_max_files,
                self.config.index_max_file_kb * 1024,
            )

    def schedule_refresh(self, uri: str, delay_s: float, edited_line: int | None) -> None:
        """After a pause in typing, keep the chunk around the last edit for the
        ring buffer and re-read the document's outline (imports, definitions)."""
        handle = self._refreshes.pop(uri, None)
        if handle is not None:
            handle.cancel()
        loop = asyncio.get_running_loop()
        self._refreshes[uri] = loop.call_later(
            delay_s, lambda: asyncio.ensure_future(self._refresh(uri, edited_line))
        )

    async def _refresh(self, uri: str, edited_line: int | None) -> None:
        self._refreshes.pop(uri, None)
        if uri not in self.documents:
            return
        doc = self.documents.get(uri)
        self._loop = asyncio.get_running_loop()
        # The tree and the outline: the tree thread takes the latest text (constant time here).
        self.trees.update(uri, doc.language_id, doc.version, doc.text)
        if edited_line is None:
            return
        try:
            await self._loop.run_in_executor(
                None, self.sources.refresh, uri, doc.language_id, doc.text, edited_line
            )
        except Exception:  # the ring is an aid: the next refresh tries again
            log.exception("could not keep a chunk of %s", uri)

    def _tree_parsed(
        self, uri: str, language_id: str, version: int, source: bytes, tree: Any
    ) -> None:
        """The tree thread parsed ``uri``: read its outline there, hand it to the loop."""
        outline = symbols.outline(language_id, source, tree) if tree is not None else None
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._outline_ready, uri, language_id, outline)

    def _outline_ready(self, uri: str, language_id: str, outline: Any) -> None:
        if uri in self.documents:  # not closed while its outline was read
            self.sources.outline_ready(uri, language_id, outline)
            self._outlined.add(uri)
        for waiter in self._outline_waiters.pop(uri, []):
            if not waiter.done():
                waiter.set_result(None)

    async def first_outline(self, uri: str) -> None:
        """Before a document's first prompt, wait (without blocking the loop, at most
        FIRST_OUTLINE_WAIT_S) for its outline from the tree thread: the prompt's global
        section and the guard need the document's own names. Later prompts use the
        last outline read; a document over max_document_kb has none to wait for."""
        if uri in self._outlined or uri not in self.documents:
            return
        if (
            len(self.documents.get(uri).text) > self.trees.max_bytes
        ):  # code points <= bytes: surely over
            return
        waiter = asyncio.get_running_loop().create_future()
        self._outline_waiters.setdefault(uri, []).append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), FIRST_OUTLINE_WAIT_S)
        except asyncio.TimeoutError:
            log.debug("no outline of %s yet: the prompt goes without it", uri)

    def close_document(self, uri: str) -> None:
        """Forget ``uri``: its text, tree, cached suggestion, timers. Another URI of
        the same file that stays open keeps the file's place in the index."""
        self.documents.close(uri)
        self.trees.close(uri)
        self._outlined.discard(uri)
        self.cache.forget(uri)
        self.cancel_warmup(uri)
        handle = self._refreshes.pop(uri, None)
        if handle is not None:
            handle.cancel()
        path = path_of(uri)
        twin = next(
            (
                other
                for other in self.documents.uris()
                if path is not None and path_of(other) == path
            ),
            None,
        )
        if twin is not None:
            self.schedule_refresh(
                twin, 0, edited_line=None
            )  # its outline takes the closed one's place
        else:
            self.sources.closed(uri)

    def _loaded(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or isinstance(future.exception(), Cancelled):
            return  # a newer load (settings changed again) took its place
        if future.exception() is not None:
            self.tell(
                types.MessageType.Error, f"smalllsp: cannot use the model: {future.exception()}"
            )
            return
        runtime = future.result()
        for warning in getattr(
            runtime, "warnings", ()
        ):  # e.g. it fell back from the GPU to the CPU
            self.tell(types.MessageType.Warning, warning)
        self.window_log_message(
            types.LogMessageParams(
                type=types.MessageType.Info,
                message=f"smalllsp: {runtime.name} loaded in {runtime.load_seconds:.2f}s on {runtime.device}",
            )
        )

    def cursor(self, uri: str, position: types.Position) -> tuple[str, Cursor]:
        """The document's language id and a snapshot of its lines with the cursor.

        Nothing is split or copied: the snapshot is the document's immutable
        text, whose lines are found outward from the cursor's as the pipeline
        reads them (:class:`smalllsp.documents.Lines`), on the engine's worker.
        """
        try:
            doc = self.documents.get(uri)
        except KeyError as exc:
            raise JsonRpcInvalidParams(message=str(exc.args[0])) from None
        if position.line < 0 or position.character < 0:
            raise JsonRpcInvalidParams(
                message=f"negative position {position.line}:{position.character}"
            )
        line = doc.line(position.line)
        if line is None:
            raise JsonRpcInvalidParams(
                message=f"line {position.line} is past the end of {uri} ({doc.line_count()} lines)"
            )
        column = column_to_index(line, position.character, self.encoding)
        return doc.language_id, Cursor(doc.lines_view(position.line), position.line, column)

    def cache_key(self, uri: str, cursor: Cursor) -> tuple[str, str]:
        """The suggestion cache's key for ``cursor``: bounded, whatever the document's size."""
        doc = self.documents.get(uri)
        block = cursor.line - cursor.line % KEY_LINES
        block_start = doc.line_start(block) or 0
        start = block_start if block == cursor.line else (doc.line_start(cursor.line) or 0)
        return bounded_key(doc.text, block_start, start + cursor.column)

    def schedule_warmup(self, uri: str, position: types.Position | None, delay_s: float) -> None:
        """Warm the KV cache for ``uri`` at ``position`` (None: the end) after ``delay_s``,
        unless a completion request for it comes first."""
        self.cancel_warmup(uri)
        if not self.config.warmup or self.engine.state not in ("loading", "ready"):
            return
        loop = asyncio.get_running_loop()
        self._warmups[uri] = loop.call_later(
            delay_s, lambda: asyncio.ensure_future(self._warm(uri, position))
        )

    def cancel_warmup(self, uri: str) -> None:
        handle = self._warmups.pop(uri, None)
        if handle is not None:
            handle.cancel()

    async def _warm(self, uri: str, position: types.Position | None) -> None:
        self._warmups.pop(uri, None)
        if uri not in self.documents:
            return
        if position is None:
            doc = self.documents.get(uri)
            last = doc.line_count() - 1
            text = doc.line(last) or ""
            position = types.Position(last, index_to_column(text, len(text), self.encoding))
        try:
            language_id, cursor = self.cursor(uri, position)
        except JsonRpcInvalidParams as problem:
            log.debug("no warm-up: %s", problem.message)
            return
        config = self.config
        await self.first_outline(uri)
        sources = self.sources.for_document(uri)
        try:
            await self.engine.run(
                uri,
                lambda runtime, cancelled: completion.warm(
                    runtime, config, language_id, cursor, cancelled, sources
                ),
                background=True,
            )
        except (Cancelled, ModelUnavailable) as reason:
            log.debug("warm-up of %s skipped: %s", uri, reason)
        except Exception as problem:  # a warm-up is an optimisation: log it, keep serving
            log.warning("warm-up of %s failed: %s", uri, problem)

    async def suggest(self, uri: str, position: types.Position) -> tuple[Cursor, list[Shown]]:
        """The cursor and the suggestions at ``position``, best first (none when there is nothing worth showing).

        Under the ``withhold`` policy cross-file candidates are dropped before
        ranking (a local one may take their place) and counted.
        """
        self.cancel_warmup(uri)
        language_id, cursor = self.cursor(uri, position)
        before, after = self.cache_key(uri, cursor)
        cached = self.cache.lookup(uri, before, after)
        if cached:
            self.last_generation = {
                "source": "cache",
                "n_prompt": 0,
                "n_reused": 0,
                "n_evaluated": 0,
                "n_generated": 0,
            }
            return cursor, [
                Shown(c.text, c.note if isinstance(c.note, guard.Verdict) else guard.LOCAL_VERDICT)
                for c in cached
            ]
        config = self.config
        await self.first_outline(uri)
        sources = self.sources.for_document(uri)
        try:
            result = await self.engine.run(
                uri,
                lambda runtime, cancelled: completion.generate(
                    runtime, config, language_id, cursor, cancelled, sources
                ),
            )
        except Cancelled as exc:
            raise JsonRpcRequestCancelled(message=str(exc)) from None
        except ModelUnavailable as exc:
            log.info("no completion: %s", exc)
            return cursor, []
        except (
            completion.PromptTooLong
        ) as exc:  # answered empty, with the reason in the log and the status
            log.warning("no completion for %s: %s", uri, exc)
            self.last_generation = {"source": "none", "reason": str(exc)}
            return cursor, []
        best = result.best
        self.last_generation = {
            **result.stats(),
            "verdict": best.verdict.as_dict() if best else None,
            "prompt": result.prompt,
        }
        self.withheld += result.dropped.get("withheld", 0)
        shown = [Shown(s.text, s.verdict) for s in result.suggestions]
        self.cache.store(uri, before, after, [(s.text, s.verdict) for s in shown])
        return cursor, shown


@dataclasses.dataclass(frozen=True)
class Shown:
    """One suggestion as the client gets it: the text to insert and the guard's verdict."""

    text: str
    verdict: guard.Verdict


class Progress:
    """One work-done progress (``$/progress``), when the client can show it.

    Reports are throttled to a few a second; ``end`` may be called once.
    """

    MIN_INTERVAL_S = 0.2

    def __init__(self, server: SmalllspServer, token: str, title: str, message: str) -> None:
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


def _index_summary(status: dict[str, Any]) -> str:
    if status.get("state") == "failed":
        return "indexing failed (see the server log)"
    return f"{status.get('files', 0)} files, {status.get('definitions', 0)} definitions"


def create_server(
    config: Config,
    client_log: logsetup.ClientLogHandler | None = None,
    *,
    allow_remote_settings: bool = False,
) -> SmalllspServer:
    server = SmalllspServer(config, client_log, allow_remote_settings=allow_remote_settings)

    @server.feature(types.INITIALIZE)
    def initialize(ls: SmalllspServer, params: types.InitializeParams) -> None:
        if ls.client_log is not None:  # LSP allows window/logMessage while initialize is answered
            loop = asyncio.get_running_loop()
            ls.client_log.attach(
                lambda kind, message: loop.call_soon_threadsafe(
                    ls.window_log_message, types.LogMessageParams(type=kind, message=message)
                )
            )
        ls.apply_settings(params.initialization_options, at_start=True)

    @server.feature(types.INITIALIZED)
    def initialized(ls: SmalllspServer, params: types.InitializedParams) -> None:
        ls.load_model()
        ls.start_index()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(
        ls: SmalllspServer, params: types.DidChangeConfigurationParams
    ) -> None:
        if ls.apply_settings(params.settings):
            ls.load_model()

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_workspace_folders(ls: SmalllspServer, params: Any) -> None:
        ls.index_changed()  # pygls has updated ls.workspace.folders

    @server.feature(
        types.WORKSPACE_DID_RENAME_FILES,
        types.FileOperationRegistrationOptions(
            filters=[types.FileOperationFilter(pattern=types.FileOperationPattern(glob="**/*"))]
        ),
    )
    def did_rename_files(ls: SmalllspServer, params: types.RenameFilesParams) -> None:
        pairs = [(path_of(f.old_uri), path_of(f.new_uri)) for f in params.files]
        ls.sources.changes.renamed([(old, new) for old, new in pairs if old and new])

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SmalllspServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.documents.open(params.text_document)
        ls.schedule_refresh(params.text_document.uri, 0, edited_line=0)
        ls.schedule_warmup(params.text_document.uri, None, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SmalllspServer, params: types.DidChangeTextDocumentParams) -> None:
        try:
            ls.documents.change(params, ls.encoding)
        except (KeyError, PositionError) as problem:
            log.error("ignored a change the document cannot take: %s", problem)
            return
        uri = params.text_document.uri
        last = params.content_changes[-1] if params.content_changes else None
        end = (
            _position_after(last, ls.encoding)
            if isinstance(last, types.TextDocumentContentChangePartial)
            else None
        )
        if end is not None:
            ls.schedule_warmup(uri, end, ls.config.warmup_delay_ms / 1000)
        ls.schedule_refresh(
            uri, ls.config.warmup_delay_ms / 1000, edited_line=end.line if end is not None else None
        )

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SmalllspServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.close_document(params.text_document.uri)

    @server.feature(DOCUMENT_STATE_REQUEST)
    def document_state(ls: SmalllspServer, params: Any) -> dict[str, Any]:
        uri = getattr(params, "uri", None)
        if not isinstance(uri, str):
            raise JsonRpcInvalidParams(
                message=f"{DOCUMENT_STATE_REQUEST} expects {{'uri': string}}"
            )
        if uri not in ls.documents:
            return {"uri": uri, "open": False}
        doc = ls.documents.get(uri)
        return {
            "uri": uri,
            "open": True,
            "version": doc.version,
            "language_id": doc.language_id,
            "length": len(doc.text),
            "sha256": hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
        }

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: SmalllspServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        _cursor, shown = await ls.suggest(params.text_document.uri, params.position)
        here = types.Range(params.position, params.position)
        return types.InlineCompletionList(
            items=[
                types.InlineCompletionItem(
                    insert_text=s.text, range=here, command=accepted_command(s.verdict)
                )
                for s in shown
            ]
        )

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[]))
    async def completion_item(
        ls: SmalllspServer, params: types.CompletionParams
    ) -> types.CompletionList:
        cursor, shown = await ls.suggest(params.text_document.uri, params.position)
        return types.CompletionList(
            is_incomplete=True,
            items=[
                completion_item_for(cursor, params.position, s.text, ls.encoding, s.verdict, rank)
                for rank, s in enumerate(shown)
            ],
        )

    @server.feature(STATUS_REQUEST)
    def status(ls: SmalllspServer, params: Any) -> dict[str, Any]:
        return {
            **ls.engine.status(),
            "version": __version__,
            "documents": len(ls.documents),
            "last_generation": ls.last_generation,
            "suggestion_cache_hits": ls.cache.hits,
            "cross_file_policy": ls.config.cross_file_policy,
            "accepted": {kind.replace("-", "_"): n for kind, n in ls.accepted.items()},
            "withheld": ls.withheld,
            "index": ls.sources.status(),
            "trees": ls.trees.status(),
            # futures pygls holds for messages in flight: must not grow with the session
            "protocol_futures": len(ls.protocol._request_futures),
        }

    @server.command(ACCEPTED_COMMAND)
    def accepted(ls: SmalllspServer, *arguments: Any) -> None:
        """The client inserted a suggestion; count it by verdict (nothing leaves the machine)."""
        verdict = (
            arguments[0].get("verdict") if arguments and isinstance(arguments[0], dict) else None
        )
        if verdict not in ls.accepted:
            raise JsonRpcInvalidParams(
                message=f"{ACCEPTED_COMMAND} expects [{{'verdict': 'local' | 'cross-file'}}], got {list(arguments)!r}"
            )
        ls.accepted[verdict] += 1

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: SmalllspServer, params: None) -> None:
        ls.engine.close()
        ls.sources.stop()
        ls.trees.stop()

    return server


def accepted_command(verdict: guard.Verdict) -> types.Command:
    """The command an inline item carries: the client runs it on accept, and
    shows its title (the verdict) next to a flagged suggestion."""
    title = "smalllsp: local"
    if verdict.cross_file:
        title = "smalllsp: cross-file — " + (
            verdict.reasons[0] if verdict.reasons else "depends on other files"
        )
    return types.Command(title=title, command=ACCEPTED_COMMAND, arguments=[verdict.as_dict()])


def completion_item_for(
    cursor: Cursor,
    position: types.Position,
    text: str,
    encoding: str,
    verdict: guard.Verdict = guard.LOCAL_VERDICT,
    rank: int = 0,
) -> types.CompletionItem:
    """A classic completion item carrying the suggestion, for clients without inline completion.

    Its edit replaces the word typed so far with that word plus the
    suggestion, so the client's own filtering by the word keeps the item.
    """
    word_start = cursor.column
    while word_start > 0 and (
        cursor.before[word_start - 1].isalnum() or cursor.before[word_start - 1] == "_"
    ):
        word_start -= 1
    word = cursor.before[word_start:]
    line = cursor.lines[cursor.line]
    start = types.Position(
        position.line,
        position.character - _units_between(line, word_start, cursor.column, encoding),
    )
    first_line = text.strip().split("\n", 1)[0]
    documentation = f"```\n{word + text}\n```"
    if verdict.cross_file:
        documentation = "**cross-file**: " + "; ".join(verdict.reasons) + "\n\n" + documentation
    return types.CompletionItem(
        label=(word + first_line)[:80] or first_line[:80],
        kind=types.CompletionItemKind.Snippet,
        detail=SUGGESTION_LABEL + (" (cross-file)" if verdict.cross_file else ""),
        label_details=types.CompletionItemLabelDetails(
            description="smalllsp · cross-file" if verdict.cross_file else "smalllsp"
        ),
        documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=documentation),
        command=accepted_command(verdict),
        filter_text=word + text,
        sort_text=f"{rank:02d}",
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=types.Range(start, position), new_text=word + text),
    )


def _position_after(
    change: types.TextDocumentContentChangePartial, encoding: str
) -> types.Position:
    """Where the cursor is after typing ``change`` (the end of the inserted text)."""
    start = change.range.start
    inserted = split_lines(change.text)
    width = index_to_column(inserted[-1], len(inserted[-1]), encoding)
    if len(inserted) == 1:
        return types.Position(start.line, start.character + width)
    return types.Position(start.line + len(inserted) - 1, width)


def _units_between(line: str, start: int, end: int, encoding: str) -> int:
    return index_to_column(line, end, encoding) - index_to_column(line, start, encoding)
