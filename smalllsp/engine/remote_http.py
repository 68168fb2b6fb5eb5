"""HTTP to the remote engine: JSON calls and server-sent-event streams, stdlib only.

Only :mod:`http.client` and :mod:`ssl`: an air-gapped install gets no extra
wheel, and a stream can be cut at once from outside the reading thread. A
watcher thread polls ``cancelled()`` (and the request's deadline) while the
worker thread blocks in a read; when either fires it shuts the socket down,
the read returns, and the server sees the connection close and stops
generating, which is what cancelling a remote completion has to do.

Retries: a request that could not connect, or was answered 429 or 5xx, is
tried again after 0.25 s, 0.5 s, 1 s... while the request's deadline
(``timeout_s``, retries included) allows. A stream is never retried once it
has delivered an event. The API key goes only into the Authorization header,
never into an exception message or the log.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import threading
import time
from typing import Any, Callable, Generator, Iterator

from smalllsp.engine.remote_endpoint import (
    Endpoint,
    RemoteError,
    RemoteSetupError,
    parse_url,
    read_api_key,
    tls_context,
)
from smalllsp.engine.worker import Cancelled

log = logging.getLogger(__name__)

# Callers name the endpoint's parts from here too.
__all__ = [
    "Endpoint",
    "HttpClient",
    "RemoteError",
    "RemoteSetupError",
    "parse_url",
    "read_api_key",
    "tls_context",
]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
FIRST_BACKOFF_S = 0.25
WATCH_INTERVAL_S = 0.02
# The most of an unexpected answer quoted in an error message.
QUOTE_BYTES = 200


class _Watch:
    """Shuts the current connection's socket down when ``cancelled()`` turns true or the deadline passes.

    It watches from before the request is sent: a server answers a stream's
    headers only once the prompt is read, which can take seconds.
    """

    def __init__(self, cancelled: Callable[[], bool], deadline: float) -> None:
        self.reason: str | None = None  # "cancelled" | "timeout"
        self.connection: http.client.HTTPConnection | None = None
        self._cancelled = cancelled
        self._deadline = deadline
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="smalllsp-remote-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(WATCH_INTERVAL_S):
            if self.reason is None:
                if self._cancelled():
                    self.reason = "cancelled"
                elif time.monotonic() > self._deadline:
                    self.reason = "timeout"
                else:
                    continue
            connection = self.connection
            sock = connection.sock if connection is not None else None
            if sock is not None:
                try:
                    # The plain socket's shutdown, also under TLS: it wakes the
                    # blocked read without touching the TLS object another thread uses.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


class HttpClient:
    """JSON requests and SSE streams to one server.

    Streams may run from several threads at once (each has its own
    connection); JSON calls, which keep one connection alive, from one.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        tls_verify: bool = True,
        ca_bundle: str = "",
        timeout_s: float = 10.0,
        retries: int = 2,
    ) -> None:
        self.endpoint = parse_url(url)
        self._context = (
            tls_context(tls_verify, ca_bundle) if self.endpoint.scheme == "https" else None
        )
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self._idle: http.client.HTTPConnection | None = None  # kept alive between JSON calls
        self.requests = 0  # HTTP requests sent (for tests and the bench)

    def describe(self, route: str) -> str:
        return f"{self.endpoint.origin}{self.endpoint.path(route)}"

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        ep = self.endpoint
        if self._context is not None:
            return http.client.HTTPSConnection(
                ep.host, ep.port, timeout=timeout, context=self._context
            )
        return http.client.HTTPConnection(ep.host, ep.port, timeout=timeout)

    # -- one attempt ------------------------------------------------------------------

    def _send(
        self,
        method: str,
        route: str,
        body: Any,
        deadline: float,
        reuse: bool,
        watch: "_Watch | None",
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send once; the open response (its status may be an error)."""
        timeout = max(0.05, deadline - time.monotonic())
        if reuse and self._idle is not None:
            connection, self._idle = self._idle, None
        else:
            connection = self._connect(timeout)
        if watch is not None:
            watch.connection = connection
        data = None if body is None else json.dumps(body).encode("utf-8")
        try:
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
            self.requests += 1
            connection.request(method, self.endpoint.path(route), body=data, headers=self._headers)
            return connection, connection.getresponse()
        except BaseException:
            connection.close()
            raise

    def _attempts(
        self,
        method: str,
        route: str,
        body: Any,
        cancelled: Callable[[], bool],
        deadline: float,
        reuse: bool,
        watch: "_Watch | None" = None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send with retries; the first answer that is neither 429 nor 5xx."""
        attempt = 0
        while True:
            if cancelled():
                raise Cancelled("cancelled before the remote engine answered")
            problem: str
            try:
                connection, response = self._send(
                    method, route, body, deadline, reuse and attempt == 0, watch
                )
            except (OSError, http.client.HTTPException) as exc:
                if watch is not None and watch.reason == "cancelled":
                    raise Cancelled("cancelled before the remote engine answered") from None
                if (watch is not None and watch.reason == "timeout") or isinstance(
                    exc, (socket.timeout, TimeoutError)
                ):
                    raise RemoteError(
                        f"{self.describe(route)} did not answer within {self.timeout_s:g} s (remote_timeout_ms)"
                    ) from None
                if isinstance(exc, ssl.SSLError):
                    raise RemoteError(
                        f"TLS with {self.endpoint.origin} failed: {exc.reason or exc}"
                    ) from None
                if (
                    reuse
                    and attempt == 0
                    and isinstance(
                        exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
                    )
                ):
                    reuse = False  # a kept-alive connection the server had closed meanwhile
                    continue
                problem = _describe_oserror(exc)
            else:
                if response.status not in RETRY_STATUSES:
                    return connection, response
                problem = f"answered HTTP {response.status} {response.reason}: {_quote(_read_some(response))}"
                connection.close()
            attempt += 1
            pause = FIRST_BACKOFF_S * 2 ** (attempt - 1)
            if attempt > self.retries or time.monotonic() + pause >= deadline:
                tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                raise RemoteError(f"{self.describe(route)}: {problem}{tries}")
            log.info(
                "remote engine: %s: %s; retrying in %.2f s", self.describe(route), problem, pause
            )
            _sleep(pause, cancelled)

    # -- public -----------------------------------------------------------------------

    def request_json(
        self,
        method: str,
        route: str,
        body: Any = None,
        *,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Any:
        """One JSON call (with retries); raises :class:`RemoteError` on a non-2xx answer or non-JSON."""
        deadline = time.monotonic() + self.timeout_s
        connection, response = self._attempts(method, route, body, cancelled, deadline, reuse=True)
        try:
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise RemoteError(
                f"{self.describe(route)}: the answer was cut off ({_describe_oserror(exc)})"
            ) from None
        if response.status >= 400:
            connection.close()
            raise RemoteError(
                f"{self.describe(route)} answered HTTP {response.status} {response.reason}: {_quote(raw)}",
                response.status,
            )
        if response.will_close:
            connection.close()
        else:
            self._idle = connection
        try:
            return json.loads(raw)
        except ValueError:
            raise RemoteError(
                f"{self.describe(route)} answered something that is not JSON: {_quote(raw)}"
            ) from None

    def stream(
        self, route: str, body: Any, *, cancelled: Callable[[], bool]
    ) -> Generator[dict[str, Any], None, None]:
        """POST ``body`` and yield each server-sent event's JSON; ``[DONE]`` ends it.

        Closing the generator, a cancel or the deadline closes the connection,
        so the server stops generating. A plain JSON answer (a server that
        does not stream) is yielded as one event.
        """
        deadline = time.monotonic() + self.timeout_s
        watch = _Watch(cancelled, deadline)
        connection: http.client.HTTPConnection | None = None
        try:
            connection, response = self._attempts(
                "POST", route, body, cancelled, deadline, reuse=False, watch=watch
            )
            if response.status >= 400:
                raise RemoteError(
                    f"{self.describe(route)} answered HTTP {response.status} {response.reason}: {_quote(_read_some(response))}",
                    response.status,
                )
            kind = response.getheader("Content-Type", "")
            if "text/event-stream" not in kind:
                raw = response.read()
                try:
                    event = json.loads(raw)
                except ValueError:
                    raise RemoteError(
                        f"{self.describe(route)} answered {kind or 'no content type'}, not a stream: {_quote(raw)}"
                    ) from None
                yield _checked(event, raw, self.describe(route))
                return
            for data in _sse_data(response):
                if data == "[DONE]":
                    return
                try:
                    event = json.loads(data)
                except ValueError:
                    raise RemoteError(
                        f"{self.describe(route)} sent an event that is not JSON: {_quote(data.encode())}"
                    ) from None
                yield _checked(event, data.encode(), self.describe(route))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if watch.reason == "cancelled":
                raise Cancelled("cancelled while the remote engine was generating") from None
            if watch.reason == "timeout" or isinstance(exc, (socket.timeout, TimeoutError)):
                raise RemoteError(
                    f"{self.describe(route)} did not finish within {self.timeout_s:g} s (remote_timeout_ms)"
                ) from None
            raise RemoteError(
                f"{self.describe(route)}: the stream broke off ({_describe_oserror(exc)})"
            ) from None
        finally:
            watch.stop()
            if connection is not None:
                connection.close()
        # The stream ended without [DONE]: a shut-down socket reads as the end of the stream.
        if watch.reason == "cancelled":
            raise Cancelled("cancelled while the remote engine was generating")
        if watch.reason == "timeout":
            raise RemoteError(
                f"{self.describe(route)} did not finish within {self.timeout_s:g} s (remote_timeout_ms)"
            )

    def close(self) -> None:
        if self._idle is not None:
            self._idle.close()
            self._idle = None


def _sse_data(response: http.client.HTTPResponse) -> Iterator[str]:
    """The ``data:`` payloads of a server-sent-event stream, one per event.

    A stream that ends without a blank line after its last event still
    yields that event; comments (``:`` lines, keep-alive pings) are skipped.
    """
    lines: list[str] = []
    while True:
        raw = response.readline()
        if not raw:
            if lines:
                yield "\n".join(lines)
            return
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if lines:
                yield "\n".join(lines)
                lines = []
        elif line.startswith("data:"):
            lines.append(line[5:].lstrip(" "))
        elif line.startswith(":") or line.split(":", 1)[0] in ("event", "id", "retry"):
            continue
        else:
            raise ValueError(f"not a server-sent event line: {line[:80]!r}")


def _checked(event: Any, raw: bytes, where: str) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise RemoteError(f"{where} sent JSON that is not an object: {_quote(raw)}")
    if "error" in event:
        raise RemoteError(
            f"{where} reported an error: {_quote(json.dumps(event['error']).encode())}"
        )
    return event


def _read_some(response: http.client.HTTPResponse) -> bytes:
    try:
        return response.read(QUOTE_BYTES * 4)
    except (OSError, http.client.HTTPException):
        return b""


def _quote(raw: bytes) -> str:
    text = raw[:QUOTE_BYTES].decode("utf-8", errors="replace").strip()
    return repr(text + ("..." if len(raw) > QUOTE_BYTES else "")) if text else "(empty)"


def _describe_oserror(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "cannot connect (connection refused: is the server running?)"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror})"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, ValueError):
        return f"not an HTTP/SSE answer ({exc})"
    return f"{type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"


def _sleep(seconds: float, cancelled: Callable[[], bool]) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if cancelled():
            raise Cancelled("cancelled while waiting to retry the remote engine")
        time.sleep(min(left, WATCH_INTERVAL_S))
