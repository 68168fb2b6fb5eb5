"""Which engine runs the model: in this process (``engine = local``) or a serving engine (``remote``)."""

from __future__ import annotations

import logging
from typing import Callable

from smalllsp.config import Config
from smalllsp.engine.runtime import Runtime

log = logging.getLogger(__name__)


def describe(config: Config) -> str:
    """What will be loaded, for the progress message: a model file, or an endpoint."""
    if config.engine == "remote":
        return f"{config.remote_model or 'the served model'} at {config.remote_url or '(no remote_url)'}"
    from smalllsp import modelstore
    from smalllsp.models import auto

    if config.model.strip() == auto.AUTO:
        return "the best installed model for this machine (model = auto)"
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
    from smalllsp.models import auto

    if config.model.strip() == auto.AUTO:  # measured once per machine, then cached
        choice = auto.choose(config)
        log.info("model = auto: %s", choice.reason)
        runtime = LlamaRuntime(choice.path, config)
        setattr(runtime, "model_choice", choice.as_dict())  # for smalllsp/status
        return runtime
    return LlamaRuntime(modelstore.resolve(config.model), config)
