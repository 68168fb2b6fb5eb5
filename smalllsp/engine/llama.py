"""The model, in-process through llama-cpp-python: load, tokenize, generate.

Generation is our own loop over ``Llama.eval`` rather than ``Llama.generate``
so that every request pays only for the tokens after the longest common
prefix with what the KV cache already holds, can be cancelled between two
tokens (and between chunks of a long prompt), reports exactly how many
tokens it reused and evaluated, and reads the log-probability of each sampled
token from the last row of logits (``logits_all`` would cost n_ctx x vocabulary
floats).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from smalllsp.config import Config
from smalllsp.engine import fim, gguf_header, lookup, placement
from smalllsp.engine.chunking import PromptChunks
from smalllsp.engine.constants import MAX_SEQUENCES, PROMPT_CHUNK
from smalllsp.engine.lookup import MAX_DRAFT
from smalllsp.engine.kv_states import (
    MIN_REUSE,
    StatesStatus,
    StateStore,
    common_prefix,
    restore_sequence,
    save_sequence,
)
from smalllsp.engine.loading import load_llama, route_llama_logs
from smalllsp.engine.preflight import (
    ModelError,
    cache_type_id,
    check_memory,
    check_model_file,
    gpu_layer_attempts,
    kv_cache_bytes,
    plan_moe_placement,
)
from smalllsp.engine.prompt_end import PromptEnd
from smalllsp.engine.rows import Feed, Live, Rows, late
from smalllsp.engine.runtime import Generation, Sampling, StepCosts, StopAt
from smalllsp.engine.sampling import Acceptance, best_not_starting, generators, rows_side_by_side
from smalllsp.engine.sampling import sample_token, token_logprob
from smalllsp.engine.stopping import Answer
from smalllsp.engine.worker import Cancelled

log = logging.getLogger(__name__)
llama_log = logging.getLogger("smalllsp.llama_cpp")

# Callers name these from here (the checks live in preflight, the constants in constants).
__all__ = [
    "PROMPT_CHUNK",
    "LlamaRuntime",
    "ModelError",
    "check_memory",
    "check_model_file",
    "gpu_layer_attempts",
    "plan_moe_placement",
]


class LlamaRuntime:
    """One loaded model. Not thread-safe: only the engine's worker thread calls it."""

    def __init__(self, path: Path, config: Config) -> None:
        import llama_cpp

        check_model_file(path)
        kv_type = cache_type_id(config)
        route_llama_logs()
        started = time.perf_counter()
        self.moe, self.moe_cpu_layers, patterns = plan_moe_placement(path, config)
        offload = bool(llama_cpp.llama_supports_gpu_offload()) and config.n_gpu_layers != 0
        check_memory(path, config, gpu_free=placement.free_vram_bytes() if offload else None)
        self.warnings: list[str] = []  # for the user, once the model is loaded
        attempts = [config.n_gpu_layers]
        if offload:  # out of GPU memory: fewer layers, then the CPU
            meta = gguf_header.read_header(path).metadata
            attempts = gpu_layer_attempts(
                config.n_gpu_layers,
                int(meta.get(f"{meta.get('general.architecture')}.block_count", 0) or 0) + 1,
            )
        failures: list[str] = []
        for n_gpu_layers in attempts:
            try:
                self.llm = load_llama(path, config, kv_type, n_gpu_layers, patterns)
                break
            except ModelError as problem:
                if n_gpu_layers == attempts[-1]:
                    raise (
                        ModelError(f"{problem} (also failed with {'; '.join(failures)})")
                        if failures
                        else problem
                    )
                failures.append(f"n_gpu_layers {n_gpu_layers}: {problem}")
                log.warning(
                    "%s did not load with n_gpu_layers %d (out of GPU memory?): %s; trying fewer",
                    path.name,
                    n_gpu_layers,
                    problem,
                )
        if failures:
            where = (
                "on the CPU only" if n_gpu_layers == 0 else f"with {n_gpu_layers} layers on the GPU"
            )
            self.warnings.append(
                f"smalllsp: {path.name} did not fit on the GPU with n_gpu_layers = {config.n_gpu_layers} (out of GPU memory?); "
                f"it runs {where}, so completions are slower. Lower n_ctx or n_gpu_layers, or free GPU memory."
            )
            log.warning("%s", self.warnings[-1])
        self.llm.verbose = False  # no per-call timing prints on stderr
        self.load_seconds = time.perf_counter() - started
        self.path = path
        self.name = path.name
        self.n_ctx = self.llm.n_ctx()
        self.n_vocab = self.llm.n_vocab()
        self._vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        self.step_costs = StepCosts()
        self.acceptance = Acceptance()  # how often a resampled candidate was enough
        self.prompt_end = PromptEnd()  # a draw right after a greedy answer starts from its logits
        self.chunks = PromptChunks(config.n_batch, config.cancel_latency_ms / 1000)
        self.lookup = config.lookup_decoding
        self.lookup_drafted = self.lookup_accepted = 0  # draft tokens, and those greedy agreed with
        # Per-document prompt states (see kv_states): whose prompt the live sequence holds.
        self.states = StateStore(int(config.kv_state_budget_mib * 2**20))
        self._job_document: str | None = None  # the engine's job key
        self._document: str | None = None  # it, with the region of the prompt to come
        self._live_document: str | None = None
        self.fim = fim.resolve(self._special_token, self.name)
        n_layers = llama_cpp.llama_model_n_layer(self.llm.model)
        gpu = llama_cpp.llama_supports_gpu_offload()
        self.gpu_layers = (
            (n_layers if n_gpu_layers < 0 else min(n_gpu_layers, n_layers)) if gpu else 0
        )
        self.device = f"gpu ({self.gpu_layers}/{n_layers} layers)" if self.gpu_layers else "cpu"
        self.model_bytes = int(llama_cpp.llama_model_size(self.llm.model))
        self.kv_bytes = kv_cache_bytes(self.llm.model, self.n_ctx, config.cache_type)
        if self.moe is not None:
            log.info(
                "%s is a Mixture-of-Experts model: %d experts, %d used per token; experts of %d of %d layers in CPU memory (moe_placement %s)",
                self.name,
                self.moe.expert_count,
                self.moe.expert_used_count,
                self.moe_cpu_layers,
                self.moe.block_count,
                config.moe_placement,
            )
        log.info(
            "loaded %s in %.2fs: %d context, FIM family %s, %s, %d threads, flash_attn %s, KV cache %s; "
            "weights %.0f MiB, KV cache %.0f MiB; per-document KV states: budget %.0f MiB",
            self.name,
            self.load_seconds,
            self.n_ctx,
            self.fim.template.family,
            self.device,
            self.llm.context_params.n_threads,
            config.flash_attn,
            config.cache_type,
            self.model_bytes / 2**20,
            self.kv_bytes / 2**20,
            self.states.budget_bytes / 2**20,
        )

    # -- vocabulary -----------------------------------------------------------------

    def _special_token(self, text: str) -> int | None:
        ids = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return ids[0] if len(ids) == 1 else None

    def tokenize(self, text: str) -> list[int]:
        """Tokens of document text. ``special=False``: text that looks like a
        control token (``<|fim_prefix|>`` in a file) stays plain text."""
        if not text:
            return []
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def _is_stop(self, token: int) -> bool:
        import llama_cpp

        return token in self.fim.stops or bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def _answer(
        self, max_tokens: int, stop_at: StopAt | None, time_budget_s: float | None, started: float
    ) -> Answer:
        return Answer(self._is_stop, max_tokens, stop_at, time_budget_s, started)

    def _take(self, answer: Answer, token: int, logits: np.ndarray) -> bool:
        """Add the chosen ``token`` to ``answer``; True when it is finished (``token`` then needs no evaluation)."""
        if answer.ends(token):
            return True
        data = self.llm.detokenize([token])
        return answer.take_bytes(token, data, token_logprob(logits, token))

    def _piece(self, token: int) -> str:
        return self.llm.detokenize([token]).decode("utf-8", errors="replace")

    # -- generation -----------------------------------------------------------------

    @property
    def cached_tokens(self) -> int:
        return self.llm.n_tokens

    def use_document(self, document: str) -> None:
        """The next prompts are ``document``'s (the engine's job key): its saved state may serve them."""
        self._job_document = self._document = document

    def use_region(self, first_line: int) -> None:
        """The next prompt is the window from ``first_line``: that place's saved state may serve it."""
        if self._job_document is not None:
            self._document = f"{self._job_document}@{first_line}"

    def tokens_to_read(self, prompt: Sequence[int]) -> int:
        """How many of ``prompt``'s tokens a request now would evaluate (its document's saved state counted)."""
        reuse = self._reusable_prefix(prompt)
        if self._document is not None and self._document != self._live_document:
            reuse = max(reuse, self.states.shared(self._document, prompt))
        return len(prompt) - min(reuse, len(prompt) - 1)

    def prompt_tokens_per_s(self) -> float | None:
        """The measured prompt speed (None before a prompt was read)."""
        return self.chunks.tokens_per_s

    def kv_states(self) -> StatesStatus:
        return self.states.status()

    def _switch_document(self, prompt: Sequence[int]) -> None:
        """Turning to another document: keep the live prompt's state, bring back this one's."""
        document, before = self._document, self._live_document
        if document is None or document == before:
            return
        self._live_document = document
        if self.states.budget_bytes <= 0:
            return
        live_reuse = self._reusable_prefix(prompt)
        if before is not None and self.llm.n_tokens - live_reuse >= MIN_REUSE:
            self.states.put(before, save_sequence(self.llm, self.llm.n_tokens))
        taken = self.states.take(document, prompt)
        if taken is not None and taken[1] > live_reuse:
            restore_sequence(self.llm, taken[0])
            self.states.restored += 1

    def _reusable_prefix(self, prompt: Sequence[int]) -> int:
        return common_prefix(self.llm.input_ids[: self.llm.n_tokens], prompt)

    def _logits(self) -> np.ndarray:
        import llama_cpp

        pointer = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))

    def _read_prompt(
        self, prompt: Sequence[int], max_tokens: int, cancelled: Callable[[], bool]
    ) -> int:
        """Evaluate ``prompt`` into sequence 0 after the prefix the cache already holds; the tokens reused.

        The last prompt token is always evaluated: its logits start the answer.
        """
        if not prompt:
            raise ValueError("empty prompt")
        if len(prompt) + max_tokens > self.n_ctx:
            raise ValueError(
                f"prompt of {len(prompt)} tokens + {max_tokens} to generate exceeds the context of {self.n_ctx}"
            )
        self._switch_document(prompt)
        n_reused = min(self._reusable_prefix(prompt), len(prompt) - 1)
        self.llm.n_tokens = n_reused
        start = n_reused
        while start < len(prompt):
            if cancelled():
                raise Cancelled("cancelled while reading the prompt")
            chunk = prompt[start : start + self.chunks.size()]
            began = time.perf_counter()
            self.llm.eval(chunk)
            self.chunks.record(len(chunk), time.perf_counter() - began)
            start += len(chunk)
        return n_reused

    def _read_prompt_end(
        self, prompt: Sequence[int], max_tokens: int, cancelled: Callable[[], bool]
    ) -> tuple[int, np.ndarray]:
        """``_read_prompt``, and the logits after the prompt: those a greedy answer just started
        from when the cache still holds this prompt (:mod:`.prompt_end`: no token read again)."""
        self._switch_document(prompt)
        kept = self.prompt_end.resume(self.llm, prompt)
        if kept is not None:
            return len(prompt), kept
        return self._read_prompt(prompt, max_tokens, cancelled), self._logits().copy()

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
        """Evaluate ``prompt`` (reusing the cached prefix) and decode greedily (see
        :meth:`smalllsp.engine.runtime.Runtime.generate`); ``max_tokens=0``: a cache warm-up."""
        started = time.perf_counter()
        n_reused = self._read_prompt(prompt, max_tokens, cancelled)
        answer = self._answer(max_tokens, stop_at, time_budget_s, started)
        if max_tokens == 0:
            answer.finish("warmup")
        decoding_started = time.perf_counter()
        steps = 0
        logits = self._logits()
        self.prompt_end.keep(prompt, logits)
        while not answer.done:
            if cancelled():
                raise Cancelled("cancelled while generating")
            token = int(np.argmax(logits))
            if avoid_start and not answer.text.strip():
                token = best_not_starting(logits, answer.text, avoid_start, self._piece)
            if self._take(answer, token, logits):
                break
            guess = self._draft(prompt, answer)
            steps += 1
            if not guess:
                self.llm.eval([token])
                logits = self._logits()
                continue
            logits = self._verify(answer, token, guess)
        if steps:
            self.step_costs.record(1, (time.perf_counter() - decoding_started) / steps, steps)
        seconds = time.perf_counter() - started
        return answer.generation(len(prompt), n_reused, len(prompt) - n_reused, seconds)

    def _draft(self, prompt: Sequence[int], answer: Answer) -> list[int]:
        """Prompt-lookup draft tokens after the answer so far (none when lookup decoding is off)."""
        room = answer.room - 1
        if not self.lookup or room <= 0:
            return []
        return lookup.draft(np.concatenate([prompt, answer.tokens]), limit=min(room, MAX_DRAFT))

    def _verify(self, answer: Answer, token: int, guess: list[int]) -> np.ndarray:
        """Evaluate ``token`` and the drafted ``guess`` in one batch; keep the drafts greedy decoding
        agrees with. The logits that choose the next token."""
        kept = self.llm.n_tokens + 1
        rows = lookup.decode_rows(self.llm, [token, *guess])
        self.lookup_drafted += len(guess)
        logits = rows[0]
        for drafted, row in zip(guess, rows[1:]):
            if int(np.argmax(logits)) != drafted or self._take(answer, drafted, logits):
                break
            self.lookup_accepted += 1
            kept += 1
            logits = row
        lookup.forget_after(self.llm, kept)
        return logits

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
        """``sampling.n`` candidates, decoded side by side as parallel sequences (:mod:`.rows`).

        The prompt is read once and shared by every row; candidates stop on
        their own. With ``sampling.enough``, only as many rows go side by side
        as the measured step cost makes worth it (:func:`rows_side_by_side`):
        a row whose candidate ended takes the next one, from the prompt's
        logits, and drawing stops at the first candidate that is enough. The
        candidates' cells are dropped at the end: the cache holds the prompt.
        """
        if not 1 <= sampling.n <= MAX_SEQUENCES:
            raise ValueError(f"{sampling.n} samples: between 1 and {MAX_SEQUENCES}")
        if max_tokens <= 0:
            raise ValueError("sampling needs max_tokens > 0")
        started = time.perf_counter()
        n_reused, first = self._read_prompt_end(prompt, max_tokens, cancelled)
        # The candidates share the prompt's cells; each row needs room for its own answer.
        room = max(1, (self.n_ctx - len(prompt)) // max_tokens)
        n = self.step_costs.affordable(
            min(sampling.n, room), time.perf_counter() - started, sampling.budget_s
        )
        if n < sampling.n:
            log.debug("drawing %d of %d candidates: latency budget or context", n, sampling.n)
        rows = n
        if sampling.enough is not None:
            rows = rows_side_by_side(self.step_costs.estimate, n, self.acceptance.rate())
        base = len(prompt)
        rngs = generators(sampling.seed, n)
        answers = [self._answer(max_tokens, stop_at, time_budget_s, started) for _ in range(n)]
        ended: list[int] = []  # the candidates that ended
        side = Rows(self.llm.ctx, self.n_vocab, rows, base)
        try:
            # first tokens taken (the greedy answer's among them), with sampling.distinct_starts
            starts = {int(np.argmax(first))} if sampling.distinct_starts else None
            free = list(range(rows))  # rows holding the prompt only
            live: Live = {}
            drawn, accepted = 0, False
            while not accepted:
                if cancelled():
                    raise Cancelled("cancelled while generating")
                while free and drawn < n and not late(started, time_budget_s, drawn, rows):
                    live[free.pop(0)] = (drawn, base, first)
                    drawn += 1
                if not live:
                    break
                feed: Feed = []
                for seq, (i, position, logits) in live.items():
                    greedy = i == 0 and sampling.include_greedy
                    avoid = starts if position == base else None
                    token = (
                        int(np.argmax(logits))
                        if greedy
                        else sample_token(
                            logits, sampling.temperature, sampling.top_p, rngs[i], avoid
                        )
                    )
                    if avoid is not None:
                        avoid.add(token)
                    if not self._take(answers[i], token, logits):
                        feed.append((seq, i, position, token))
                        continue
                    ended.append(i)
                    side.empty(seq)
                    free.append(seq)
                    if sampling.enough is not None and self.acceptance.note(
                        sampling.enough(answers[i].generation(base, n_reused, base - n_reused, 0.0))
                    ):
                        accepted = True
                        break
                live = side.step(feed) if feed and not accepted else {}
        finally:
            side.close()
            self.llm.n_tokens = base
        longest = max((len(answers[i].tokens) for i in ended), default=0)
        for k, each in side.step_seconds.items():
            self.step_costs.record(k, sum(each) / len(each), longest)
        seconds = time.perf_counter() - started
        return [
            answers[i].generation(base, n_reused, base - n_reused, seconds) for i in sorted(ended)
        ]

    def close(self) -> None:
        self.llm.close()
