"""Which engine runs the model: in this process (``engine = local``) or a serving engine (``remote``)."""

from __future__ import annotations

from typing import Callable

from smalllsp.config import Config
from smalllsp.engine.runtime import Runtime


def describe(config: Config) -> str:
    """What will be loaded, for the progress message: a model file, or an endpoint."""
    if config.engine == "remote":
        return f"{config.remote_model or 'the served model'} at {config.remote_url or '(no remote_url)'}"
    from smalllsp import modelstore

    return modelstore.resolve(config.model).name


def open_runtime(config: Config, notify: Callable[[str], None] | None = None) -> Runtime:
    """Load (local) or connect to and check (remote) the configured model; on the worker thread.

    ``notify`` tells the user about a remote engine that stops or starts
    answering (once per change, not per request).
    """
    if config.engine == "remote":
        from smalllsp.engine.remote import RemoteRuntime

        return RemoteRuntime(config, notify=notify)
    from smalllsp import modelstore
    from smalllsp.engine.llama import LlamaRuntime

    return LlamaRuntime(modelstore.resolve(config.model), config)
