"""The model on a serving engine: llama.cpp's ``llama-server`` or vLLM, over HTTP.

Everything but the model call stays in this process (context, scope, guard,
ranking, cache); :class:`RemoteRuntime` sends the already-built prompt as
token ids (both servers accept them, so the prompt is the in-process one,
token for token) to ``/v1/completions`` (``remote_api = openai``) or to
llama-server's ``/completion`` with ``cache_prompt`` (``remote_api =
llama-server``), streams the answer token by token, and applies the same
stop rules as the in-process engine: the FIM stop tokens, ``stop_at``, the
time budget and ``max_tokens``. When a rule stops a completion the stream
is closed, and the server stops generating.

The vocabulary: when the ``model`` setting names a GGUF file or a store model
(the same model the server serves), only its vocabulary is loaded here
(``vocab_only``, a few MB) and tokenizing is local; otherwise every piece of
text is tokenized by the server's ``/tokenize`` (cached, since the context
builder asks for the same lines again and again). At start-up the runtime
checks that the server serves ``remote_model`` and, where the server can
say, that its FIM tokens and its tokenization agree with the local
vocabulary, and fails with a message that says what differs.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import io
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from smalllsp.config import Config
from smalllsp.engine import ModelUnavailable, fim
from smalllsp.engine.placement import MoeInfo
from smalllsp.engine.remote_http import HttpClient, RemoteError, RemoteSetupError, read_api_key
from smalllsp.engine.runtime import Generation, Sampling, StopAt, StopReason
from smalllsp.engine.stopping import Answer
from smalllsp.engine.worker import Cancelled

log = logging.getLogger(__name__)

# Tokenized both here and on the server at start-up: a different vocabulary shows.
PROBE_TEXT = "def área(x):\n    return {\"k\": [x ** 2, '\\t']}  # ≠ 𝄞\n"
TOKENIZE_CACHE_SIZE = 8192

__all__ = ["RemoteRuntime", "RemoteUnavailable", "ModelMismatch", "RemoteError", "RemoteSetupError"]


class RemoteUnavailable(ModelUnavailable):
    """The remote engine failed this request (down, slow, garbage): no suggestion, and why."""


class ModelMismatch(RemoteError):
    """The server does not serve the configured model (name, FIM tokens or vocabulary differ)."""


# -- vocabularies ---------------------------------------------------------------------


class LocalVocab:
    """The model's vocabulary only (``vocab_only``): tokenizing exactly as the in-process engine does."""

    def __init__(self, path: Path) -> None:
        import llama_cpp

        from smalllsp.engine.llama import _route_llama_logs, check_model_file

        check_model_file(path)
        _route_llama_logs()
        printed = io.StringIO()
        with contextlib.redirect_stderr(printed):
            self.llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, n_ctx=8, verbose=True)
        self.llm.verbose = False
        self._vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        self.n_vocab = self.llm.n_vocab()
        self.source = f"local vocabulary of {path.name}"

    def tokenize(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False) if text else []

    def special_token(self, text: str) -> int | None:
        ids = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return ids[0] if len(ids) == 1 else None

    def is_eog(self, token: int) -> bool | None:
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def close(self) -> None:
        self.llm.close()


class ServerVocab:
    """Tokenizing by the server's ``/tokenize``, with a cache of recent pieces."""

    def __init__(self, http: HttpClient, llama_cpp_server: bool, model: str) -> None:
        self._http = http
        self._llama = llama_cpp_server
        self._model = model
        self._cache: collections.OrderedDict[tuple[str, bool], list[int]] = (
            collections.OrderedDict()
        )
        self.calls = 0
        self.n_vocab: int | None = None
        self.source = "the server's /tokenize"

    def _ask(self, text: str, special: bool) -> list[int]:
        key = (text, special)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        self.calls += 1
        if self._llama:
            body: dict[str, Any] = {"content": text, "add_special": False, "parse_special": special}
        else:  # vLLM; its tokenizer always parses special tokens in text
            body = {"model": self._model, "prompt": text, "add_special_tokens": False}
        answer = self._http.request_json("POST", "/tokenize", body)
        tokens = answer.get("tokens") if isinstance(answer, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, int) for t in tokens):
            raise RemoteError(
                f"{self._http.describe('/tokenize')} answered without a list of token ids: {str(answer)[:200]!r}"
            )
        self._cache[key] = tokens
        if len(self._cache) > TOKENIZE_CACHE_SIZE:
            self._cache.popitem(last=False)
        return tokens

    def tokenize(self, text: str) -> list[int]:
        return list(self._ask(text, False)) if text else []

    def special_token(self, text: str) -> int | None:
        ids = self._ask(text, True)
        return ids[0] if len(ids) == 1 else None

    def is_eog(self, token: int) -> bool | None:
        return None  # unknown here: the server's end of generation tells

    def close(self) -> None:
        pass


# -- one stream's events, whichever API --------------------------------------------------


@dataclasses.dataclass
class Piece:
    token: int | None
    text: str
    logprob: float | None


@dataclasses.dataclass
class Update:
    """What one event says about one candidate."""

    index: int
    pieces: list[Piece]
    finish: StopReason | None  # "eog" | "max_tokens" | "stop_rule" | None (still going)
    n_cached: int | None = None  # prompt tokens the server took from its KV cache
    n_evaluated: int | None = None


def _timings(event: dict[str, Any]) -> tuple[int | None, int | None]:
    timings = event.get("timings")
    if (
        isinstance(timings, dict)
        and isinstance(timings.get("cache_n"), int)
        and isinstance(timings.get("prompt_n"), int)
    ):
        return timings["cache_n"], timings["prompt_n"]
    usage = event.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        if isinstance(cached, int):
            return cached, usage["prompt_tokens"] - cached
    return None, None


# llama-server's stop_type -> why the answer ended.
SERVER_STOP_TYPES: dict[str, StopReason] = {
    "eos": "eog",
    "limit": "max_tokens",
    "word": "stop_rule",
}


def llama_server_updates(event: dict[str, Any]) -> list[Update]:
    """llama-server's ``/completion`` stream event."""
    if "content" not in event and "stop" not in event:
        raise ValueError("no 'content' and no 'stop'")
    pieces: list[Piece] = []
    tokens = event.get("tokens") or []
    content = event.get("content") or ""
    probs = event.get("completion_probabilities") or []
    if not isinstance(tokens, list) or not isinstance(content, str) or not isinstance(probs, list):
        raise ValueError("'tokens', 'content' or 'completion_probabilities' has the wrong type")
    if tokens or content:
        token = tokens[-1] if tokens else None
        logprob = probs[-1].get("logprob") if probs and isinstance(probs[-1], dict) else None
        pieces = [Piece(None, "", None) for _ in tokens[:-1]] + [Piece(token, content, logprob)]
    finish: StopReason | None = None
    if event.get("stop"):
        finish = SERVER_STOP_TYPES.get(str(event.get("stop_type")), "max_tokens")
    cached, evaluated = _timings(event)
    return [Update(int(event.get("index", 0)), pieces, finish, cached, evaluated)]


def openai_updates(event: dict[str, Any]) -> list[Update]:
    """An OpenAI ``/v1/completions`` stream chunk (llama-server's or vLLM's logprobs)."""
    choices = event.get("choices")
    if not isinstance(choices, list):
        raise ValueError("no 'choices' list")
    cached, evaluated = _timings(event)
    updates = []
    for choice in choices:
        if not isinstance(choice, dict) or not isinstance(choice.get("text", ""), str):
            raise ValueError("a choice that is not an object with text")
        text = choice.get("text") or ""
        ids, logprobs = _openai_logprobs(choice.get("logprobs"))
        if ids:
            pieces = [Piece(t, "", lp) for t, lp in zip(ids[:-1], logprobs[:-1])] + [
                Piece(ids[-1], text, logprobs[-1])
            ]
        else:
            pieces = [Piece(None, text, None)] if text else []
        reason = choice.get("finish_reason")
        finish: StopReason | None = (
            None if reason is None else ("eog" if reason == "stop" else "max_tokens")
        )
        updates.append(Update(int(choice.get("index", 0)), pieces, finish, cached, evaluated))
    if not choices and (cached is not None):
        updates.append(Update(-1, [], None, cached, evaluated))  # vLLM's closing usage chunk
    return updates


def _openai_logprobs(logprobs: Any) -> tuple[list[int | None], list[float | None]]:
    if not isinstance(logprobs, dict):
        return [], []
    content = logprobs.get("content")
    if isinstance(content, list):  # llama-server: [{id, token, logprob, ...}]
        return [c.get("id") for c in content], [c.get("logprob") for c in content]
    tokens = logprobs.get("tokens")
    if isinstance(tokens, list):  # vLLM with return_tokens_as_token_ids: "token_id:123"
        ids = [
            int(t.split(":", 1)[1]) if isinstance(t, str) and t.startswith("token_id:") else None
            for t in tokens
        ]
        values = logprobs.get("token_logprobs") or [None] * len(tokens)
        return ids, list(values)
    return [], []


# -- the runtime --------------------------------------------------------------------------


class RemoteRuntime:
    """A model served by llama-server or vLLM. Called from the engine's worker thread only."""

    def __init__(
        self,
        config: Config,
        *,
        notify: Callable[[str], None] | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        started = time.perf_counter()
        self._notify = notify or (lambda message: None)
        self._healthy = True
        self.api = config.remote_api
        self.route = "/completion" if self.api == "llama-server" else "/v1/completions"
        self.http = HttpClient(
            config.remote_url,
            api_key=read_api_key(config.remote_api_key_env, config.remote_api_key_file, environ),
            tls_verify=config.remote_tls_verify,
            ca_bundle=config.remote_ca_bundle,
            timeout_s=config.remote_timeout_ms / 1000,
            retries=config.remote_retries,
        )
        self.vocab: LocalVocab | ServerVocab | None = None
        try:
            self._connect(config)
        except BaseException:
            self.close()
            raise
        self.load_seconds = time.perf_counter() - started
        self.moe: MoeInfo | None = None
        self.warnings: list[str] = []
        self.moe_cpu_layers = 0
        self.kv_bytes = 0
        log.info(
            "remote engine: %s serves %s (%s API at %s), %d context, FIM family %s, tokens from %s; checked in %.2fs",
            self.server_kind,
            self.name,
            self.api,
            self.http.describe(self.route),
            self.n_ctx,
            self.fim.template.family,
            self.vocab.source if self.vocab else "?",
            self.load_seconds,
        )

    # -- start-up checks --------------------------------------------------------------

    def _connect(self, config: Config) -> None:
        props = self._props()
        self.server_kind = "llama-server" if props is not None else "OpenAI-compatible server"
        if self.api == "llama-server" and props is None:
            raise ModelMismatch(
                f"remote_api = llama-server, but {self.http.endpoint.origin} is not a llama-server (no /props); use remote_api = openai"
            )
        served = self._served_models()
        self.name = self._check_name(config.remote_model, served)
        self.path = self.http.describe(self.route)
        info = next((m for m in served if self.name in _names_of(m)), {})
        found = info.get("meta")
        meta: dict[str, Any] = found if isinstance(found, dict) else {}
        self.model_bytes = int(meta.get("size") or 0)
        self.device = f"remote ({self.server_kind} at {self.http.endpoint.origin})"
        server_ctx: Any = None
        self.max_n: int | None = None
        if props is not None:
            server_ctx = (props.get("default_generation_settings") or {}).get("n_ctx")
            self.max_n = int(props.get("total_slots") or 1)
        else:
            server_ctx = info.get("max_model_len")
        self.n_ctx = config.n_ctx
        if isinstance(server_ctx, int) and server_ctx > 0 and server_ctx < config.n_ctx:
            log.warning(
                "remote engine: the server's context per request is %d tokens, less than n_ctx %d: prompts are built for %d "
                "(and differ from the in-process ones); give the server -c n_ctx x slots",
                server_ctx,
                config.n_ctx,
                server_ctx,
            )
            self.n_ctx = server_ctx
        server_vocab = ServerVocab(self.http, props is not None, self.name)
        if config.model.strip():
            from smalllsp import modelstore

            try:
                path = modelstore.resolve(config.model)
            except modelstore.StoreError as problem:
                raise RemoteSetupError(
                    f"model = {config.model!r} (the local vocabulary for the remote engine): {problem}"
                ) from None
            self.vocab = LocalVocab(path)
            self._check_vocabulary(server_vocab, meta.get("n_vocab"), path.name)
        else:
            self.vocab = server_vocab
        try:
            self.fim = fim.resolve(self.vocab.special_token, self.name)
        except fim.NoFimTokensError as problem:
            raise ModelMismatch(
                f"the model served at {self.http.endpoint.origin}: {problem}"
            ) from None

    def _props(self) -> dict[str, Any] | None:
        """llama-server's /props, or None from a server that has none (vLLM)."""
        try:
            props = self.http.request_json("GET", "/props")
        except RemoteError as problem:
            if problem.status == 404:
                return None
            raise
        return props if isinstance(props, dict) and "default_generation_settings" in props else None

    def _served_models(self) -> list[dict[str, Any]]:
        answer = self.http.request_json("GET", "/v1/models")
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list) or not all(
            isinstance(m, dict) and isinstance(m.get("id"), str) for m in data
        ):
            raise RemoteError(
                f"{self.http.describe('/v1/models')} answered without a model list: {str(answer)[:200]!r}"
            )
        return data

    def _check_name(self, wanted: str, served: list[dict[str, Any]]) -> str:
        names = [name for model in served for name in _names_of(model)]
        ids = ", ".join(repr(m["id"]) for m in served) or "nothing"
        if wanted:
            if wanted in names:
                return wanted
            raise ModelMismatch(
                f"remote_model is {wanted!r}, but {self.http.endpoint.origin} serves {ids}"
            )
        if len(served) != 1:
            raise ModelMismatch(
                f"{self.http.endpoint.origin} serves {ids}: set remote_model to the one to use"
            )
        log.info(
            "remote engine: remote_model is not set; using the only model served: %s",
            served[0]["id"],
        )
        return served[0]["id"]

    def _check_vocabulary(self, server: ServerVocab, server_n_vocab: Any, local_name: str) -> None:
        """The local vocabulary must be the served model's: same size, FIM tokens and tokens for a probe text."""
        local = self.vocab
        assert isinstance(local, LocalVocab)
        where = self.http.endpoint.origin
        if isinstance(server_n_vocab, int) and server_n_vocab != local.n_vocab:
            raise ModelMismatch(
                f"the model served at {where} has {server_n_vocab} tokens, {local_name} has {local.n_vocab}: not the same model"
            )
        local_fim = fim.resolve(local.special_token, local_name)
        template = local_fim.template
        for label, text, mine in (
            ("prefix", template.prefix, local_fim.prefix),
            ("suffix", template.suffix, local_fim.suffix),
            ("middle", template.middle, local_fim.middle),
        ):
            theirs = server.special_token(text)
            if theirs != mine:
                raise ModelMismatch(
                    f"the FIM {label} token {text} is {mine} in {local_name} but {theirs} on {where}: not the same model"
                )
        probe_mine, probe_theirs = local.tokenize(PROBE_TEXT), server.tokenize(PROBE_TEXT)
        if probe_mine != probe_theirs:
            raise ModelMismatch(
                f"{where} tokenizes text differently from {local_name} ({len(probe_theirs)} vs {len(probe_mine)} tokens for a probe): not the same model"
            )

    # -- the Runtime contract ---------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        vocab = self.vocab
        assert vocab is not None
        return self._guarded(lambda: vocab.tokenize(text))

    def generate(
        self,
        prompt: Sequence[int],
        *,
        max_tokens: int,
        stop_at: StopAt | None = None,
        time_budget_s: float | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Generation:
        """Greedy decoding of one continuation, streamed and stopped by the same rules as in-process."""
        return self._guarded(
            lambda: self._complete(
                prompt, 1, 0.0, 1.0, None, max_tokens, stop_at, time_budget_s, cancelled
            )
        )[0]

    def sample(
        self,
        prompt: Sequence[int],
        sampling: Sampling,
        *,
        max_tokens: int,
        stop_at: StopAt | None = None,
        time_budget_s: float | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> list[Generation]:
        """``sampling.n`` candidates; candidate 0 greedy when ``include_greedy``, candidate i seeded ``seed + i``.

        The sampled ones are the API's ``n`` (llama-server reads the prompt
        once for all of them), in as many requests as the server's slots
        allow; the greedy one is its own request, sent at the same time. All
        ``n`` are drawn: the server batches them, and ``budget_s`` is kept by
        each candidate's time budget.
        """
        greedy = 1 if sampling.include_greedy else 0
        wanted = sampling.n - greedy
        failed = threading.Event()
        stop = lambda: cancelled() or failed.is_set()  # noqa: E731 - one failure stops the other stream

        def draw_sampled() -> list[Generation]:
            drawn: list[Generation] = []
            while len(drawn) < wanted:
                batch = min(wanted - len(drawn), self.max_n or wanted)
                seed = None if sampling.seed is None else sampling.seed + greedy + len(drawn)
                drawn += self._complete(
                    prompt,
                    batch,
                    sampling.temperature,
                    sampling.top_p,
                    seed,
                    max_tokens,
                    stop_at,
                    time_budget_s,
                    stop,
                )
            return drawn

        def guarded(call: Callable[[], list[Generation]]) -> Callable[[], list[Generation]]:
            def run() -> list[Generation]:
                try:
                    return call()
                except BaseException:
                    failed.set()
                    raise

            return run

        def draw_greedy() -> list[Generation]:
            return self._complete(
                prompt, 1, 0.0, 1.0, None, max_tokens, stop_at, time_budget_s, stop
            )

        if not greedy or not wanted:
            return self._guarded(draw_greedy if greedy else draw_sampled)
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="smalllsp-remote-greedy"
        ) as pool:
            first = pool.submit(guarded(draw_greedy))
            second = _settled(pool_free(guarded(draw_sampled)))
            outcomes = (_settled(first), second)

        def collect() -> list[Generation]:
            drawn: list[Generation] = []
            problems: list[BaseException] = []
            for outcome in outcomes:
                try:
                    drawn += outcome()
                except BaseException as problem:  # noqa: BLE001 - the real failure is raised below, not the other stream's stop
                    problems.append(problem)
            if problems:
                raise next((p for p in problems if not isinstance(p, Cancelled)), problems[0])
            return drawn

        return self._guarded(collect)

    def close(self) -> None:
        if self.vocab is not None:
            self.vocab.close()
        self.http.close()

    # -- requests -----------------------------------------------------------------------

    def _guarded(self, call: Callable[[], Any]) -> Any:
        """Run a request; a failure becomes :class:`RemoteUnavailable`, and the user hears once when
        the server goes away and once when it is back."""
        sent = self.http.requests
        try:
            result = call()
        except RemoteError as problem:
            if self._healthy:
                self._healthy = False
                self._notify(f"smalllsp: the remote engine failed: {problem}")
            raise RemoteUnavailable(f"remote engine: {problem}") from None
        if not self._healthy and self.http.requests > sent:  # an answer, not a cache hit
            self._healthy = True
            self._notify(
                f"smalllsp: the remote engine at {self.http.endpoint.origin} answers again"
            )
        return result

    def _body(
        self,
        prompt: list[int],
        n: int,
        temperature: float,
        top_p: float,
        seed: int | None,
        max_tokens: int,
    ) -> dict[str, Any]:
        llama = self.server_kind == "llama-server"
        predict = (
            max_tokens if max_tokens > 0 or llama else 1
        )  # a warm-up: llama-server reads the prompt for n_predict 0
        sampling: dict[str, Any] = {"temperature": temperature, "top_p": top_p}
        if temperature > 0:
            sampling.update(top_k=0, min_p=0.0)  # only nucleus sampling, as in-process
        if seed is not None:
            sampling["seed"] = seed
        if self.api == "llama-server":
            return {
                "prompt": prompt,
                "n_predict": predict,
                "n_cmpl": n,
                "stream": True,
                "cache_prompt": True,
                "n_probs": 1,
                "return_tokens": True,
                "timings_per_token": True,
                **sampling,
            }
        body: dict[str, Any] = {
            "model": self.name,
            "prompt": prompt,
            "max_tokens": predict,
            "n": n,
            "stream": True,
            "logprobs": 1,
            "stream_options": {"include_usage": True},
            **sampling,
        }
        if llama:
            body.update(cache_prompt=True, timings_per_token=True)
        else:
            body.update(return_tokens_as_token_ids=True)  # vLLM: logprobs name token ids, not text
        return body

    def _complete(
        self,
        prompt: Sequence[int],
        n: int,
        temperature: float,
        top_p: float,
        seed: int | None,
        max_tokens: int,
        stop_at: StopAt | None,
        time_budget_s: float | None,
        cancelled: Callable[[], bool],
    ) -> list[Generation]:
        started = time.perf_counter()
        prompt = [int(t) for t in prompt]
        if not prompt:
            raise ValueError("empty prompt")
        if len(prompt) + max_tokens > self.n_ctx:
            raise ValueError(
                f"prompt of {len(prompt)} tokens + {max_tokens} to generate exceeds the context of {self.n_ctx}"
            )
        is_eog = self.vocab.is_eog if self.vocab is not None else (lambda token: None)
        stops = self.fim.stops

        def is_end(token: int) -> bool | None:
            return True if token in stops else is_eog(token)

        candidates = [Answer(is_end, max_tokens, stop_at, time_budget_s, started) for _ in range(n)]
        n_cached: int | None = None
        n_evaluated: int | None = None
        parse = llama_server_updates if self.api == "llama-server" else openai_updates
        events = self.http.stream(
            self.route,
            self._body(prompt, n, temperature, top_p, seed, max_tokens),
            cancelled=cancelled,
        )
        try:
            for event in events:
                try:
                    updates = parse(event)
                except (ValueError, TypeError, AttributeError) as problem:
                    raise RemoteError(
                        f"{self.http.describe(self.route)} sent an event smalllsp cannot read ({problem}): {str(event)[:200]!r}"
                    ) from None
                for update in updates:
                    if update.n_cached is not None:
                        n_cached, n_evaluated = update.n_cached, update.n_evaluated
                    if update.index == -1:
                        continue
                    if not 0 <= update.index < n:
                        raise RemoteError(
                            f"{self.http.describe(self.route)} sent candidate {update.index} of {n}"
                        )
                    candidate = candidates[update.index]
                    if max_tokens > 0:
                        for piece in update.pieces:
                            candidate.take(piece.token, piece.text, piece.logprob)
                    if update.finish is not None:
                        candidate.finish("warmup" if max_tokens == 0 else update.finish)
                if cancelled():
                    raise Cancelled("cancelled while the remote engine was generating")
                if all(c.reason is not None for c in candidates):
                    break  # every candidate stopped: closing the stream stops the server
        finally:
            events.close()
        if cancelled():
            raise Cancelled("cancelled while the remote engine was generating")
        unfinished = [i for i, c in enumerate(candidates) if c.reason is None]
        if unfinished:
            raise RemoteError(
                f"{self.http.describe(self.route)} ended the stream before candidate {unfinished[0]} was finished"
            )
        seconds = time.perf_counter() - started
        reused = n_cached if n_cached is not None else 0
        evaluated = n_evaluated if n_evaluated is not None else len(prompt) - reused
        return [c.generation(len(prompt), reused, evaluated, seconds) for c in candidates]


def pool_free(call: Callable[[], Any]) -> concurrent.futures.Future:
    """Run ``call`` in this thread, as a settled future."""
    future: concurrent.futures.Future = concurrent.futures.Future()
    try:
        future.set_result(call())
    except BaseException as problem:  # noqa: BLE001 - kept in the future
        future.set_exception(problem)
    return future


def _settled(future: concurrent.futures.Future) -> Callable[[], Any]:
    """Wait for ``future``; a function that returns its result or raises its exception."""
    try:
        result = future.result()
    except BaseException as problem:  # noqa: BLE001 - raised again by the caller, in its thread
        error = problem

        def fail() -> Any:
            raise error

        return fail
    return lambda: result


def _names_of(model: dict[str, Any]) -> list[str]:
    aliases = model.get("aliases")
    return (
        [model["id"], *(a for a in aliases if isinstance(a, str))]
        if isinstance(aliases, list)
        else [model["id"]]
    )
