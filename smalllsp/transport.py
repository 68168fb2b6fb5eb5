"""``smalllsp serve --tcp``: an asyncio server that hands one connection to the protocol.

pygls 2.1.1's ``start_tcp`` gives every new connection the one shared
protocol (the newest connection takes the writer, so client A's answers go to
client B), ends the server when any connection closes (a port scan stops it),
and reads ``Content-Length`` bodies of any size. This module replaces it:

* **One client per server process.** A connection becomes *the session* only
  once its first message, an ``initialize`` request (with the token, when one
  is required), has arrived complete. Connections that close or send nothing
  useful before that (a port scan, a probe) are closed and logged; the server
  goes on listening. While a session is active every other connection is
  refused at once with a JSON-RPC error. When the session ends, the server
  ends, as a stdio server does when its editor goes.
* **Bounded frames.** Headers are at most :data:`MAX_HEADER_BYTES`, a body at
  most :data:`MAX_BODY_BYTES`; a frame that has begun must be complete within
  the read timeout. A frame that breaks a bound is answered with an error and
  the connection closed (its stream cannot be trusted to resynchronise).
* **A token** (``--token``, ``--token-file``; always on beyond loopback) is
  checked in the first message: ``initializationOptions.token``, compared in
  constant time, then removed before the settings are read.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import socket
import threading
from typing import Any

from pygls.exceptions import JsonRpcException

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 8 * 1024  # every header line of one frame together
MAX_BODY_BYTES = 64 * 1024 * 1024  # a 10 MB document, JSON-escaped, fits with room to spare
MAX_PENDING = 32  # connections that have not sent their first message yet
DEFAULT_TIMEOUT_S = 10.0  # first message after connecting; the rest of a frame once it has begun
TOKEN_OPTION = "token"  # initializationOptions.token
INVALID_REQUEST = -32600


class FrameError(Exception):
    """A frame that breaks a bound, or a header that cannot be read: the connection is closed."""


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback address (``localhost`` is resolved)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos
    )


def parse_headers(block: bytes, max_body: int = MAX_BODY_BYTES) -> int:
    """The body length a frame's header block (without its final blank line) announces; raises FrameError."""
    length = None
    for line in block.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon:
            raise FrameError("a header line without a colon")
        if name.strip().lower() == b"content-length":
            value = value.strip()
            if not value.isdigit() or len(value) > 20:
                raise FrameError("Content-Length is not a number")
            length = int(value)
    if length is None:
        raise FrameError("a frame without Content-Length")
    if length > max_body:
        raise FrameError(f"Content-Length {length} is over the limit of {max_body} bytes")
    return length


async def read_frame(
    reader: asyncio.StreamReader, timeout_s: float, max_body: int = MAX_BODY_BYTES
) -> bytes | None:
    """One frame's body; None at a clean end of the stream between frames.

    Waits for a frame to begin for as long as it takes (an editor may be idle
    for hours); once it has begun, headers and body must arrive within
    ``timeout_s``. The reader's limit bounds the header block.
    """
    first = await reader.read(1)
    if not first:
        return None
    try:
        async with asyncio.timeout(timeout_s):
            try:
                rest = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                raise FrameError(f"headers over {MAX_HEADER_BYTES} bytes") from None
            length = parse_headers((first + rest)[:-4], max_body)
            return await reader.readexactly(length)
    except TimeoutError:
        raise FrameError(f"a frame not complete within {timeout_s:g} s") from None
    except asyncio.IncompleteReadError:
        raise FrameError("the connection closed in the middle of a frame") from None


def error_frame(message: str, msg_id: Any = None) -> bytes:
    body = json.dumps(
        {"jsonrpc": "2.0", "id": msg_id, "error": {"code": INVALID_REQUEST, "message": message}}
    ).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def check_first_message(body: bytes, token: str | None) -> tuple[dict[str, Any], str | None]:
    """The first message, with the token removed; and why it is refused (None: accepted).

    It must be an ``initialize`` request; with a token configured, its
    ``initializationOptions.token`` (or ``initializationOptions.smalllsp.token``) must match.
    """
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return {}, "the first message must be an initialize request (it is not JSON)"
    if (
        not isinstance(message, dict)
        or message.get("method") != "initialize"
        or "id" not in message
    ):
        return message if isinstance(
            message, dict
        ) else {}, "the first message must be an initialize request"
    params = message.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    given = None
    for holder in (options, options.get("smalllsp") if isinstance(options, dict) else None):
        if isinstance(holder, dict) and TOKEN_OPTION in holder:
            given = holder.pop(TOKEN_OPTION)
    if token is not None:
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), token.encode()):
            return message, "this server needs its token in initializationOptions.token"
    return message, None


class _Writer:
    """What the protocol writes through: the session's socket.

    pygls writes from whatever thread sends a message (a future's callback on
    the model worker, say). An asyncio transport is not thread-safe: a write
    from another thread that the socket cannot take at once is left in the
    transport's buffer with the event loop never woken, and the client waits
    for ever. So a write off the loop's thread is handed to the loop.
    """

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()

    def write(self, data: bytes) -> None:
        if threading.get_ident() != self._thread:
            try:
                self._loop.call_soon_threadsafe(self._write, data)
            except RuntimeError:  # the loop is closed: the session is over
                pass
            return
        self._write(data)

    def _write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    def close(self) -> None:
        self._writer.close()


class TcpServer:
    """Listens on ``host:port`` and serves one session; :meth:`run` returns when it ends."""

    def __init__(
        self,
        server: Any,
        host: str,
        port: int,
        *,
        token: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.server = server
        self.host, self.port = host, port
        self.token = token
        self.timeout_s = timeout_s
        self.max_body = max_body
        self._session: asyncio.StreamWriter | None = None
        self._pending: set[asyncio.StreamWriter] = set()
        self._done: asyncio.Event | None = None
        self.refused = 0  # connections refused or dropped (for the log and tests)

    def serve(self) -> None:
        """Blocking: run the event loop until the session ends."""
        try:
            asyncio.run(self.run())
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.server.shutdown()

    async def run(self) -> None:
        self._done = asyncio.Event()
        self.server._stop_event = threading.Event()
        listener = await asyncio.start_server(
            self._connected, self.host, self.port, limit=MAX_HEADER_BYTES
        )
        addresses = ", ".join(str(s.getsockname()[:2]) for s in listener.sockets)
        log.info(
            "listening on %s for one client%s", addresses, " (token required)" if self.token else ""
        )
        async with listener:
            await self._done.wait()
        for writer in list(self._pending):
            writer.close()

    def _refuse(self, writer: asyncio.StreamWriter, why: str, msg_id: Any = None) -> None:
        self.refused += 1
        peer = writer.get_extra_info("peername")
        log.warning("refused a TCP connection from %s: %s", peer, why)
        try:
            writer.write(error_frame(f"smalllsp: {why}", msg_id))
        except (OSError, RuntimeError):
            pass
        writer.close()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._session is not None:
            self._refuse(writer, "another client is connected (one client per server)")
            return
        if len(self._pending) >= MAX_PENDING:
            self._refuse(
                writer, f"{MAX_PENDING} connections are already waiting to start a session"
            )
            return
        self._pending.add(writer)
        peer = writer.get_extra_info("peername")
        try:
            try:
                body = await asyncio.wait_for(
                    read_frame(reader, self.timeout_s, self.max_body), self.timeout_s
                )
            except TimeoutError:
                self._refuse(writer, f"no complete first message within {self.timeout_s:g} s")
                return
            except FrameError as problem:
                self._refuse(writer, str(problem))
                return
            except (ConnectionError, OSError) as problem:
                log.info(
                    "a TCP connection from %s failed before its first message: %s", peer, problem
                )
                writer.close()
                return
            if body is None:
                self.refused += 1
                log.info("a TCP connection from %s closed before its first message", peer)
                writer.close()
                return
            message, why = check_first_message(body, self.token)
            if why is not None:
                self._refuse(
                    writer,
                    why,
                    message.get("id") if isinstance(message.get("id"), (int, str)) else None,
                )
                return
            if self._session is not None:
                self._refuse(
                    writer, "another client is connected (one client per server)", message.get("id")
                )
                return
            self._session = writer
        finally:
            self._pending.discard(writer)
        for other in list(self._pending):  # they lost the race: only one session per process
            other.close()
        log.info("session started with %s", peer)
        try:
            await self._serve_session(reader, writer, message)
        finally:
            log.info("session with %s ended", peer)
            writer.close()
            assert self._done is not None
            self._done.set()

    async def _serve_session(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first: dict[str, Any]
    ) -> None:
        protocol = self.server.protocol
        protocol.set_writer(_Writer(writer))
        if not self._handle(protocol, first):
            return
        while True:
            try:
                body = await read_frame(reader, self.timeout_s, self.max_body)
            except FrameError as problem:
                log.error("closing the session: %s", problem)
                try:
                    writer.write(error_frame(f"smalllsp: {problem}; closing the connection"))
                    await writer.drain()
                except (OSError, RuntimeError):
                    pass
                return
            except (ConnectionError, OSError) as problem:
                log.info("the client's connection failed: %s", problem)
                return
            if body is None:
                return
            try:
                message = json.loads(body, object_hook=protocol.structure_message)
            except (ValueError, RecursionError) as problem:
                self.server.report_server_error(problem, JsonRpcException)
                continue
            if not self._handle(protocol, message):
                return

    def _handle(self, protocol: Any, message: Any) -> bool:
        """Hand one message to the protocol; False once the session must end (``exit``)."""
        try:
            protocol.handle_message(message)
        except SystemExit:  # pygls's exit handler
            return False
        except (
            Exception
        ) as problem:  # the protocol answers what it can; one message never ends the session
            log.exception("could not handle a message")
            self.server.report_server_error(problem, JsonRpcException)
        return True
