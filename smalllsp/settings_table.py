"""Every setting of smalllsp: its default, its range and what it does, as data.

This module is only the table (the README's configuration table, the
output of ``smalllsp settings`` that the Neovim docs point to, and the VS
Code extension's settings are generated from it);
:mod:`smalllsp.config` reads values against it. Each :class:`Setting` says
where it may come from (``user_only``) and whether changing it reloads the
model (``reloads_model``).
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    doc: str
    choices: tuple[str, ...] = ()  # for strings: the accepted values, when the set is closed
    minimum: float | None = None  # for numbers: the accepted range, when it is bounded
    maximum: float | None = None
    # Moves data off the machine or reads a file the user names: taken only from
    # the user's own scope (the environment, the command line, the editor's
    # user-level settings), never from a workspace's files.
    user_only: bool = False
    why: str = ""  # why the range is what it is, told with a value outside it
    # Read when the model loads (or the remote engine connects): a change reloads it.
    reloads_model: bool = False


# Secrets by convention: never in the index, the ring or another file's prompt.
DEFAULT_PRIVATE_FILES = ".env*,*.pem,*.key,id_*,credentials*,secrets*"

# Most candidates one request may draw: the sequences the in-process engine's context holds.
MAX_SAMPLES = 8

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "model",
        "",
        "GGUF file to run, or the name of a model in the store. Empty: the default model (`smalllsp models install default`). auto: the largest installed catalog model that fits in free memory (RAM, plus VRAM where llama.cpp offloads) and serves a typical request within time_budget_ms, its speed measured once per machine with a short probe and cached in the store; the choice and the reason are in the start-up log and smalllsp/status (`smalllsp models recommend` prints them).",
        user_only=True,
        reloads_model=True,
    ),
    Setting(
        "n_ctx",
        4096,
        "Context size of the model in tokens (prompt + completion).",
        minimum=256,
        maximum=262144,
        why="the context must hold the FIM tokens, some window and the answer; 0 or less would load the model's own (often 32k) context",
        reloads_model=True,
    ),
    Setting(
        "n_threads",
        0,
        "CPU threads for the model; 0 picks the number of cores.",
        minimum=0,
        maximum=1024,
        why="0 picks the number of cores",
        reloads_model=True,
    ),
    Setting(
        "n_gpu_layers",
        -1,
        "Layers offloaded to the GPU; -1 offloads all (ignored by a CPU-only build).",
        minimum=-1,
        why="-1 offloads every layer",
        reloads_model=True,
    ),
    Setting(
        "n_batch",
        512,
        "Tokens evaluated per batch while reading a prompt.",
        minimum=1,
        maximum=65536,
        why="a batch holds at least one token",
        reloads_model=True,
    ),
    Setting(
        "moe_placement",
        "auto",
        "Mixture-of-Experts models: where expert weights live. auto (as many layers' experts on the GPU as free VRAM allows; all in CPU memory without a GPU), gpu, cpu, or N (the experts of the first N layers in CPU memory, as llama.cpp's --n-cpu-moe).",
        reloads_model=True,
    ),
    Setting(
        "flash_attn",
        False,
        "Use flash attention (faster on most GPUs; needed for a quantized KV cache).",
        reloads_model=True,
    ),
    Setting(
        "cache_type",
        "f16",
        "KV cache type: f16, q8_0 or q4_0 (the quantized ones halve or quarter its memory; they need flash_attn).",
        ("f16", "q8_0", "q4_0"),
        reloads_model=True,
    ),
    Setting(
        "prefix_tokens",
        1024,
        "Token budget of the code before the cursor line in the prompt.",
        minimum=0,
        why="a token budget cannot be negative",
    ),
    Setting(
        "suffix_tokens",
        256,
        "Token budget of the code after the cursor in the prompt.",
        minimum=0,
        why="a token budget cannot be negative",
    ),
    Setting(
        "global_tokens",
        512,
        "Token budget of the pinned global section before the window: the file's header (imports, constants) when the window does not show it, the signatures of the enclosing scopes, definitions from other workspace files of the symbols used near the cursor, and chunks of recently used files. 0 turns it off.",
        minimum=0,
        why="a token budget cannot be negative; 0 turns the section off",
    ),
    Setting(
        "ring_chunks",
        8,
        "Chunks of recently opened or edited files kept for the global section (llama.vim's ring buffer); 0 turns them off.",
        minimum=0,
        maximum=64,
        why="0 turns the ring off; every chunk is checked against each request",
    ),
    Setting(
        "ring_chunk_lines",
        32,
        "Lines in one ring-buffer chunk.",
        minimum=1,
        maximum=1000,
        why="a chunk holds at least one line",
    ),
    Setting(
        "max_tokens",
        128,
        "Most tokens generated for one completion.",
        minimum=1,
        maximum=4096,
        why="a completion writes at least one token",
    ),
    Setting(
        "max_lines",
        8,
        "Most lines in a multi-line completion.",
        minimum=1,
        maximum=1000,
        why="a completion has at least one line",
    ),
    Setting(
        "time_budget_ms",
        1000,
        "After this long (prompt included), generation stops at the next line break (llama.vim's t_max_predict_ms).",
        minimum=0,
        why="a delay cannot be negative",
    ),
    Setting(
        "samples",
        1,
        "Candidates drawn per completion request (budget reallocation): the prompt is read once, the candidates are sampled from it, those that break the syntax or are withheld are dropped, and the rest are ranked by agreement, then mean log-probability. 1 decodes greedily. Fewer are drawn when time_budget_ms would not allow them all.",
        minimum=1,
        maximum=MAX_SAMPLES,
    ),
    Setting(
        "temperature",
        0.6,
        "Sampling temperature of the candidates when samples > 1 (the first candidate is always the greedy one).",
        minimum=0,
        maximum=2,
    ),
    Setting(
        "top_p",
        0.95,
        "Nucleus (top-p) cut-off of the candidates when samples > 1 (after keeping the 40 likeliest tokens).",
        minimum=0.01,
        maximum=1,
    ),
    Setting(
        "seed",
        -1,
        "Seed of the candidates' sampling; -1 draws fresh randomness for each request.",
        minimum=-1,
        why="-1 draws fresh randomness",
    ),
    Setting(
        "warmup",
        True,
        "Read the prompt into the KV cache ahead of time: when a document opens (cursor at its end) and when typing pauses (at the last edit), so the next completion there starts warm.",
    ),
    Setting(
        "warmup_delay_ms",
        300,
        "The pause after an edit, with no completion request, that starts a warm-up.",
        minimum=0,
        why="a delay cannot be negative",
    ),
    Setting(
        "cross_file_policy",
        "flag",
        "What happens to a suggestion that depends on another workspace file the model did not see (or calls one with the wrong arguments, or changes a signature other files use): allow (show it as is), flag (show it marked, with the reasons) or withhold (do not show it; the reason is logged).",
        ("allow", "flag", "withhold"),
    ),
    Setting(
        "workspace_index",
        True,
        "Index the workspace folders (definitions, imports, references) in the background and keep the index current with a file watcher.",
    ),
    Setting(
        "index_max_files",
        20000,
        "Most files the workspace index reads; a larger workspace is indexed up to this many, with a warning.",
        minimum=0,
        why="a count cannot be negative",
    ),
    Setting(
        "index_max_file_kb",
        512,
        "Files larger than this (in KiB) are left out of the workspace index.",
        minimum=1,
        maximum=16384,
        why="the index reads each file whole into memory: 16 MiB is far above any hand-written source file",
    ),
    Setting(
        "index_cache",
        True,
        "Keep the workspace index on disk, in $XDG_CACHE_HOME/smalllsp/index (~/.cache without it): one entry per file with its outline (definitions, imports, the names it uses), never its text, keyed by size, mtime and a content hash. A restart parses only the files that changed. Read at start-up.",
    ),
    Setting(
        "index_cache_max_mb",
        512,
        "Most disk space (MiB) the index cache may take for all workspaces together: past it, other workspaces' caches are deleted, least recently used first, and one workspace alone over it caches no new files.",
        minimum=1,
        maximum=1048576,
        why="the cache needs some room; 1 TiB is beyond any workspace's outlines",
    ),
    Setting(
        "max_document_kb",
        512,
        "Open documents larger than this (in KiB, as UTF-8) get no syntax tree and no outline of the whole document: they are still synced and completed from a window around the cursor (the log says so once per document). Their tree is parsed off the event loop, but the parser holds the interpreter while it balances a long flat file: measured on a 2-core machine at load 6.5, the loop waited at most 16-35 ms while the 223-295 KiB stdlib modules parsed, 144 ms for 512 KiB of one-line statements and 369 ms for 1 MiB.",
        minimum=0,
        maximum=1048576,
        why="0 gives no document a tree; 1 GiB is more than any editor buffer",
    ),
    Setting(
        "index_workers",
        0,
        "Processes that parse files while the workspace index is first built (at a lower priority than the server); 0 picks one per CPU core (at most 8), 1 parses in the server process. Fewer than 500 files to read, and the live updates after the build, are always parsed in the server process.",
        minimum=0,
        maximum=64,
    ),
    Setting(
        "engine",
        "local",
        "Where the model runs: local (in this process, llama-cpp-python; no socket is opened) or remote (a team's llama-server or vLLM: the prompt built here is sent as token ids, and the context, cutting, guard, ranking and cache stay here; only the remote_url host is connected to).",
        ("local", "remote"),
        user_only=True,
        reloads_model=True,
    ),
    Setting(
        "remote_url",
        "",
        "engine = remote: the server's base URL, e.g. http://gpu-box:8080 (llama-server) or https://vllm.internal:8000 (vLLM); a trailing /v1 is allowed.",
        user_only=True,
        reloads_model=True,
    ),
    Setting(
        "remote_api",
        "openai",
        "engine = remote: openai (POST /v1/completions, llama-server or vLLM) or llama-server (POST /completion with cache_prompt).",
        ("openai", "llama-server"),
        user_only=True,
        reloads_model=True,
    ),
    Setting(
        "remote_model",
        "",
        "engine = remote: the served model's name (llama-server: its --alias; vLLM: --served-model-name), checked against the server's /v1/models at start-up; empty: the only model served. With `model` also set, only that model's vocabulary is loaded here, the prompt is tokenized locally and the server's FIM tokens and tokenizer are checked against it; without it, the server's /tokenize is used.",
        user_only=True,
        reloads_model=True,
    ),
    Setting(
        "remote_api_key_env",
        "SMALLLSP_REMOTE_API_KEY",
        "engine = remote: environment variable holding the API key, sent as a Bearer token (never logged or shown). Only the default and a variable named at start-up (environment, command line, initializationOptions) can be used.",
        user_only=True,
        reloads_model=True,
    ),
    Setting(
        "remote_api_key_file",
        "",
        "engine = remote: file holding the API key, read when the engine starts (used when the variable is unset): a regular file of at most 4 KiB holding one line (a FIFO, a device or a multi-line file is refused).",
        user_only=True,
        reloads_model=True,
    ),
    Setting(
        "remote_tls_verify",
        True,
        "engine = remote: verify the server's TLS certificate (https URLs).",
        user_only=True,
        reloads_model=True,
    ),
    Setting(
        "remote_ca_bundle",
        "",
        "engine = remote: a CA bundle (PEM) to verify the server with, for internal certificate authorities.",
        user_only=True,
        reloads_model=True,
    ),
    Setting(
        "remote_timeout_ms",
        10000,
        "engine = remote: how long one request may take, retries included, before it is abandoned (no suggestion; the reason is logged and shown once).",
        minimum=1,
        why="a request needs some time",
        reloads_model=True,
    ),
    Setting(
        "remote_retries",
        2,
        "engine = remote: retries, with exponential backoff from 0.25 s, of a request that could not connect or got a 429/5xx answer (never of a stream that has started).",
        minimum=0,
        maximum=10,
        why="a count cannot be negative; more retries only delay the answer",
        reloads_model=True,
    ),
    Setting(
        "private_files",
        DEFAULT_PRIVATE_FILES,
        "Comma-separated name patterns (shell style, matched case-insensitively against each part of a path) of files that never enter the workspace index, the ring of recent chunks or another file's prompt, even when open; they still get completions themselves. .gitignore'd files are treated the same way.",
        user_only=True,
    ),
    Setting(
        "log_output",
        "client",
        "Where the server's log goes: client (as window/logMessage with each record's level, once the editor is connected, so its log files INFO as INFO; stderr before and after) or stderr (every record on stderr, as `<time> <LEVEL> <logger>: <message>`). Taken from the environment (`SMALLLSP_LOG_OUTPUT`) when the server starts, before any client setting arrives.",
        ("client", "stderr"),
    ),
    Setting(
        "resample_unbound",
        4,
        "When the best candidate calls a workspace function, class or method with arguments that do not bind to its signature, first rename a keyword it made up to the parameter it nearly names (terminal_color= to color=, no model step; shown, marked repaired, when the call then binds); else draw up to this many more candidates from the same reading of the prompt (within what is left of time_budget_ms and resample_latency_factor), stopping at the first whose calls bind, each starting with another first token and given up as soon as what it wrote can no longer bind, side by side where the measured step costs make that faster (a GPU) and one at a time where not (a CPU); show the one that binds, marked as resampled with the calls it bound. A callee that takes no argument gets the bare ) without drawing. When none binds, the bare ) is shown if it binds, else the first stays flagged (or withheld, by cross_file_policy). 0 turns it off.",
        minimum=0,
        maximum=MAX_SAMPLES,
    ),
    Setting(
        "resample_latency_factor",
        2.0,
        "Resampling for a call that did not bind ends once the request has taken this many times what it took to its first answer (prompt included): 2 lets a resampled request take at most about twice a greedy one, and a candidate being drawn is given up before the step that would end past it. 0: only time_budget_ms bounds it; below 1, nothing is drawn (the rename and the bare ) are still tried).",
        minimum=0,
        maximum=100,
    ),
    Setting(
        "log_level",
        "INFO",
        "Server log level: DEBUG, INFO, WARNING or ERROR. Document text is logged only at DEBUG.",
        ("DEBUG", "INFO", "WARNING", "ERROR"),
    ),
    Setting(
        "kv_state_budget_mib",
        128,
        "Host memory for the prompt states of recently used documents (MiB), so that coming back to a file reads only its new tokens; least recently used first out; 0 turns it off. Read when the model loads. The default 0.5B model needs ~12 KiB per token: 128 MiB holds about seven 1,500-token prompts.",
        minimum=0,
        maximum=65536,
        why="a budget in MiB; 0 keeps no states",
        reloads_model=True,
    ),
    Setting(
        "cancel_latency_ms",
        300,
        "How soon a cancelled or superseded request stops reading its prompt: the prompt is read in chunks that grow, from the measured prompt speed, to what this machine reads in this long (at least 32 tokens, at most n_batch). Larger reads cold prompts faster on a CPU; smaller stops sooner.",
        minimum=0,
        maximum=60000,
        why="a time in milliseconds; 0 keeps the smallest chunk (32 tokens)",
        reloads_model=True,
    ),
    Setting(
        "lookup_decoding",
        False,
        "Prompt-lookup (n-gram) speculative decoding in the in-process engine: tokens copied from the prompt after a match of the last three are verified in one batch and kept while greedy decoding agrees (batched rows can tip a near tie the other way). Off by default: on a 2-core CPU it measured 1.26x slower (see the README's performance section).",
        reloads_model=True,
    ),
    Setting(
        "speculate_next",
        True,
        "While a suggestion is shown, compute in the background the one for after accepting it whole, so the request after Tab is answered at once (or waits for it, if Tab comes before it is done). It gives way to every request (a keystroke stops it).",
    ),
    Setting(
        "cold_latency_ms",
        1000,
        "Where the KV cache cannot help (a new file, a far jump), plan a first hint that the measured prompt speed reads in this long (at least a 256-token hint), from a smaller window, then read the full window in the background. A machine that reads the full window within it (a GPU) never needs the hint. 0 turns it off.",
        minimum=0,
        maximum=600000,
        why="a time in milliseconds; 0 turns it off",
    ),
)
