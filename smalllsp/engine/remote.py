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

import concurrent.futures
import logging
import threading
import time
from typing import Any, Callable, Sequence

from smalllsp.config import Config
from smalllsp.engine import ModelUnavailable
from smalllsp.engine.placement import MoeInfo
from smalllsp.engine.remote_events import Update, llama_server_updates, openai_updates
from smalllsp.engine.remote_http import HttpClient, RemoteError, RemoteSetupError, read_api_key
from smalllsp.engine.remote_setup import ModelMismatch, connect
from smalllsp.engine.remote_vocab import LocalVocab, ServerVocab
from smalllsp.engine.runtime import Generation, Sampling, StopAt
from smalllsp.engine.stopping import Answer
from smalllsp.engine.worker import Cancelled

log = logging.getLogger(__name__)


__all__ = [
    "RemoteRuntime",
    "RemoteUnavailable",
    "ModelMismatch",
    "RemoteError",
    "RemoteSetupError",
    "Update",
    "llama_server_updates",
    "openai_updates",
]


class RemoteUnavailable(ModelUnavailable):
    """The remote engine failed this request (down, slow, garbage): no suggestion, and why."""


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
            served = connect(self.http, self.api, self.route, config)
        except BaseException:
            self.close()
            raise
        self.server_kind, self.name, self.path = served.server_kind, served.name, served.path
        self.device, self.model_bytes, self.n_ctx = served.device, served.model_bytes, served.n_ctx
        self.max_n, self.vocab, self.fim = served.max_n, served.vocab, served.fim
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

    # -- the Runtime contract ---------------------------------------------------------

    def use_document(self, document: str) -> None:
        """The server keeps its own prompt cache (``cache_prompt``): nothing to do here."""

    def use_region(self, first_line: int) -> None:
        """Nothing to do here either: the server's one slot holds one prompt."""

    def kv_states(self) -> None:
        return None

    def tokens_to_read(self, prompt: Sequence[int]) -> int:
        """Unknown here (the server's cache decides): counted as nothing to read."""
        return 0

    def prompt_tokens_per_s(self) -> float | None:
        return None

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
        avoid_start: str = "",
    ) -> Generation:
        """Greedy decoding of one continuation, streamed and stopped by the same rules as in-process
        (``avoid_start`` is not honoured: the serving engine chooses the tokens)."""
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
