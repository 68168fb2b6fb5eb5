"""``smalllsp complete``: one file's completion at a position, through the real server."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from smalllsp.cli.arguments import position


def _complete(args: argparse.Namespace) -> int:
    from smalllsp.lspclient import complete_file

    path = Path(args.file)
    if not path.is_file():
        print(f"smalllsp: no such file: {path}", file=sys.stderr)
        return 2
    settings = {"model": args.model} if args.model else {}
    run = asyncio.run(
        complete_file(path, args.line, args.character, repeat=args.repeat, settings=settings)
    )
    for message in run.messages:
        print(f"[server] {message}")
    if args.verbose:
        sys.stderr.write(run.stderr)
    if args.json:
        print(
            json.dumps(
                {
                    "suggestions": run.suggestions,
                    "latencies_ms": run.latencies_ms,
                    "costs": run.costs,
                    "status": run.status,
                },
                indent=2,
            )
        )
    else:
        print(f"--- suggestion at {path}:{args.line}:{args.character} ---")
        print(run.suggestions[0] if run.suggestions[0] else "(no suggestion)")
        print("---")
        status = run.status
        load = status.get("load_seconds")
        print(
            f"model: {status.get('model')} on {status.get('device')}, loaded in {load:.2f} s"
            if load
            else f"model: {status.get('state')} ({status.get('error')})"
        )
        for index, (ms, cost) in enumerate(zip(run.latencies_ms, run.costs)):
            label = "first completion" if index == 0 else f"repeat {index}"
            print(f"{label}: {ms:.0f} ms, {_describe(cost)}")
    return 0 if run.suggestions and run.suggestions[0] else 1


def _describe(cost: dict) -> str:
    """One request's cost, as the server reported it."""
    if cost.get("source") == "cache":
        return "answered from the suggestion cache"
    if cost.get("source") != "model":
        return "no model call"
    return (
        f"{cost['n_prompt']} prompt tokens ({cost['n_reused']} reused from the KV cache, "
        f"{cost['n_evaluated']} evaluated), {cost['n_generated']} generated"
    )


def add(commands: Any) -> None:
    """Register the command's parser."""
    complete = commands.add_parser(
        "complete", help="ask a server for a completion, as an editor would"
    )
    complete.add_argument("file")
    complete.add_argument(
        "--line", type=position, required=True, help="0-based line (LSP position)"
    )
    complete.add_argument(
        "--character", type=position, required=True, help="0-based UTF-16 column (LSP position)"
    )
    complete.add_argument(
        "--repeat", type=int, default=1, help="ask this many times (the first is cold)"
    )
    complete.add_argument("--model", help="GGUF file or catalog name")
    complete.add_argument("--json", action="store_true", help="print JSON")
    complete.add_argument("--verbose", action="store_true", help="print the server's log")
    complete.set_defaults(run=_complete)
