"""``smalllsp serve | complete | models | bench | eval | settings``: one module per command."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from smalllsp import __version__
from smalllsp.cli import bench, complete, evaluate, models, serve
from smalllsp.config import settings_json, settings_table


def _settings(args: argparse.Namespace) -> int:
    print(json.dumps(settings_json(), indent=2) if args.json else settings_table())
    return 0


def _add_settings(commands: Any) -> None:
    settings = commands.add_parser("settings", help="print the configuration table")
    settings.add_argument(
        "--json",
        action="store_true",
        help="print every setting as JSON (name, type, default, doc, choices)",
    )
    settings.set_defaults(run=_settings)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="smalllsp", description="Local-first code completion over LSP."
    )
    top.add_argument("--version", action="version", version=f"smalllsp {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    for add in (serve.add, complete.add, models.add, bench.add, evaluate.add, _add_settings):
        add(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
