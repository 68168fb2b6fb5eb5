"""Every setting of smalllsp, its default and what it does, in one table.

Settings reach the server from three places, later ones winning:
the defaults below, environment variables (``SMALLLSP_<NAME>``, e.g.
``SMALLLSP_MODEL``), and the client (``initializationOptions`` at start-up and
``workspace/didChangeConfiguration`` afterwards, either flat or under a
``smalllsp`` key). The table of settings itself is
:mod:`smalllsp.settings_table`; the README's configuration table is generated
from it (``smalllsp settings``), so the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from typing import Any, Literal, Mapping

from smalllsp.settings_table import DEFAULT_PRIVATE_FILES, MAX_SAMPLES, SETTINGS, Setting

__all__ = [
    "DEFAULT_PRIVATE_FILES",
    "MAX_SAMPLES",
    "RELOAD_SETTINGS",
    "SETTINGS",
    "Config",
    "CrossFilePolicy",
    "Setting",
    "from_environment",
    "settings_json",
    "settings_table",
]

# What the guard's cross-file verdict does to a suggestion (the cross_file_policy setting's choices).
CrossFilePolicy = Literal["allow", "flag", "withhold"]


# Settings read when the model loads: changing one reloads it.
RELOAD_SETTINGS = tuple(s.name for s in SETTINGS if s.reloads_model)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclasses.dataclass(frozen=True)
class Config:
    model: str = ""
    n_ctx: int = 4096
    n_threads: int = 0
    n_gpu_layers: int = -1
    n_batch: int = 512
    kv_state_budget_mib: int = 128
    cancel_latency_ms: int = 300
    lookup_decoding: bool = False
    speculate_next: bool = True
    cold_latency_ms: int = 1000
    moe_placement: str = "auto"
    flash_attn: bool = False
    cache_type: str = "f16"
    prefix_tokens: int = 1024
    suffix_tokens: int = 256
    global_tokens: int = 512
    ring_chunks: int = 8
    ring_chunk_lines: int = 32
    max_tokens: int = 128
    max_lines: int = 8
    time_budget_ms: int = 1000
    samples: int = 1
    temperature: float = 0.6
    top_p: float = 0.95
    seed: int = -1
    warmup: bool = True
    warmup_delay_ms: int = 300
    cross_file_policy: CrossFilePolicy = "flag"
    workspace_index: bool = True
    index_max_files: int = 20000
    index_max_file_kb: int = 512
    index_cache: bool = True
    index_cache_max_mb: int = 512
    max_document_kb: int = 512
    index_workers: int = 0
    engine: str = "local"
    remote_url: str = ""
    remote_api: str = "openai"
    remote_model: str = ""
    remote_api_key_env: str = "SMALLLSP_REMOTE_API_KEY"
    remote_api_key_file: str = ""
    remote_tls_verify: bool = True
    remote_ca_bundle: str = ""
    remote_timeout_ms: int = 10000
    remote_retries: int = 2
    private_files: str = DEFAULT_PRIVATE_FILES
    log_output: str = "client"
    resample_unbound: int = 4
    resample_latency_factor: float = 2.0
    log_level: str = "INFO"

    def merged(self, values: Mapping[str, Any] | None) -> tuple["Config", list[str]]:
        """Return a copy with ``values`` applied, and the problems found.

        Unknown keys and values of the wrong type are reported, not applied, so
        one bad setting from an editor never stops the server. A problem names
        the setting and the type it got, never the value (it may be a secret).
        """
        if not values:
            return self, []
        if isinstance(values.get("smalllsp"), Mapping):
            values = values["smalllsp"]
        changes: dict[str, Any] = {}
        problems: list[str] = []
        for key, raw in values.items():
            setting = _BY_NAME.get(key)
            if setting is None:
                near = difflib.get_close_matches(str(key), _BY_NAME, n=1)
                problems.append(
                    f"unknown setting {key!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
                )
                continue
            try:
                value = _coerce(raw, type(setting.default))
            except (TypeError, ValueError):
                problems.append(
                    f"setting {key!r}: expected {type(setting.default).__name__}, got {_kind(raw)}"
                )
                continue
            if setting.choices and value not in setting.choices:
                problems.append(
                    f"setting {key!r}: expected one of {', '.join(setting.choices)}, got another value"
                )
                continue
            if (setting.minimum is not None and value < setting.minimum) or (
                setting.maximum is not None and value > setting.maximum
            ):
                problems.append(
                    f"setting {key!r}: expected {_range(setting)}, got a value out of range"
                    + (f" ({setting.why})" if setting.why else "")
                )
                continue
            changes[key] = value
        return dataclasses.replace(self, **changes), problems

    def user_only_changes(self, other: "Config") -> list[str]:
        """The user_only settings whose value differs in ``other``."""
        return [
            s.name
            for s in SETTINGS
            if s.user_only and getattr(self, s.name) != getattr(other, s.name)
        ]

    def private_patterns(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.private_files.split(",") if p.strip())


def _kind(raw: Any) -> str:
    """What a refused value is, without the value."""
    return "null" if raw is None else f"a {type(raw).__name__}"


def _range(setting: Setting) -> str:
    if setting.maximum is None:
        return f"at least {setting.minimum:g}"
    if setting.minimum is None:
        return f"at most {setting.maximum:g}"
    return f"{setting.minimum:g} to {setting.maximum:g}"


def _coerce(raw: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        ):
            return raw.lower() in ("1", "true", "yes", "on")
        raise ValueError(raw)
    if kind is int:
        if isinstance(raw, bool):
            raise TypeError(raw)
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str):
            return int(raw.strip())
        raise TypeError(raw)
    if kind is float:
        if isinstance(raw, bool):
            raise TypeError(raw)
        value = float(raw.strip()) if isinstance(raw, str) else raw
        if not isinstance(value, (int, float)):
            raise TypeError(raw)
        if not math.isfinite(value):
            raise ValueError(raw)
        return float(value)
    if kind is str:
        if not isinstance(raw, str):
            raise TypeError(raw)
        return raw
    raise TypeError(kind)


def from_environment(environ: Mapping[str, str] | None = None) -> tuple[Config, list[str]]:
    """Defaults overridden by ``SMALLLSP_<NAME>`` environment variables."""
    environ = os.environ if environ is None else environ
    values = {
        s.name: environ[f"SMALLLSP_{s.name.upper()}"]
        for s in SETTINGS
        if f"SMALLLSP_{s.name.upper()}" in environ
    }
    return Config().merged(values)


def settings_json() -> list[dict[str, Any]]:
    """Every setting as data, for editor clients that contribute them (the VS Code extension)."""
    return [
        {
            "name": s.name,
            "type": type(s.default).__name__,
            "default": s.default,
            "doc": s.doc,
            "choices": list(s.choices),
            "minimum": s.minimum,
            "maximum": s.maximum,
            "user_only": s.user_only,
        }
        for s in SETTINGS
    ]


def settings_table() -> str:
    """The configuration table, as Markdown (the README embeds it)."""
    rows = ["| setting | default | what it does |", "| --- | --- | --- |"]
    for s in SETTINGS:
        rows.append(f"| `{s.name}` | `{s.default!r}` | {s.doc} |")
    return "\n".join(rows)
