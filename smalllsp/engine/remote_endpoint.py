"""Where the remote engine is and how to reach it: its URL, its API key, its TLS settings.

Each is checked when the runtime starts, with a message that names the
setting to change; the API key's value never appears in one.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import ssl
import urllib.parse
from pathlib import Path
from typing import Mapping

from smalllsp import safeio

# The HTTP client's logger: these checks are part of opening its connection.
log = logging.getLogger("smalllsp.engine.remote_http")


class RemoteError(RuntimeError):
    """The remote engine could not be used: down, slow, refused, or answered nonsense."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, when the server answered with an error


class RemoteSetupError(RemoteError):
    """The remote settings are wrong (no URL, unreadable key file, missing CA bundle)."""


@dataclasses.dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int
    base_path: str  # without a trailing slash

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def path(self, route: str) -> str:
        return self.base_path + route


def parse_url(url: str) -> Endpoint:
    """``http://gpu-box:8080`` or ``https://vllm.internal/v1`` -> an :class:`Endpoint`.

    A base URL that already ends in ``/v1`` keeps it off, so routes are
    always written ``/v1/completions``.
    """
    if not url:
        raise RemoteSetupError("engine = remote needs remote_url (e.g. http://gpu-box:8080)")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteSetupError(
            f"remote_url must be http://HOST[:PORT] or https://HOST[:PORT], got {url!r}"
        )
    if parts.username or parts.password:
        raise RemoteSetupError(
            "remote_url must not carry credentials; use remote_api_key_env or remote_api_key_file"
        )
    base = parts.path.rstrip("/")
    if base.endswith("/v1"):
        base = base[: -len("/v1")]
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return Endpoint(parts.scheme, parts.hostname, port, base)


def read_api_key(
    env_name: str, key_file: str, environ: Mapping[str, str] | None = None
) -> str | None:
    """The API key from the environment variable, else from the file; None when neither is set.

    The file must be a regular file of at most 4 KiB holding one line (opened
    without blocking: a FIFO or a device is refused at once). No error message
    holds any of the key's text.
    """
    environ = os.environ if environ is None else environ
    try:
        if env_name and environ.get(env_name, "").strip():
            return safeio.check_secret_text(
                environ[env_name], f"the variable {env_name} (remote_api_key_env)"
            )
        if key_file:
            return safeio.read_secret_file(str(Path(key_file).expanduser()), "remote_api_key_file")
    except safeio.SecretFileError as problem:
        raise RemoteSetupError(str(problem)) from None
    return None


def tls_context(verify: bool, ca_bundle: str) -> ssl.SSLContext:
    """Certificate checks on by default; ``ca_bundle`` adds an internal CA."""
    if not verify:
        log.warning("remote_tls_verify is off: the remote engine's certificate is not checked")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_bundle:
        path = Path(ca_bundle).expanduser()
        if not path.is_file():
            raise RemoteSetupError(f"remote_ca_bundle {path} is not a file")
        try:
            return ssl.create_default_context(cafile=str(path))
        except (ssl.SSLError, OSError) as exc:
            raise RemoteSetupError(
                f"remote_ca_bundle {path} is not a usable PEM bundle: {exc}"
            ) from None
    return ssl.create_default_context()
