"""A fake :class:`smalllsp.engine.runtime.Runtime`: scripted answers, streamed as the real engines stream.

The layers above the engine run for real (the plan, the cutters as the stop
predicate, the filters, the guard, the ranking); only the model is scripted.
Each answer is written a few characters a "token" at a time, and after each
piece the stop predicate is asked where to cut, exactly as
``engine/llama.py`` and ``engine/remote.py`` do, so a test sees where the
engine would stop, how many pieces it wrote, and what each candidate was.

``document_at("def f():\\n    █")`` turns a text with a cursor marker into
the lines and cursor the server would hand the pipeline, and
:func:`context_at` plans a request there.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Sequence

from smalllsp.config import Config
from smalllsp.context.global_section import NO_SOURCES, Sources
from smalllsp.context.window import Cursor
from smalllsp.engine.fim import TEMPLATES, FimTokens
from smalllsp.engine.runtime import Generation, Sampling, StopAt
from smalllsp.engine.worker import Cancelled
from smalllsp.pipeline.context import RequestContext, plan

CURSOR = "█"
# Qwen2.5-Coder's layout, with small ids (the repository-level tokens too).
FIM = FimTokens(TEMPLATES[0], 1, 2, 3, frozenset(), repo_name=4, file_sep=5)
CHARS_PER_TOKEN = 3


def tokenize(text: str) -> list[int]:
    """About four characters a token; equal text gives equal tokens."""
    return [sum(map(ord, text[i : i + 4])) for i in range(0, len(text), 4)]


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the model writes for one candidate, and how sure it is of each token."""

    text: str
    logprob: float = -0.5


@dataclasses.dataclass
class FakeRuntime:
    """A model that writes ``greedy`` when decoding greedily and ``sampled`` when sampling."""

    greedy: str | Answer = ""
    sampled: Sequence[str | Answer] = ()
    n_ctx: int = 4096
    fim: FimTokens = FIM
    name: str = "fake.gguf"
    path: object = "fake.gguf"
    device: str = "cpu"
    load_seconds: float = 0.0
    model_bytes: int = 0
    kv_bytes: int = 0
    moe: object | None = None
    moe_cpu_layers: int = 0
    prompts: list[list[int]] = dataclasses.field(default_factory=list)
    samplings: list[Sampling] = dataclasses.field(default_factory=list)
    avoid_starts: list[str] = dataclasses.field(
        default_factory=list
    )  # generate's avoid_start, per call
    pieces: list[int] = dataclasses.field(default_factory=list)  # pieces written, per candidate
    warnings: list[str] = dataclasses.field(default_factory=list)
    documents: list[str] = dataclasses.field(default_factory=list)  # use_document's calls, in order
    regions: list[int] = dataclasses.field(default_factory=list)  # use_region's calls, in order
    seconds_per_token: float = 0.0  # how long each piece takes to write (a slow model)

    def tokenize(self, text: str) -> list[int]:
        return tokenize(text)

    def use_document(self, document: str) -> None:
        self.documents.append(document)

    def use_region(self, first_line: int) -> None:
        self.regions.append(first_line)

    def tokens_to_read(self, prompt: Sequence[int]) -> int:
        return 0  # cannot tell: no prompt state is kept

    def prompt_tokens_per_s(self) -> float | None:
        return None

    def kv_states(self) -> None:
        return None

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
        """The scripted greedy answer (``avoid_start`` recorded, not applied: the answer is scripted)."""
        self.prompts.append(list(prompt))
        self.avoid_starts.append(avoid_start)
        if max_tokens <= 0:
            return self._generation("", [], [], prompt, "warmup")
        return self._write(_answer(self.greedy), prompt, max_tokens, stop_at, cancelled)

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
        self.prompts.append(list(prompt))
        self.samplings.append(sampling)
        answers = [_answer(a) for a in self.sampled]
        if sampling.include_greedy:
            answers = [_answer(self.greedy), *answers]
        drawn = []
        for answer in answers[: sampling.n]:  # one at a time: the early exit of Sampling.enough
            drawn.append(self._write(answer, prompt, max_tokens, stop_at, cancelled))
            if sampling.enough is not None and sampling.enough(drawn[-1]):
                break
        return drawn

    def close(self) -> None:
        pass

    def _write(
        self,
        answer: Answer,
        prompt: Sequence[int],
        max_tokens: int,
        stop_at: StopAt | None,
        cancelled: Callable[[], bool],
    ) -> Generation:
        """Stream ``answer`` a token at a time, with the engines' stop rules."""
        text, tokens, reason = "", [], "eog"
        for start in range(0, len(answer.text), CHARS_PER_TOKEN):
            if cancelled():
                raise Cancelled("cancelled")
            if self.seconds_per_token:
                time.sleep(self.seconds_per_token)
            text += answer.text[start : start + CHARS_PER_TOKEN]
            tokens.append(len(tokens) + 100)
            cut = stop_at(text) if stop_at is not None else None
            if cut is not None:
                text, reason = text[:cut], "stop_rule"
                break
            if len(tokens) >= max_tokens:
                reason = "max_tokens"
                break
        self.pieces.append(len(tokens))
        return self._generation(text, tokens, [answer.logprob] * len(tokens), prompt, reason)

    @staticmethod
    def _generation(
        text: str, tokens: list[int], logprobs: list[float], prompt: Sequence[int], reason: str
    ) -> Generation:
        return Generation(text, tokens, logprobs, len(prompt), 0, len(prompt), reason, 0.001)


def _answer(answer: str | Answer) -> Answer:
    return answer if isinstance(answer, Answer) else Answer(answer)


def document_at(marked: str) -> Cursor:
    """The lines and cursor of ``marked``, a text with one :data:`CURSOR` in it."""
    assert marked.count(CURSOR) == 1, "one cursor marker"
    lines = marked.split("\n")
    line = next(i for i, text in enumerate(lines) if CURSOR in text)
    column = lines[line].index(CURSOR)
    lines[line] = lines[line].replace(CURSOR, "")
    return Cursor(lines, line, column)


def context_at(
    marked: str,
    language_id: str = "python",
    config: Config = Config(),
    sources: Sources = NO_SOURCES,
    runtime: FakeRuntime | None = None,
) -> RequestContext:
    """The request context the pipeline plans for the cursor in ``marked``."""
    return plan(runtime or FakeRuntime(), config, language_id, document_at(marked), sources)
