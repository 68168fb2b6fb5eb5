"""The remote engine checks the local model's vocabulary against the server's (moved from
tests/unit/test_remote.py: it reads the default model)."""

from __future__ import annotations

import pytest

from smalllsp.engine.remote import ModelMismatch
from tests.support.remote_engine import fake, runtime  # noqa: F401 - fake is a fixture

pytestmark = pytest.mark.timeout(60)


def test_the_local_vocabulary_is_checked_against_the_server(fake, default_model):
    """The fake's vocabulary is not the default model's: start-up says so."""
    with pytest.raises(ModelMismatch, match="not the same model"):
        runtime(fake, model=str(default_model))
