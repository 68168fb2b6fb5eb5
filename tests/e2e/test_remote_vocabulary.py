"""The remote engine checks the local model's vocabulary against the server's (moved from
tests/unit/test_remote.py: it reads the default model)."""

from __future__ import annotations

import pytest

from smalllsp.config import Config
from smalllsp.engine.remote import ModelMismatch, RemoteRuntime
from tests.fixtures.fake_engine_server import FakeEngine

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def fake():
    engine = FakeEngine()
    yield engine
    engine.close()


def runtime(fake: FakeEngine, **settings) -> RemoteRuntime:
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


def test_the_local_vocabulary_is_checked_against_the_server(fake, default_model):
    """The fake's vocabulary is not the default model's: start-up says so."""
    with pytest.raises(ModelMismatch, match="not the same model"):
        runtime(fake, model=str(default_model))
