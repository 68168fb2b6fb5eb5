"""``smalllsp serve``: the language server over stdio or TCP, and the editor's process watch."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Any

from smalllsp.cli.arguments import position, truthy
from smalllsp.config import from_environment


def _serve(args: argparse.Namespace) -> int:
    from smalllsp import logsetup
    from smalllsp.server import create_server

    for transport in ("node_ipc", "pipe", "socket"):
        if getattr(args, f"refused_{transport}", None) is not None:
            flag = "--" + transport.replace("_", "-")
            print(
                f"smalllsp: {flag} is not supported: start the server over stdio (the default, or --stdio) or --tcp HOST:PORT",
                file=sys.stderr,
            )
            return 2
    config, problems = from_environment()
    overrides = {
        k: v
        for k, v in (
            ("model", args.model),
            ("log_level", args.log_level and args.log_level.upper()),
        )
        if v is not None
    }
    config, more = config.merged(overrides)
    client_log = logsetup.configure(config.log_output)
    logsetup.set_level(config.log_level)
    for problem in problems + more:
        logging.getLogger("smalllsp").warning("%s", problem)
    allow_remote_settings = args.allow_remote_settings or truthy(
        os.environ.get("SMALLLSP_ALLOW_REMOTE_SETTINGS", "")
    )
    server = create_server(config, client_log, allow_remote_settings=allow_remote_settings)
    if args.client_process_id:
        _exit_with_client(args.client_process_id)
    if args.tcp:
        return _serve_tcp(args, server)
    if args.token or args.token_file or args.allow_non_loopback:
        print(
            "smalllsp: --token, --token-file and --allow-non-loopback go with --tcp HOST:PORT",
            file=sys.stderr,
        )
        return 2
    server.start_io()
    return server.protocol.exit_code


def _serve_tcp(args: argparse.Namespace, server) -> int:
    """One client per process, bounded frames; beyond loopback only with --allow-non-loopback and a token."""
    import secrets

    from smalllsp import safeio, transport

    host, _, port = args.tcp.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        print(f"smalllsp: --tcp wants HOST:PORT, got {args.tcp!r}", file=sys.stderr)
        return 2
    loopback = transport.is_loopback(host)
    if not loopback and not args.allow_non_loopback:
        print(
            f"smalllsp: {host} is not a loopback address: anyone who can reach it could drive the server; "
            "add --allow-non-loopback (a token is then required) or listen on 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    token = None
    if args.token_file:
        try:
            token = safeio.read_secret_file(args.token_file, "--token-file")
        except safeio.SecretFileError as problem:
            print(f"smalllsp: {problem}", file=sys.stderr)
            return 2
    elif args.token or not loopback:
        token = secrets.token_urlsafe(24)
        # The user's own copy of the token, on the terminal that started the server.
        print(
            f"smalllsp: token for this server (send it as initializationOptions.token): {token}",
            file=sys.stderr,
            flush=True,
        )
    if not loopback:
        logging.getLogger("smalllsp").warning(
            "listening beyond loopback on %s: only a client with the token can start a session",
            host,
        )
    transport.TcpServer(
        server, host.strip("[]"), int(port), token=token, timeout_s=args.tcp_timeout
    ).serve()
    return server.protocol.exit_code


def _exit_with_client(pid: int, interval_s: float = 2.0, grace_s: float = 5.0) -> None:
    """Stop the server once the editor's process is gone (``--clientProcessId``),
    even where its end of the pipe was inherited by a child and never closes."""
    import signal
    import threading

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                logging.getLogger("smalllsp").warning(
                    "the client process %d is gone: stopping", pid
                )
                os.kill(os.getpid(), signal.SIGINT)  # a real signal wakes the event loop's select()
                time.sleep(
                    grace_s
                )  # the server stops its model and index; pygls then waits for the stdin reader
                os._exit(1)
            except PermissionError:  # alive, owned by someone else
                continue

    threading.Thread(target=watch, name="client-process-watch", daemon=True).start()


def add(commands: Any) -> None:
    """Register the command's parser."""
    serve = commands.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        help="listen on TCP instead of stdio: one client per server process, loopback only unless --allow-non-loopback",
    )
    serve.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="with --tcp: allow an address other than loopback (a token is then always required)",
    )
    serve.add_argument(
        "--token",
        action="store_true",
        help="with --tcp: require a token, generated and printed on stderr at start (always on beyond loopback)",
    )
    serve.add_argument(
        "--token-file",
        metavar="PATH",
        help="with --tcp: require the token held in PATH (one line, at most 4 KiB)",
    )
    serve.add_argument(
        "--tcp-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="with --tcp: seconds for a connection's first message, and for the rest of a frame once it has begun (default 10)",
    )
    serve.add_argument(
        "--allow-remote-settings",
        action="store_true",
        help="accept changes of the settings that move data off the machine or read files (engine, model, remote_*, private_files) by workspace/didChangeConfiguration (also SMALLLSP_ALLOW_REMOTE_SETTINGS=1)",
    )
    serve.add_argument("--model", help="GGUF file or catalog name (default: the default model)")
    serve.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR")
    # The flags LSP clients append on their own: vscode-languageclient adds
    # --stdio for TransportKind.stdio (and --clientProcessId=PID for some
    # transports); other clients pass them by convention.
    serve.add_argument(
        "--stdio",
        action="store_true",
        help="talk over stdin/stdout (the default; accepted because LSP clients append it)",
    )
    serve.add_argument(
        "--clientProcessId",
        dest="client_process_id",
        type=position,
        metavar="PID",
        help="the editor's process id: the server exits when that process is gone",
    )
    for refused in ("--node-ipc", "--pipe", "--socket"):
        serve.add_argument(
            refused,
            nargs="?",
            const="",
            dest=f"refused_{refused[2:].replace('-', '_')}",
            help=argparse.SUPPRESS,
        )
    serve.set_defaults(run=_serve)
