"""The language server: pygls wiring only.

:class:`SmalllspServer` holds the documents, the engine, the context sources
and the settings; the handlers in :func:`create_server` are a few lines each,
calling the :class:`~smalllsp.service.CompletionService` for suggestions and
:mod:`smalllsp.lsp` for everything LSP-shaped (the protocol's hardening, the
items, the progress, the status payloads).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pygls.server as pygls_server
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from smalllsp import __version__, logsetup, modelstore
from smalllsp.config import RELOAD_SETTINGS, Config
from smalllsp.context.sources import ContextSources, path_of
from smalllsp.documents import DocumentStore, PositionError, index_to_column, split_lines
from smalllsp.engine import Cancelled, Engine, loader
from smalllsp.lsp import items, status
from smalllsp.lsp.progress import Progress, index_summary
from smalllsp.lsp.protocol import MessageReader, SmalllspProtocol
from smalllsp.lsp.settings import SettingsPolicy
from smalllsp.lsp.status import DOCUMENT_STATE_REQUEST, STATUS_REQUEST
from smalllsp.service import CompletionService
from smalllsp.syntax import symbols
from smalllsp.syntax.doctree import DocumentTrees
from smalllsp.workspace import outline_cache

log = logging.getLogger(__name__)

__all__ = ["STATUS_REQUEST", "DOCUMENT_STATE_REQUEST", "SmalllspServer", "create_server"]

# Settings the workspace index follows at run time (smalllsp.workspace.folders).
INDEX_SETTINGS = ("workspace_index", "index_max_files", "index_max_file_kb")
# How long a document's first prompt waits for its outline (parsed off the loop).
FIRST_OUTLINE_WAIT_S = 2.0


class SmalllspServer(LanguageServer):
    protocol: SmalllspProtocol

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
        self.settings = SettingsPolicy(config, allow_remote_settings=allow_remote_settings)
        self.documents = DocumentStore()
        self.engine = Engine()
        self.loading: asyncio.Future[Any] | None = None
        self.sources = ContextSources(config.ring_chunks, config.ring_chunk_lines)
        self.service = CompletionService(self)  # the suggestion cache, warm-ups and counters
        self._refreshes: dict[str, asyncio.TimerHandle] = {}
        self._progress_count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outlined: set[str] = set()  # open documents whose outline reached the index
        self._outline_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self.trees = DocumentTrees(self._tree_parsed, config.max_document_kb * 1024)
        # One thread keeps the ring's chunks, in the order the edits came: the ring is ordered by
        # recency, and a shared pool let three opened documents' chunks land in any order.
        self._ring_keeper = ThreadPoolExecutor(1, thread_name_prefix="smalllsp-ring")

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        """Serve over stdio with :class:`MessageReader` (pygls builds its reader by this module-level name)."""
        setattr(pygls_server, "StdinAsyncReader", MessageReader)
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
        self._ring_keeper.shutdown(wait=False)
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
        """Merge client settings (:class:`~smalllsp.lsp.settings.SettingsPolicy`); True when
        the model must be reloaded.

        ``at_start``: they came in initializationOptions, the user's start-up
        choice (the VS Code extension sends only user-scope values there; the
        Neovim plugin its setup() table); otherwise didChangeConfiguration.
        """
        old = self.config
        merged, warnings = self.settings.merge(old, values, at_start=at_start)
        for warning in warnings:
            self.tell(types.MessageType.Warning, warning)
        self.config = merged
        logsetup.set_level(self.config.log_level)
        self.sources.ring.resize(self.config.ring_chunks, self.config.ring_chunk_lines)
        self.sources.private_patterns = self.config.private_patterns()
        if (
            self.config != old
        ):  # a cached suggestion was made under the old settings (global_tokens, policy, model...)
            self.service.settings_changed()
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
        progress = self.start_progress("smalllsp: loading model", what)
        loop = asyncio.get_running_loop()

        def notify(message: str) -> None:  # a remote engine down / back
            loop.call_soon_threadsafe(self.tell, types.MessageType.Warning, message)

        self.loading = self.engine.load(partial(loader.open_runtime, config, notify))
        self.loading.add_done_callback(lambda _future: progress.end())
        self.loading.add_done_callback(self._loaded)

    def start_progress(self, title: str, message: str = "") -> Progress:
        """A work-done progress shown by the client (a no-op when it cannot show one)."""
        self._progress_count += 1
        return Progress(self, f"smalllsp-{self._progress_count}", title, message)

    def start_index(self) -> None:
        """Index the workspace folders in the background, with progress reports."""
        paths = [path_of(folder.uri) for folder in self.workspace.folders.values()]
        if not paths and self.workspace.root_path:
            paths = [self.workspace.root_path]
        folders = [r for r in paths if r]
        roots = folders if self.config.workspace_index else []
        progress = (
            self.start_progress("smalllsp: indexing workspace", ", ".join(roots)) if roots else None
        )
        loop = asyncio.get_running_loop()

        def report(done: int, total: int | None, message: str) -> None:
            if progress is not None:
                loop.call_soon_threadsafe(progress.report, done, total, message)

        def finished() -> None:
            if progress is not None:
                loop.call_soon_threadsafe(progress.end, index_summary(self.sources.status()))

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
                self._ring_keeper, self.sources.refresh, uri, doc.language_id, doc.text, edited_line
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
        self.service.forget(uri)
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
        ls.service.schedule_warmup(params.text_document.uri, None, 0)

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
            ls.service.schedule_warmup(uri, end, ls.config.warmup_delay_ms / 1000)
        ls.schedule_refresh(
            uri, ls.config.warmup_delay_ms / 1000, edited_line=end.line if end is not None else None
        )

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SmalllspServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.close_document(params.text_document.uri)

    @server.feature(DOCUMENT_STATE_REQUEST)
    def document_state(ls: SmalllspServer, params: Any) -> status.DocumentState:
        return status.document_state(ls, params)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: SmalllspServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        _cursor, suggestions = await ls.service.suggest(params.text_document.uri, params.position)
        return items.inline_list(suggestions, params.position)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[]))
    async def completion_item(
        ls: SmalllspServer, params: types.CompletionParams
    ) -> types.CompletionList:
        cursor, suggestions = await ls.service.suggest(params.text_document.uri, params.position)
        return items.completion_list(cursor, params.position, suggestions, ls.encoding)

    @server.feature(STATUS_REQUEST)
    def server_status(ls: SmalllspServer, params: Any) -> dict[str, Any]:
        return status.status(ls)

    @server.command(items.ACCEPTED_COMMAND)
    def accepted(ls: SmalllspServer, *arguments: Any) -> None:
        """The client inserted a suggestion; count it by verdict (nothing leaves the machine)."""
        ls.service.accept(arguments)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: SmalllspServer, params: None) -> None:
        ls.engine.close()
        ls.sources.stop()
        ls.trees.stop()

    return server


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
