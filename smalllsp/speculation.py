"""The next suggestion, computed while the current one is shown, for the text after accepting it.

Accepting a whole suggestion (Tab) changes the document under the cursor,
so the next request misses the suggestion cache and waits for the model:
with a multi-line suggestion the accepted lines join the prefix window and
the suffix is read again. llama.vim answers that with a "speculative FIM"
request; so does this: once a suggestion is shown, a background job (which
gives way to every request, so a keystroke stops it) builds the document as
it will be after the accept, completes there, and keeps the answer under
that state's cache key. The request after Tab finds it at once. Any other
keystroke leaves a state the entry does not match: it is not served, and the
next speculation replaces it. A request that comes while the speculation for
its very state still runs (Tab pressed at once) waits for it rather than
stopping it and starting over (:meth:`Speculation.running_for`).

Accepting part of a suggestion (a word or a line) needs none of this: the
suggestion cache serves the rest of the shown one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Callable, TypedDict

from smalllsp.cache import SuggestionCache, cursor_key
from smalllsp.context.window import Cursor
from smalllsp.documents import Document
from smalllsp.pipeline.rank import Suggestion

if TYPE_CHECKING:
    from smalllsp.engine import Engine

log = logging.getLogger(__name__)

# The speculation's job key, after the document's: the engine keeps the document's prompt
# state aside while it runs (see engine.kv_states), so a keystroke that makes it stale
# finds the document's own state again instead of re-reading the suffix.
JOB_KEY = "\0next"

# The pipeline's call for a cursor: runtime, cursor, cancelled -> (suggestions, stats).
Complete = Callable[[Any, Cursor, Callable[[], bool]], "tuple[list[Suggestion], dict[str, Any]]"]


# The worker's job: runtime, cancelled -> the speculated state's cache key and its suggestions.
Job = Callable[[Any, Callable[[], bool]], "tuple[str, str, list[Suggestion]]"]


class SpeculationStatus(TypedDict):
    started: int
    ready: int
    served: int
    joined: int  # of those served, how many a request waited for (Tab pressed while it ran)
    cancelled: int


def after_accept(
    document: Document, line: int, column: int, suggestion: str
) -> tuple[Document, int, int]:
    """The document with ``suggestion`` inserted at ``line``:``column`` (code points), and the cursor after it."""
    start = document.line_start(line)
    if start is None:
        raise ValueError(f"line {line} is past the end of {document.uri}")
    offset = start + column
    text = document.text[:offset] + suggestion + document.text[offset:]
    accepted = Document(document.uri, document.language_id, document.version + 1, text)
    if "\n" in suggestion:
        return accepted, line + suggestion.count("\n"), len(suggestion.rsplit("\n", 1)[1])
    return accepted, line, column + len(suggestion)


class Speculation:
    """At most one speculative suggestion per document: the one for after accepting the shown one."""

    def __init__(self) -> None:
        self._ready = SuggestionCache()
        # States whose speculation found nothing worth showing: (before, after) by document.
        self._nothing: dict[str, tuple[str, str]] = {}
        # Each running job, with the cache key it will store under (the shown state's plus the suggestion).
        self._jobs: dict[str, tuple[asyncio.Task[None], tuple[str, str]]] = {}
        self.started = self.ready = self.served = self.joined = self.cancelled = 0

    def lookup(self, uri: str, before: str, after: str) -> list[Suggestion] | None:
        """The speculative suggestions for this state (typing along them included), ``[]`` when the
        speculation found nothing worth showing there; None when there is none for this state."""
        found: list[Suggestion] | None = self._ready.lookup(uri, before, after)
        if not found:
            found = [] if self._nothing.get(uri) == (before, after) else None
        if found is not None:
            self.served += 1
            self.forget(uri)
        return found

    def running_for(self, uri: str, before: str, after: str) -> "asyncio.Task[None] | None":
        """The job still computing the suggestions for this very state, if one is."""
        running = self._jobs.get(uri)
        if running is None or running[0].done() or running[1] != (before, after):
            return None
        return running[0]

    def schedule(
        self,
        engine: Engine,
        document: Document,
        line: int,
        column: int,
        suggestion: str,
        complete: Complete,
        shown_key: tuple[str, str],
    ) -> None:
        """Start the background job for the state after accepting ``suggestion`` (on the event loop).

        ``shown_key`` is the cache key of the state the suggestion is shown in.
        Accepting it makes the key ``(before + suggestion, after)`` whenever the
        cursor stays in its block of lines (:func:`smalllsp.cache.cursor_key`),
        so a request can tell, in constant time, that the job is for its state.
        """
        uri = document.uri
        self.forget(uri)
        if not suggestion:
            return
        self.started += 1
        # A snapshot (the text is an immutable str; the store's Document changes with each edit).
        shown = Document(uri, document.language_id, document.version, document.text)

        def job(runtime: Any, cancelled: Callable[[], bool]) -> tuple[str, str, list[Suggestion]]:
            accepted, new_line, new_column = after_accept(shown, line, column, suggestion)
            cursor = Cursor(accepted.lines_view(new_line), new_line, new_column)
            suggestions, _stats = complete(runtime, cursor, cancelled)
            before, after = cursor_key(accepted, new_line, new_column)
            return before, after, suggestions

        task = asyncio.ensure_future(self._run(engine, uri, job))
        self._jobs[uri] = (task, (shown_key[0] + suggestion, shown_key[1]))

    async def _run(self, engine: Engine, uri: str, job: Job) -> None:
        try:
            before, after, suggestions = await engine.run(uri + JOB_KEY, job, background=True)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        except Exception as reason:  # noqa: BLE001 - an optimisation: say why, keep serving
            self.cancelled += 1
            log.debug("no speculative suggestion for %s: %s", uri, reason)
            return
        finally:
            running = self._jobs.get(uri)
            if running is not None and running[0] is asyncio.current_task():
                del self._jobs[uri]
        self._ready.store(uri, before, after, suggestions)
        if not any(s.text for s in suggestions):
            self._nothing[uri] = (before, after)
        self.ready += 1

    def forget(self, uri: str) -> None:
        """Drop the document's speculation: its state is gone (a newer one is shown, or it closed)."""
        self._ready.forget(uri)
        self._nothing.pop(uri, None)
        running = self._jobs.pop(uri, None)
        if running is not None and not running[0].done():
            running[0].cancel()

    def clear(self) -> None:
        """Drop every speculation (the settings changed: they were made under the old ones)."""
        for uri in list({*self._jobs, *self._nothing}):
            self.forget(uri)
        self._ready.clear()

    def status(self) -> SpeculationStatus:
        return {
            "started": self.started,
            "ready": self.ready,
            "served": self.served,
            "joined": self.joined,
            "cancelled": self.cancelled,
        }


def pipeline(config: Any, language_id: str, sources: Any) -> Complete:
    """The completion pipeline as a speculation runs it: the same settings and sources as the shown request."""
    from smalllsp.pipeline.generate import generate

    def complete(
        runtime: Any, cursor: Cursor, cancelled: Callable[[], bool]
    ) -> tuple[list[Suggestion], dict[str, Any]]:
        result = generate(runtime, config, language_id, cursor, cancelled, sources)
        return list(result.suggestions), dict(result.stats())

    return complete
