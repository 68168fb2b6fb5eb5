"""The remote engine against the fake llama-server, for the unit and e2e tests that need both."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from smalllsp.config import Config
from smalllsp.engine.remote import RemoteRuntime
from tests.fixtures.fake_engine_server import FakeEngine


@pytest.fixture
def fake() -> Iterator[FakeEngine]:
    engine = FakeEngine()
    yield engine
    engine.close()


def runtime(fake: FakeEngine, **settings: Any) -> RemoteRuntime:
    """A remote runtime on ``fake`` (llama-server's API, a 5 s timeout), ``settings`` on top."""
    config = Config(
        **{
            "engine": "remote",
            "remote_url": fake.url,
            "remote_api": "llama-server",
            "remote_timeout_ms": 5000,
            **settings,
        }
    )
    return RemoteRuntime(config, environ={})
