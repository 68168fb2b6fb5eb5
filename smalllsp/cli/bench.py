"""``smalllsp bench``: the typing trace (and ``--session``) through the real server and its peers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from smalllsp import modelstore
from smalllsp.config import Config


# Where scripts/build-llama-server puts the binary it builds.
DEFAULT_LLAMA_SERVER = (
    Path.home() / ".cache" / "smalllsp" / "llama-server-0.3.36" / "build" / "bin" / "llama-server"
)


def _bench(args: argparse.Namespace) -> int:
    from smalllsp.bench import overhead, report, runs
    from smalllsp.bench.trace import DEFAULT_TRACE

    try:
        if args.session:
            from smalllsp.bench import session, session_report

            peer = Path(args.peer_llama_server) if args.peer_llama_server else DEFAULT_LLAMA_SERVER
            result = session.bench_session(
                modelstore.resolve(args.model or ""),
                peer if peer.is_file() else None,
                session.session_files(args.session_files),
                args.visits,
                read_pause_s=session.READ_PAUSE_S if args.read_pause is None else args.read_pause,
            )
            session_report.write(result, Path(args.json) if args.json else None)
            return 0
        if args.engine == "remote":
            binary = Path(args.llama_server) if args.llama_server else None
            if args.remote_url is None and binary is None:
                binary = DEFAULT_LLAMA_SERVER if DEFAULT_LLAMA_SERVER.is_file() else None
            result = runs.bench_remote(
                args.model or "",
                Path(args.trace) if args.trace else DEFAULT_TRACE,
                args.n,
                args.type_from,
                url=args.remote_url,
                binary=binary,
                clients=args.clients,
                api=args.remote_api,
            )
        elif args.overhead_only:
            path = modelstore.resolve(args.model or "")
            result = {
                "model": path.name,
                "overhead": overhead.overhead(path, Config(model=str(path))),
            }
        else:
            result = runs.bench(
                args.model or "",
                Path(args.trace) if args.trace else DEFAULT_TRACE,
                args.n,
                args.type_from,
                Path(args.peer_llama_server) if args.peer_llama_server else None,
            )
    except (modelstore.StoreError, ValueError, OSError, RuntimeError) as problem:
        print(f"smalllsp bench: {problem}", file=sys.stderr)
        return 1
    report.write(result, Path(args.json) if args.json else None)
    return 0


def add(commands: Any) -> None:
    """Register the command's parser."""
    bench = commands.add_parser(
        "bench", help="replay a typing trace through the server and the engine"
    )
    bench.add_argument("--model", help="GGUF file or catalog name (default: the default model)")
    bench.add_argument(
        "--trace",
        help="source file to type (default: the packaged typing trace, smalllsp/bench/traces/typing_trace.py)",
    )
    bench.add_argument("--n", type=int, default=120, help="keystrokes to replay")
    bench.add_argument(
        "--type-from",
        type=int,
        help="0-based line from which the file is typed (default: two thirds in)",
    )
    bench.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    bench.add_argument(
        "--session",
        action="store_true",
        help="an editing session over several files (jumps, retyping, accepts): smalllsp over LSP against llama-server with llama.vim's requests (the binary of --peer-llama-server, or scripts/build-llama-server's)",
    )
    bench.add_argument(
        "--session-files",
        metavar="A,B,...",
        help="with --session: the files to visit (default: argparse.py, textwrap.py and csv.py of the standard library)",
    )
    bench.add_argument("--visits", type=int, default=6, help="with --session: how many visits")
    bench.add_argument(
        "--read-pause",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --session: how long the user looks at a suggestion before pressing Tab (default 0.4: a visual reaction and a key press)",
    )
    bench.add_argument(
        "--peer-llama-server",
        metavar="PATH",
        help="also replay the trace against this llama-server binary with llama.vim's /infill requests (scripts/build-llama-server builds one)",
    )
    bench.add_argument(
        "--engine",
        choices=("local", "remote"),
        default="local",
        help="remote: replay the trace in-process over LSP, then with engine = remote (one client, then --clients at once)",
    )
    bench.add_argument(
        "--remote-url",
        metavar="URL",
        help="with --engine remote: an already running llama-server or vLLM (default: start a llama-server on loopback)",
    )
    bench.add_argument(
        "--remote-api",
        choices=("openai", "llama-server"),
        default="openai",
        help="with --engine remote: the API to use",
    )
    bench.add_argument(
        "--llama-server",
        metavar="PATH",
        help=f"with --engine remote: the llama-server binary to start (default: {DEFAULT_LLAMA_SERVER}, which scripts/build-llama-server builds)",
    )
    bench.add_argument(
        "--clients",
        type=int,
        default=1,
        help="with --engine remote: also replay this many typing clients at once against the same server",
    )
    bench.add_argument(
        "--overhead-only",
        action="store_true",
        help="only measure the scope detector's and the cross-file guard's cost per request on a 5,000-line and a 200,000-line file",
    )
    bench.set_defaults(run=_bench)
