"""``smalllsp bench --session``: an editing session over several real files, smalllsp against llama-server.

One line of typing (``smalllsp bench``) shows the warm case. A session jumps:
between files, and to far places in one file, and each jump is a cold
prompt. The session here visits lines of large standard-library modules
(files no one here wrote), alternating files and coming back to each at
another place. At each visit the rest of a code line is deleted and typed
back, a few characters per request, with a think pause after the first
request; halfway through the line the shown suggestion is accepted whole
(Tab), asked for once more, and undone, so that both systems go on from the
same text. The same visits, keystrokes and pauses go to:

- smalllsp over LSP (``smalllsp serve`` on stdio);
- llama.cpp's ``llama-server`` with llama.vim's request shape: ``/infill``
  with ``cache_prompt``, ``--cache-reuse 256`` and one slot (llama.vscode
  sends the same request and the same server settings), behind the same
  suggestion cache as smalllsp's (llama.vim has one too).

Reported per system: p50/p90 of every request, of the first request of
each visit, and of the request after an accept; how often the suggestion
agrees with what the user then types (the deleted rest of the line is the
truth: the suggestion's first line is all of it, or a start of it); peak
RSS (and smalllsp's resident memory once loaded, with its per-document
states' use); and smalllsp's p50 over llama-server's for each.

The pause before Tab (``read_pause_s``, default :data:`READ_PAUSE_S`) is the
time a person needs to see a suggestion and press a key: a visual reaction
alone takes about a quarter of a second. Both systems get the same pauses.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from smalllsp.bench.measure import Cost, peak_rss_kib, ratio, rss_kib
from smalllsp.bench.session_report import summarize
from smalllsp.bench.peer import LlamaServer, infill_request, llama_vim_server, post
from smalllsp.cache import SuggestionCache
from smalllsp.config import Config
from smalllsp.context.window import Cursor
from smalllsp.documents import split_lines
from smalllsp.pipeline.rank import Suggestion
from smalllsp.lspclient import CAPABILITIES, as_dict, language_of, wait_until_loaded
from smalllsp.lsp.status import STATUS_REQUEST

# Large standard-library modules: real code, not written here, present wherever Python is.
STDLIB = Path(os.__file__).parent
DEFAULT_FILES = ("argparse.py", "textwrap.py", "csv.py")
STEP = 3  # characters typed between two requests
THINK_S = 1.0  # the pause after a visit's first request
KEEP = 4  # characters of the line's code kept at a visit's start (the user typed them)
READ_PAUSE_S = 0.4  # seeing a suggestion and pressing Tab (a visual reaction is ~0.25 s)


@dataclasses.dataclass(frozen=True)
class Visit:
    path: Path
    line: int
    column: int  # where the deleted rest of the line starts (code points)
    rest: str  # the text typed back


def visits(files: list[Path], n: int, seed: int = 0) -> list[Visit]:
    """``n`` visits, cycling through ``files``; each file is visited at places far apart."""
    rng = random.Random(seed)
    per_file: dict[Path, list[int]] = {}
    texts = {path: split_lines(path.read_text(encoding="utf-8")) for path in files}
    for path, lines in texts.items():
        code = [
            i
            for i, line in enumerate(lines)
            if len(line.strip()) >= 24
            and line.isascii()
            and not line.lstrip().startswith("#")
            and line.startswith("    ")
        ]
        if not code:
            raise ValueError(f"{path} has no code lines to type")
        visits_here = -(-n // len(files))
        # spread over the file: one line from each of visits_here equal parts, in a shuffled order
        parts = [
            code[i * len(code) // visits_here : (i + 1) * len(code) // visits_here]
            for i in range(visits_here)
        ]
        chosen = [rng.choice(part) for part in parts if part]
        rng.shuffle(chosen)
        per_file[path] = chosen
    result = []
    for index in range(n):
        path = files[index % len(files)]
        line = per_file[path][(index // len(files)) % len(per_file[path])]
        text = texts[path][line]
        column = len(text) - len(text.lstrip()) + KEEP
        result.append(Visit(path, line, column, text[column:]))
    return result


class System(Protocol):
    """One of the compared systems, driven by the same session."""

    async def change(self, path: Path, line: int, start: int, end: int, text: str) -> None: ...

    async def request(self, path: Path, line: int, column: int) -> tuple[str, Cost]: ...


class Texts:
    """The documents' texts as the session edits them (both systems see the same)."""

    def __init__(self, files: list[Path]) -> None:
        self.lines = {path: split_lines(path.read_text(encoding="utf-8")) for path in files}

    def edit(self, path: Path, line: int, start: int, end: int, text: str) -> None:
        """Replace columns ``start:end`` of ``line`` with ``text`` (which may hold line breaks)."""
        lines = self.lines[path]
        new = lines[line][:start] + text + lines[line][end:]
        lines[line : line + 1] = new.split("\n")


async def run(
    system: System, texts: Texts, plan: list[Visit], read_pause_s: float = READ_PAUSE_S
) -> list[dict[str, Any]]:
    """Drive ``system`` through the visits; one record per request. ``read_pause_s``: how long the
    user reads the suggestion before Tab (a speculation of the next one has that long)."""
    records: list[dict[str, Any]] = []

    async def ask(visit: Visit, column: int, kind: str, truth: str | None) -> str:
        started = time.perf_counter()
        suggestion, cost = await system.request(visit.path, visit.line, column)
        records.append(
            {
                "kind": kind,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "suggestion": suggestion,
                **(
                    {}
                    if truth is None
                    else {"truth": truth, "agrees": agreement(suggestion, truth)}
                ),
                **cost,
            }
        )
        return suggestion

    async def edit(visit: Visit, start: int, end: int, text: str) -> None:
        texts.edit(visit.path, visit.line, start, end, text)
        await system.change(visit.path, visit.line, start, end, text)

    for visit in plan:
        line_end = visit.column + len(visit.rest)
        await edit(visit, visit.column, line_end, "")
        await ask(visit, visit.column, "first", visit.rest)
        await asyncio.sleep(THINK_S)
        typed = 0
        accept_after = max(1, len(visit.rest) // 2)
        while typed < len(visit.rest):
            chunk = visit.rest[typed : typed + STEP]
            await edit(visit, visit.column + typed, visit.column + typed, chunk)
            typed += len(chunk)
            column = visit.column + typed
            suggestion = await ask(visit, column, "typing", visit.rest[typed:] or None)
            if (
                typed >= accept_after
                and accept_after >= 0
                and suggestion
                and "\n" not in suggestion
            ):
                accept_after = -1  # once per visit: Tab, the next request, then undo
                await asyncio.sleep(read_pause_s)
                await edit(visit, column, column, suggestion)
                await ask(visit, column + len(suggestion), "after_accept", None)
                await edit(visit, column, column + len(suggestion), "")
    return records


def agreement(suggestion: str, truth: str) -> str:
    """How a suggestion compares with the rest of the line the user goes on to type.

    ``"line"``: its first line is the whole rest; ``"start"``: a start of it
    (right as far as it goes); ``"wrong"``: it goes elsewhere; ``"none"``:
    nothing was shown.
    """
    first = suggestion.split("\n", 1)[0].rstrip()
    if not first.strip():
        return "none"
    if first == truth.rstrip():
        return "line"
    return "start" if truth.startswith(first) else "wrong"


class SmalllspOverLsp:
    """``smalllsp serve`` over stdio, as an editor drives it."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.client = LanguageClient("smalllsp-bench-session", "1")
        self.versions: dict[Path, int] = {}

    async def start(self, texts: Texts) -> None:
        await self.client.start_io(
            sys.executable,
            "-m",
            "smalllsp",
            "serve",
            "--log-level",
            "WARNING",
            env=os.environ.copy(),
        )
        self._drain = asyncio.create_task(_drain(self.client._server))
        await self.client.initialize_async(
            types.InitializeParams(capabilities=CAPABILITIES, initialization_options=self.settings)
        )
        self.client.initialized(types.InitializedParams())
        status = await wait_until_loaded(self.client)
        if status["state"] != "ready":
            raise RuntimeError(f"the server could not load the model: {status['error']}")
        server = self.client._server
        loaded = rss_kib(server.pid) if server is not None else None
        self.rss_loaded_mib = loaded / 1024 if loaded else None
        for path, lines in texts.lines.items():
            self.versions[path] = 1
            self.client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    types.TextDocumentItem(path.as_uri(), language_of(path), 1, "\n".join(lines))
                )
            )

    async def change(self, path: Path, line: int, start: int, end: int, text: str) -> None:
        self.versions[path] += 1
        change = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(line, start), types.Position(line, end)), text=text
        )  # ASCII lines only: code points are UTF-16 units
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(self.versions[path], path.as_uri()), [change]
            )
        )

    async def request(self, path: Path, line: int, column: int) -> tuple[str, Cost]:
        answer = await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(path.as_uri()),
                position=types.Position(line, column),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Automatic
                ),
            )
        )
        status = as_dict(await self.client.protocol.send_request_async(STATUS_REQUEST, None))
        items = answer.items if isinstance(answer, types.InlineCompletionList) else answer or []
        text = items[0].insert_text if items else ""
        return (text if isinstance(text, str) else text.value), dict(status["last_generation"])

    async def kv_states(self) -> dict[str, Any]:
        """The server's per-document states now (budget, use, counts)."""
        status = as_dict(await self.client.protocol.send_request_async(STATUS_REQUEST, None))
        return dict(status.get("kv_states") or {})

    async def stop(self) -> float | None:
        server = self.client._server
        peak = peak_rss_kib(server.pid) if server is not None else None
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()
        self._drain.cancel()
        return peak / 1024 if peak else None


class LlamaVimPeer:
    """llama-server with llama.vim's ``/infill`` requests, behind the same suggestion cache."""

    def __init__(self, server: LlamaServer, texts: Texts) -> None:
        self.server = server
        self.texts = texts
        self.cache = SuggestionCache()

    async def change(self, path: Path, line: int, start: int, end: int, text: str) -> None:
        return None  # the session's Texts hold the text; llama.vim sends it with each request

    async def request(self, path: Path, line: int, column: int) -> tuple[str, Cost]:
        lines = self.texts.lines[path]
        cursor = Cursor(list(lines), line, column)
        before, after = cursor.text_before(), cursor.text_after()
        key = str(path)
        cached = self.cache.lookup(key, before, after)
        if cached:
            return cached[0].text, {"source": "cache"}
        answer = await asyncio.to_thread(post, self.server.url + "/infill", infill_request(cursor))
        content = str(answer.get("content", ""))
        self.cache.store(key, before, after, [Suggestion(content)])
        timings = answer.get("timings", {})
        return content, {
            "source": "model",
            "n_evaluated": int(timings.get("prompt_n", 0)),
            "n_generated": int(timings.get("predicted_n", 0)),
        }


async def _drain(server: Any) -> None:
    while server is not None and server.stderr and await server.stderr.readline():
        pass


def bench_session(
    model: Path,
    binary: Path | None,
    files: list[Path],
    n_visits: int,
    settings: dict[str, Any] | None = None,
    read_pause_s: float = READ_PAUSE_S,
) -> dict[str, Any]:
    """Both systems through the same session, one after the other (they do not share the CPU)."""
    plan = visits(files, n_visits)
    config = Config(model=str(model))
    report: dict[str, Any] = {
        "model": model.name,
        "files": [str(f) for f in files],
        "visits": [dataclasses.asdict(v) | {"path": str(v.path)} for v in plan],
        "cpu_cores": os.cpu_count(),
        "read_pause_s": read_pause_s,
    }

    async def smalllsp_pass() -> dict[str, Any]:
        system = SmalllspOverLsp({"model": str(model), **(settings or {})})
        texts = Texts(files)
        await system.start(texts)
        try:
            records = await run(system, texts, plan, read_pause_s)
            states = await system.kv_states()
        finally:
            peak = await system.stop()
        return {
            **summarize(records),
            "peak_rss_mib": peak,
            "rss_loaded_mib": system.rss_loaded_mib,
            "kv_states": states,
        }

    load_before = os.getloadavg()
    report["smalllsp"] = asyncio.run(smalllsp_pass())
    if binary is not None:
        with llama_vim_server(binary, model, config) as server:
            texts = Texts(files)
            records = asyncio.run(run(LlamaVimPeer(server, texts), texts, plan, read_pause_s))
            peak = server.peak_rss_kib()
            report["llama_server"] = {
                **summarize(records),
                "peak_rss_mib": peak / 1024 if peak else None,
                "command": " ".join(server.command[1:]),
            }
        for kind in ("all", "first_of_visit", "after_accept"):
            report[f"{kind}_p50_ratio"] = ratio(
                report["smalllsp"][kind]["p50"], report["llama_server"][kind]["p50"]
            )
    report["load_average"] = {"before": load_before, "after": os.getloadavg()}
    return report


def session_files(names: str | None) -> list[Path]:
    """The files to visit: comma-separated paths, or the default standard-library modules."""
    if not names:
        return [STDLIB / name for name in DEFAULT_FILES]
    return [Path(name).resolve() for name in names.split(",") if name]
