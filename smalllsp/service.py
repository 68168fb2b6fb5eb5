"""The completion service: suggestions for a cursor, with the cache, the warm-ups and the counters.

The LSP handlers ask it for suggestions and tell it what happened (a
document closed, the settings changed, a suggestion was accepted); it runs
the pipeline on the engine's worker and awaits it, so the event loop only
reads the cache and the bounded cache key.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcRequestCancelled

from smalllsp import guard, pipeline, speculation
from smalllsp.cache import SuggestionCache, cursor_key
from smalllsp.context.global_section import Sources
from smalllsp.context.ring import RingPins
from smalllsp.context.window import Cursor
from smalllsp.documents import column_to_index, index_to_column
from smalllsp.engine import Cancelled, ModelUnavailable
from smalllsp.engine.runtime import Runtime
from smalllsp.lsp.items import ACCEPTED_COMMAND
from smalllsp.pipeline import Suggestion

if TYPE_CHECKING:
    from smalllsp.server import SmalllspServer

log = logging.getLogger(__name__)

# The job key of reading the ring's chunks for a document, after the document's.
RING_JOB_KEY = "\0ring"

# What the status request says of the last request: its cost, its verdict, its prompt.
LastGeneration = dict[str, Any]
CACHE_HIT: LastGeneration = {
    "source": "cache",
    "n_prompt": 0,
    "n_reused": 0,
    "n_evaluated": 0,
    "n_generated": 0,
}


class CompletionService:
    """Suggestions for the server's documents, and what the status request reports of them."""

    def __init__(self, server: SmalllspServer) -> None:
        self._server = server
        self.cache = SuggestionCache()
        self.last_generation: LastGeneration | None = None
        self.accepted = {guard.LOCAL: 0, guard.CROSS_FILE: 0}
        self.withheld = 0
        self._warmups: dict[str, asyncio.TimerHandle] = {}
        self.speculation = speculation.Speculation()  # the next suggestion, for after an accept
        self.pins = RingPins()  # the ring chunks each document's prompt was read with
        self.ring_reads = 0  # ring readings done while idle (status)
        # Per document, the number of the latest request to arrive: an older one that
        # resumes after a newer (both waited for the outline) must not reach the engine last.
        self._arrivals: dict[str, int] = {}

    def cursor(self, uri: str, position: types.Position) -> tuple[str, Cursor]:
        """The document's language id and a snapshot of its lines with the cursor.

        Nothing is split or copied: the snapshot is the document's immutable
        text, whose lines are found outward from the cursor's as the pipeline
        reads them (:class:`smalllsp.documents.Lines`), on the engine's worker.
        """
        try:
            doc = self._server.documents.get(uri)
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
        column = column_to_index(line, position.character, self._server.encoding)
        return doc.language_id, Cursor(doc.lines_view(position.line), position.line, column)

    def cache_key(self, uri: str, cursor: Cursor) -> tuple[str, str]:
        """The suggestion cache's key for ``cursor``: bounded, whatever the document's size."""
        return cursor_key(self._server.documents.get(uri), cursor.line, cursor.column)

    async def suggest(self, uri: str, position: types.Position) -> tuple[Cursor, list[Suggestion]]:
        """The cursor and the suggestions at ``position``, best first (none when there is nothing worth showing).

        Under the ``withhold`` policy cross-file candidates are dropped before
        ranking (a local one may take their place) and counted.
        """
        self.cancel_warmup(uri)
        arrival = self._arrivals[uri] = self._arrivals.get(uri, 0) + 1
        language_id, cursor = self.cursor(uri, position)
        before, after = self.cache_key(uri, cursor)
        cached = self.cache.lookup(uri, before, after)
        if cached:
            self.last_generation = dict(CACHE_HIT)
            return cursor, cached
        speculated = self.speculation.lookup(uri, before, after)
        if speculated is None:
            speculated = await self._join_speculation(uri, before, after)
        if speculated is not None:  # computed while the suggestion before it was shown
            self.cache.store(uri, before, after, speculated)
            self.last_generation = {**CACHE_HIT, "source": "speculation"}
            return cursor, speculated
        server = self._server
        config = server.config
        await server.first_outline(uri)
        if self._arrivals.get(uri) != arrival:
            # A newer request came while this one waited, and may have reached the engine first.
            raise JsonRpcRequestCancelled(message=f"superseded by a newer request for {uri}")
        sources, ring_moved = self._pinned_sources(uri)

        def run(runtime: Runtime, cancelled: Any) -> pipeline.Completion:
            return pipeline.generate(runtime, config, language_id, cursor, cancelled, sources)

        try:
            result = await server.engine.run(uri, run)
        except Cancelled as exc:
            raise JsonRpcRequestCancelled(message=str(exc)) from None
        except ModelUnavailable as exc:
            log.info("no completion: %s", exc)
            return cursor, []
        except pipeline.PromptTooLong as exc:  # answered empty, the reason in the log and status
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
        suggestions = list(result.suggestions)
        self.cache.store(uri, before, after, suggestions)
        self.pins.pin(uri, sources.chunks)
        if (
            result.cold_hint or ring_moved
        ):  # now the full window, or the ring as it is, in the background
            delay = 0.0 if result.cold_hint else config.warmup_delay_ms / 1000
            self.schedule_warmup(uri, position, delay, read_ring=ring_moved)
        if suggestions and config.speculate_next:
            self.speculation.schedule(
                server.engine,
                server.documents.get(uri),
                cursor.line,
                cursor.column,
                suggestions[0].text,
                speculation.pipeline(config, language_id, sources),
                (before, after),
            )
        return cursor, suggestions

    async def _join_speculation(self, uri: str, before: str, after: str) -> list[Suggestion] | None:
        """Tab pressed while the speculation for this state still runs: wait for it, not redo it.

        None when there is none for this state, or it gave way. A request the
        wait has made stale (the document changed meanwhile) is answered as
        cancelled: the newer request's job is the one that must win.
        """
        running = self.speculation.running_for(uri, before, after)
        if running is None:
            return None
        version = self._server.documents.get(uri).version
        await asyncio.wait([running])
        found = self.speculation.lookup(uri, before, after)
        if found is not None:
            self.speculation.joined += 1
        if found is None and (
            uri not in self._server.documents or self._server.documents.get(uri).version != version
        ):
            raise JsonRpcRequestCancelled(message=f"{uri} changed while its speculation ran")
        return found

    def _pinned_sources(self, uri: str) -> tuple[Sources, bool]:
        """What ``uri``'s prompt draws on, with the ring chunks it was last read with, and
        whether the ring has moved on since (see :class:`smalllsp.context.ring.RingPins`)."""
        sources = self._server.sources.for_document(uri)
        chunks, moved = self.pins.chunks_for(uri, sources.chunks)
        return (dataclasses.replace(sources, chunks=chunks) if moved else sources), moved

    def schedule_warmup(
        self, uri: str, position: types.Position | None, delay_s: float, *, read_ring: bool = False
    ) -> None:
        """Warm the KV cache for ``uri`` at ``position`` (None: the end) after ``delay_s``,
        unless a completion request for it comes first. ``read_ring``: with the ring's
        chunks as they are now, not the ones the document's prompt was last read with."""
        self.cancel_warmup(uri)
        if not self._server.config.warmup or self._server.engine.state not in ("loading", "ready"):
            return
        loop = asyncio.get_running_loop()
        self._warmups[uri] = loop.call_later(
            delay_s, lambda: asyncio.ensure_future(self._warm(uri, position, read_ring))
        )

    def cancel_warmup(self, uri: str) -> None:
        handle = self._warmups.pop(uri, None)
        if handle is not None:
            handle.cancel()

    async def _warm(self, uri: str, position: types.Position | None, read_ring: bool) -> None:
        self._warmups.pop(uri, None)
        server = self._server
        if uri not in server.documents:
            return
        if position is None:
            doc = server.documents.get(uri)
            last = doc.line_count() - 1
            text = doc.line(last) or ""
            position = types.Position(last, index_to_column(text, len(text), server.encoding))
        try:
            language_id, cursor = self.cursor(uri, position)
        except JsonRpcInvalidParams as problem:
            log.debug("no warm-up: %s", problem.message)
            return
        config = server.config
        await server.first_outline(uri)
        if read_ring:
            sources = server.sources.for_document(uri)
        else:
            sources, _ = self._pinned_sources(uri)

        def run(runtime: Runtime, cancelled: Any) -> object:
            return pipeline.warm(runtime, config, language_id, cursor, cancelled, sources)

        # The ring's reading runs under a key of its own, so the engine keeps the
        # document's state aside: if a keystroke stops it, the requests still find theirs.
        key = uri + RING_JOB_KEY if read_ring else uri
        try:
            await server.engine.run(key, run, background=True)
            if uri in server.documents:  # not closed meanwhile
                self.pins.pin(uri, sources.chunks)
                self.ring_reads += read_ring
        except (Cancelled, ModelUnavailable) as reason:
            log.debug("warm-up of %s skipped: %s", uri, reason)
        except Exception as problem:  # noqa: BLE001 - an optimisation: log it, keep serving
            log.warning("warm-up of %s failed: %s", uri, problem)

    def accept(self, arguments: tuple[Any, ...]) -> None:
        """The client inserted a suggestion; count it by verdict (nothing leaves the machine)."""
        verdict = (
            arguments[0].get("verdict") if arguments and isinstance(arguments[0], dict) else None
        )
        if verdict not in self.accepted:
            raise JsonRpcInvalidParams(
                message=f"{ACCEPTED_COMMAND} expects [{{'verdict': 'local' | 'cross-file'}}], got {list(arguments)!r}"
            )
        self.accepted[verdict] += 1

    def forget(self, uri: str) -> None:
        """The document closed: its cached suggestions and its warm-up go."""
        self.cache.forget(uri)
        self.speculation.forget(uri)
        self.pins.forget(uri)
        self._arrivals.pop(uri, None)
        self.cancel_warmup(uri)

    def settings_changed(self) -> None:
        """A cached suggestion was made under the old settings (global_tokens, policy, model...)."""
        self.cache.clear()
        self.pins.clear()
        self.speculation.clear()
