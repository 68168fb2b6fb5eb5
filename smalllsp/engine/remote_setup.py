"""The remote engine's start-up checks: what the server serves, and that it is the configured model.

A wrong model behind the URL would give plausible but different
suggestions, so the runtime refuses to start, saying what differs: the
name, the FIM tokens, the vocabulary size, or the tokens of a probe text.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from smalllsp.config import Config
from smalllsp.engine import fim
from smalllsp.engine.remote_http import HttpClient, RemoteError, RemoteSetupError
from smalllsp.engine.remote_vocab import LocalVocab, ServerVocab

log = logging.getLogger("smalllsp.engine.remote")

# Tokenized both here and on the server at start-up: a different vocabulary shows.
PROBE_TEXT = "def área(x):\n    return {\"k\": [x ** 2, '\\t']}  # ≠ 𝄞\n"


class ModelMismatch(RemoteError):
    """The server does not serve the configured model (name, FIM tokens or vocabulary differ)."""


@dataclasses.dataclass(frozen=True)
class Served:
    """What the server serves, checked."""

    server_kind: str  # "llama-server" or "OpenAI-compatible server"
    name: str
    path: str  # the completion route's URL, for status and logs
    device: str
    model_bytes: int
    n_ctx: int
    max_n: int | None  # candidates per request (llama-server's slots); None: no limit known
    vocab: LocalVocab | ServerVocab
    fim: fim.FimTokens


def connect(http: HttpClient, api: str, route: str, config: Config) -> Served:
    """Ask the server what it serves and check it against ``config``; ModelMismatch says what differs."""
    props = _props(http)
    server_kind = "llama-server" if props is not None else "OpenAI-compatible server"
    if api == "llama-server" and props is None:
        raise ModelMismatch(
            f"remote_api = llama-server, but {http.endpoint.origin} is not a llama-server (no /props); use remote_api = openai"
        )
    served = _served_models(http)
    name = _check_name(http, config.remote_model, served)
    path_described = http.describe(route)
    info = next((m for m in served if name in _names_of(m)), {})
    found = info.get("meta")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    model_bytes = int(meta.get("size") or 0)
    device = f"remote ({server_kind} at {http.endpoint.origin})"
    server_ctx: Any = None
    max_n: int | None = None
    if props is not None:
        server_ctx = (props.get("default_generation_settings") or {}).get("n_ctx")
        max_n = int(props.get("total_slots") or 1)
    else:
        server_ctx = info.get("max_model_len")
    n_ctx = config.n_ctx
    if isinstance(server_ctx, int) and server_ctx > 0 and server_ctx < config.n_ctx:
        log.warning(
            "remote engine: the server's context per request is %d tokens, less than n_ctx %d: prompts are built for %d "
            "(and differ from the in-process ones); give the server -c n_ctx x slots",
            server_ctx,
            config.n_ctx,
            server_ctx,
        )
        n_ctx = server_ctx
    server_vocab = ServerVocab(http, props is not None, name)
    if config.model.strip():
        from smalllsp import modelstore

        try:
            path = modelstore.resolve(config.model)
        except modelstore.StoreError as problem:
            raise RemoteSetupError(
                f"model = {config.model!r} (the local vocabulary for the remote engine): {problem}"
            ) from None
        local = LocalVocab(path)
        try:
            _check_vocabulary(http, local, server_vocab, meta.get("n_vocab"), path.name)
            tokens = _fim_tokens(http, local, name)
        except BaseException:
            local.close()
            raise
        return Served(
            server_kind, name, path_described, device, model_bytes, n_ctx, max_n, local, tokens
        )
    tokens = _fim_tokens(http, server_vocab, name)
    return Served(
        server_kind, name, path_described, device, model_bytes, n_ctx, max_n, server_vocab, tokens
    )


def _fim_tokens(http: HttpClient, vocab: LocalVocab | ServerVocab, name: str) -> fim.FimTokens:
    try:
        return fim.resolve(vocab.special_token, name)
    except fim.NoFimTokensError as problem:
        raise ModelMismatch(f"the model served at {http.endpoint.origin}: {problem}") from None


def _props(http: HttpClient) -> dict[str, Any] | None:
    """llama-server's /props, or None from a server that has none (vLLM)."""
    try:
        props = http.request_json("GET", "/props")
    except RemoteError as problem:
        if problem.status == 404:
            return None
        raise
    return props if isinstance(props, dict) and "default_generation_settings" in props else None


def _served_models(http: HttpClient) -> list[dict[str, Any]]:
    answer = http.request_json("GET", "/v1/models")
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list) or not all(
        isinstance(m, dict) and isinstance(m.get("id"), str) for m in data
    ):
        raise RemoteError(
            f"{http.describe('/v1/models')} answered without a model list: {str(answer)[:200]!r}"
        )
    return data


def _check_name(http: HttpClient, wanted: str, served: list[dict[str, Any]]) -> str:
    names = [name for model in served for name in _names_of(model)]
    ids = ", ".join(repr(m["id"]) for m in served) or "nothing"
    if wanted:
        if wanted in names:
            return wanted
        raise ModelMismatch(f"remote_model is {wanted!r}, but {http.endpoint.origin} serves {ids}")
    if len(served) != 1:
        raise ModelMismatch(
            f"{http.endpoint.origin} serves {ids}: set remote_model to the one to use"
        )
    log.info(
        "remote engine: remote_model is not set; using the only model served: %s",
        served[0]["id"],
    )
    return served[0]["id"]


def _check_vocabulary(
    http: HttpClient, local: LocalVocab, server: ServerVocab, server_n_vocab: Any, local_name: str
) -> None:
    """The local vocabulary must be the served model's: same size, FIM tokens and tokens for a probe text."""
    where = http.endpoint.origin
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


def _names_of(model: dict[str, Any]) -> list[str]:
    aliases = model.get("aliases")
    return (
        [model["id"], *(a for a in aliases if isinstance(a, str))]
        if isinstance(aliases, list)
        else [model["id"]]
    )
