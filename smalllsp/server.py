"""The language server: pygls wiring only.

Handlers are plain functions that translate between LSP and the pipeline in
:mod:`smalllsp.completion`; the model runs on the engine's worker thread and
async handlers await it, so ``$/cancelRequest`` is read while a completion
runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from functools import partial
from typing import Any

import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcRequestCancelled
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from smalllsp import __version__, completion, guard, modelstore
from smalllsp.cache import SuggestionCache
from smalllsp.config import Config
from smalllsp.context.sources import ContextSources, path_of
from smalllsp.context.window import Cursor
from smalllsp.documents import DocumentStore, PositionError, column_to_index, index_to_column, split_lines
from smalllsp.engine import Cancelled, Engine, ModelUnavailable
from smalllsp.engine import loader

log = logging.getLogger(__name__)

STATUS_REQUEST = "smalllsp/status"
# Settings read when the model loads: changing one reloads it.
RELOAD_SETTINGS = ("model", "n_ctx", "n_threads", "n_gpu_layers", "n_batch", "moe_placement", "flash_attn", "cache_type",
                   "engine", "remote_url", "remote_api", "remote_model", "remote_api_key_env", "remote_api_key_file",
                   "remote_tls_verify", "remote_ca_bundle", "remote_timeout_ms", "remote_retries")
SUGGESTION_LABEL = "smalllsp · model suggestion"
# Executed by the client when a suggestion is accepted; carries the verdict.
ACCEPTED_COMMAND = "smalllsp.accepted"


class AnsweredError(JsonRpcInvalidParams):
    """A malformed request that has been answered with an error already."""


class SmalllspProtocol(LanguageServerProtocol):
    """pygls's protocol with three fixes for a long editing session.

    * pygls 2.1 keeps a future per notification in ``_request_futures`` and
      never drops it: every handler's future is dropped once it is done.
    * A request we cancel (superseded, or ``$/cancelRequest``) is answered
      with the RequestCancelled error without a stack trace in the log.
    * A request whose params do not fit the LSP types (a negative line, a
      missing field) is answered with InvalidParams saying what is wrong;
      pygls only logs it, and the client would wait for ever.
    """

    def structure_message(self, data):
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                raise
            detail = exc.message
            if isinstance(exc.__cause__, cattrs.ClassValidationError):
                detail = "; ".join(cattrs.transform_error(exc.__cause__))
            answer = AnsweredError(message=f"invalid {data['method']} request: {detail}")
            self._send_response(data["id"], error=answer.to_response_error())
            raise answer from exc

    def _execute_handler(self, msg_id, handler, callback, args=None, kwargs=None):
        def forget_then(future, _callback=callback):
            self._request_futures.pop(msg_id, None)
            _callback(future)

        super()._execute_handler(msg_id, handler, forget_then, args, kwargs)

    def _send_handler_result(self, future, *, msg_id):
        if not future.cancelled() and isinstance(future.exception(), JsonRpcRequestCancelled):
            self._request_futures.pop(msg_id, None)
            self._send_response(msg_id, error=future.exception().to_response_error())
            return
        super()._send_handler_result(future, msg_id=msg_id)


class SmalllspServer(LanguageServer):
    def __init__(self, config: Config) -> None:
        super().__init__("smalllsp", __version__, protocol_cls=SmalllspProtocol)
        self.config = config
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

    def report_server_error(self, error: Exception, source: Any) -> None:
        if isinstance(error, AnsweredError):
            log.warning("%s", error)  # the client has its answer; no pop-up
            return
        super().report_server_error(error, source)

    @property
    def encoding(self) -> str:
        return self.workspace.position_encoding or types.PositionEncodingKind.Utf16

    def tell(self, kind: types.MessageType, message: str) -> None:
        """Show ``message`` to the user and log it."""
        log.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, "%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def apply_settings(self, values: Any) -> bool:
        """Merge client settings; True when the model must be reloaded."""
        if values is not None and not isinstance(values, dict):
            self.tell(types.MessageType.Warning, f"smalllsp: settings must be an object, got {values!r}")
            return False
        old = self.config
        self.config, problems = old.merged(values)
        for problem in problems:
            self.tell(types.MessageType.Warning, f"smalllsp: {problem}")
        _set_log_level(self.config.log_level)
        self.sources.ring.resize(self.config.ring_chunks, self.config.ring_chunk_lines)
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
        notify = partial(loop.call_soon_threadsafe, self.tell, types.MessageType.Warning)  # a remote engine down / back
        self.loading = self.engine.load(partial(loader.open_runtime, config, notify))
        self.loading.add_done_callback(lambda _future: progress.end())
        self.loading.add_done_callback(self._loaded)

    def progress(self, title: str, message: str = "") -> "Progress":
        """A work-done progress shown by the client (a no-op when it cannot show one)."""
        self._progress_count += 1
        return Progress(self, f"smalllsp-{self._progress_count}", title, message)

    def start_index(self) -> None:
        """Index the workspace folders in the background, with progress reports."""
        roots = [path_of(folder.uri) for folder in self.workspace.folders.values()] if self.config.workspace_index else []
        if self.config.workspace_index and not roots and self.workspace.root_path:
            roots = [self.workspace.root_path]
        roots = [r for r in roots if r]
        progress = self.progress("smalllsp: indexing workspace", ", ".join(roots)) if roots else None
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
        )

    def schedule_refresh(self, uri: str, delay_s: float, edited_line: int | None) -> None:
        """After a pause in typing, keep the chunk around the last edit for the
        ring buffer and re-read the document's outline (imports, definitions)."""
        handle = self._refreshes.pop(uri, None)
        if handle is not None:
            handle.cancel()
        loop = asyncio.get_running_loop()
        self._refreshes[uri] = loop.call_later(delay_s, lambda: asyncio.ensure_future(self._refresh(uri, edited_line)))

    async def _refresh(self, uri: str, edited_line: int | None) -> None:
        self._refreshes.pop(uri, None)
        if uri not in self.documents:
            return
        doc = self.documents.get(uri)
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, self.sources.refresh, uri, doc.language_id, doc.text, edited_line
            )
        except Exception:  # the outline is an aid: the next refresh tries again
            log.exception("could not read the outline of %s", uri)

    def _loaded(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or isinstance(future.exception(), Cancelled):
            return  # a newer load (settings changed again) took its place
        if future.exception() is not None:
            self.tell(types.MessageType.Error, f"smalllsp: cannot use the model: {future.exception()}")
            return
        runtime = future.result()
        self.window_log_message(
            types.LogMessageParams(
                type=types.MessageType.Info,
                message=f"smalllsp: {runtime.name} loaded in {runtime.load_seconds:.2f}s on {runtime.device}",
            )
        )

    def cursor(self, uri: str, position: types.Position) -> tuple[str, Cursor]:
        """The document's language id and a snapshot of its lines with the cursor."""
        try:
            doc = self.documents.get(uri)
        except KeyError as exc:
            raise JsonRpcInvalidParams(message=str(exc.args[0])) from None
        lines = split_lines(doc.text)
        if position.line < 0 or position.character < 0:
            raise JsonRpcInvalidParams(message=f"negative position {position.line}:{position.character}")
        if position.line >= len(lines):
            raise JsonRpcInvalidParams(message=f"line {position.line} is past the end of {uri} ({len(lines)} lines)")
        column = column_to_index(lines[position.line], position.character, self.encoding)
        return doc.language_id, Cursor(lines, position.line, column)

    def schedule_warmup(self, uri: str, position: types.Position | None, delay_s: float) -> None:
        """Warm the KV cache for ``uri`` at ``position`` (None: the end) after ``delay_s``,
        unless a completion request for it comes first."""
        self.cancel_warmup(uri)
        if not self.config.warmup or self.engine.state not in ("loading", "ready"):
            return
        loop = asyncio.get_running_loop()
        self._warmups[uri] = loop.call_later(delay_s, lambda: asyncio.ensure_future(self._warm(uri, position)))

    def cancel_warmup(self, uri: str) -> None:
        handle = self._warmups.pop(uri, None)
        if handle is not None:
            handle.cancel()

    async def _warm(self, uri: str, position: types.Position | None) -> None:
        self._warmups.pop(uri, None)
        if uri not in self.documents:
            return
        if position is None:
            lines = split_lines(self.documents.get(uri).text)
            position = types.Position(len(lines) - 1, index_to_column(lines[-1], len(lines[-1]), self.encoding))
        try:
            language_id, cursor = self.cursor(uri, position)
        except JsonRpcInvalidParams as problem:
            log.debug("no warm-up: %s", problem.message)
            return
        config = self.config
        sources = self.sources.for_document(uri)
        try:
            await self.engine.run(
                uri,
                lambda runtime, cancelled: completion.warm(runtime, config, language_id, cursor, cancelled, sources),
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
        before, after = cursor.text_before(), cursor.text_after()
        cached = self.cache.lookup(uri, before, after)
        if cached:
            self.last_generation = {"source": "cache", "n_prompt": 0, "n_reused": 0, "n_evaluated": 0, "n_generated": 0}
            return cursor, [Shown(c.text, c.note if isinstance(c.note, guard.Verdict) else guard.LOCAL_VERDICT) for c in cached]
        config = self.config
        sources = self.sources.for_document(uri)
        try:
            result = await self.engine.run(
                uri,
                lambda runtime, cancelled: completion.generate(runtime, config, language_id, cursor, cancelled, sources),
            )
        except Cancelled as exc:
            raise JsonRpcRequestCancelled(message=str(exc)) from None
        except ModelUnavailable as exc:
            log.info("no completion: %s", exc)
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
                token, types.WorkDoneProgressBegin(title=title, message=message or None, cancellable=False)
            )

    def report(self, done: int, total: int | None, message: str) -> None:
        now = asyncio.get_running_loop().time()
        if not self._enabled or self._ended or now - self._last < self.MIN_INTERVAL_S:
            return
        self._last = now
        percentage = min(100, done * 100 // total) if total else None
        self._server.work_done_progress.report(
            self._token, types.WorkDoneProgressReport(message=message or None, percentage=percentage)
        )

    def end(self, message: str = "") -> None:
        if self._enabled and not self._ended:
            self._server.work_done_progress.end(self._token, types.WorkDoneProgressEnd(message=message or None))
        self._ended = True


def _index_summary(status: dict[str, Any]) -> str:
    if status.get("state") == "failed":
        return "indexing failed (see the server log)"
    return f"{status.get('files', 0)} files, {status.get('definitions', 0)} definitions"


def _set_log_level(level: str) -> None:
    logging.getLogger("smalllsp").setLevel(level.upper())
    # pygls logs every message (document text included) at INFO.
    logging.getLogger("pygls").setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING)


def create_server(config: Config) -> SmalllspServer:
    server = SmalllspServer(config)

    @server.feature(types.INITIALIZE)
    def initialize(ls: SmalllspServer, params: types.InitializeParams) -> None:
        ls.apply_settings(params.initialization_options)

    @server.feature(types.INITIALIZED)
    def initialized(ls: SmalllspServer, params: types.InitializedParams) -> None:
        ls.load_model()
        ls.start_index()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: SmalllspServer, params: types.DidChangeConfigurationParams) -> None:
        if ls.apply_settings(params.settings):
            ls.load_model()

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
        end = _position_after(last, ls.encoding) if isinstance(last, types.TextDocumentContentChangePartial) else None
        if end is not None:
            ls.schedule_warmup(uri, end, ls.config.warmup_delay_ms / 1000)
        ls.schedule_refresh(uri, ls.config.warmup_delay_ms / 1000, edited_line=end.line if end is not None else None)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SmalllspServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.documents.close(params.text_document.uri)
        ls.cache.forget(params.text_document.uri)
        ls.cancel_warmup(params.text_document.uri)
        ls.sources.closed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: SmalllspServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        _cursor, shown = await ls.suggest(params.text_document.uri, params.position)
        here = types.Range(params.position, params.position)
        return types.InlineCompletionList(
            items=[types.InlineCompletionItem(insert_text=s.text, range=here, command=accepted_command(s.verdict)) for s in shown]
        )

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[]))
    async def completion_item(ls: SmalllspServer, params: types.CompletionParams) -> types.CompletionList:
        cursor, shown = await ls.suggest(params.text_document.uri, params.position)
        return types.CompletionList(
            is_incomplete=True,
            items=[completion_item_for(cursor, params.position, s.text, ls.encoding, s.verdict, rank) for rank, s in enumerate(shown)],
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
            # futures pygls holds for messages in flight: must not grow with the session
            "protocol_futures": len(ls.protocol._request_futures),
        }

    @server.command(ACCEPTED_COMMAND)
    def accepted(ls: SmalllspServer, *arguments: Any) -> None:
        """The client inserted a suggestion; count it by verdict (nothing leaves the machine)."""
        verdict = arguments[0].get("verdict") if arguments and isinstance(arguments[0], dict) else None
        if verdict not in ls.accepted:
            raise JsonRpcInvalidParams(message=f"{ACCEPTED_COMMAND} expects [{{'verdict': 'local' | 'cross-file'}}], got {list(arguments)!r}")
        ls.accepted[verdict] += 1

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: SmalllspServer, params: None) -> None:
        ls.engine.close()
        ls.sources.stop()

    return server


def accepted_command(verdict: guard.Verdict) -> types.Command:
    """The command an inline item carries: the client runs it on accept, and
    shows its title (the verdict) next to a flagged suggestion."""
    title = "smalllsp: local"
    if verdict.cross_file:
        title = "smalllsp: cross-file — " + (verdict.reasons[0] if verdict.reasons else "depends on other files")
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
    while word_start > 0 and (cursor.before[word_start - 1].isalnum() or cursor.before[word_start - 1] == "_"):
        word_start -= 1
    word = cursor.before[word_start:]
    line = cursor.lines[cursor.line]
    start = types.Position(position.line, position.character - _units_between(line, word_start, cursor.column, encoding))
    first_line = text.strip().split("\n", 1)[0]
    documentation = f"```\n{word + text}\n```"
    if verdict.cross_file:
        documentation = "**cross-file**: " + "; ".join(verdict.reasons) + "\n\n" + documentation
    return types.CompletionItem(
        label=(word + first_line)[:80] or first_line[:80],
        kind=types.CompletionItemKind.Snippet,
        detail=SUGGESTION_LABEL + (" (cross-file)" if verdict.cross_file else ""),
        label_details=types.CompletionItemLabelDetails(description="smalllsp · cross-file" if verdict.cross_file else "smalllsp"),
        documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=documentation),
        command=accepted_command(verdict),
        filter_text=word + text,
        sort_text=f"{rank:02d}",
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=types.Range(start, position), new_text=word + text),
    )


def _position_after(change: types.TextDocumentContentChangePartial, encoding: str) -> types.Position:
    """Where the cursor is after typing ``change`` (the end of the inserted text)."""
    start = change.range.start
    inserted = split_lines(change.text)
    width = index_to_column(inserted[-1], len(inserted[-1]), encoding)
    if len(inserted) == 1:
        return types.Position(start.line, start.character + width)
    return types.Position(start.line + len(inserted) - 1, width)


def _units_between(line: str, start: int, end: int, encoding: str) -> int:
    return index_to_column(line, end, encoding) - index_to_column(line, start, encoding)
