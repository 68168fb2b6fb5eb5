"""The remote engine's vocabulary: the model's own, loaded here, or the server's ``/tokenize``.

With the model file here (``vocab_only``, a few MB) tokenizing is exactly the
in-process engine's; without it every piece of text is tokenized by the
server, cached, since the context builder asks for the same lines again and again.
"""

from __future__ import annotations

import collections
import contextlib
import io
from pathlib import Path
from typing import Any

from smalllsp.engine.remote_http import HttpClient, RemoteError

TOKENIZE_CACHE_SIZE = 8192


class LocalVocab:
    """The model's vocabulary only (``vocab_only``): tokenizing exactly as the in-process engine does."""

    def __init__(self, path: Path) -> None:
        import llama_cpp

        from smalllsp.engine.loading import route_llama_logs
        from smalllsp.engine.preflight import check_model_file

        check_model_file(path)
        route_llama_logs()
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
