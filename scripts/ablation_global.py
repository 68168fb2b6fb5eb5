"""Ablation: exact match of completions with and without the global section.

Each case is a call to a helper defined in another file of a small
workspace, whose right arguments can only be known from its definition
(parameter order, a flag, a unit). The real model completes the line with the
global section off (global_tokens=0) and on (the default); a completion
counts as an exact match when its first line equals the expected one, and as
a correct call when the guard's arity check finds nothing wrong.

    .venv/bin/python scripts/ablation_global.py [--model NAME] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import textwrap
from pathlib import Path

from smalllsp import guard, modelstore, pipeline
from smalllsp.config import Config
from smalllsp.context.global_section import Sources
from smalllsp.context.window import Cursor
from smalllsp.engine.llama import LlamaRuntime
from smalllsp.syntax import symbols
from smalllsp.workspace.index import WorkspaceIndex

FILES = {
    "shapes/build.py": '''
        def make_rectangle(height_mm, width_mm, rotation_deg):
            """A rectangle; note the height comes first."""
            return (height_mm, width_mm, rotation_deg)
        ''',
    "net/session.py": '''
        def open_session(port, host, retries, use_tls):
            """Open a session to host:port (port first, for historical reasons)."""
            return (host, port, retries, use_tls)
        ''',
    "store/orders.py": '''
        def find_orders(customer_id, limit, since_date):
            """The customer's latest orders since a date, at most limit of them."""
            return []


        def archive_order(order_id, reason_code, dry_run):
            """Move an order to the archive."""
            return order_id
        ''',
    "text/render.py": '''
        def render_template(template_name, context, strict_mode):
            """Render a template with a context."""
            return template_name.format(**context)


        def slugify_title(title, max_words, separator):
            """A URL slug for a title."""
            return separator.join(title.lower().split()[:max_words])
        ''',
    "metrics/emit.py": '''
        def emit_metric(metric_name, metric_value, unit_name, tags_map):
            """Record a metric value with its unit and tags."""
            return (metric_name, metric_value, unit_name, tags_map)
        ''',
    "auth/tokens.py": '''
        def issue_token(user_id, scope_list, ttl_seconds):
            """A signed token for a user."""
            return f"{user_id}:{scope_list}:{ttl_seconds}"
        ''',
}

# (document, the line the cursor starts, the expected completed line)
CASES = [
    (
        "from shapes.build import make_rectangle\n\n\ndef door(height_mm, width_mm, rotation_deg):\n    return ",
        "    return make_rectangle(height_mm, width_mm, rotation_deg)",
    ),
    (
        "from net.session import open_session\n\n\ndef connect(host, port, retries, use_tls):\n    return ",
        "    return open_session(port, host, retries, use_tls)",
    ),
    (
        "from store.orders import find_orders\n\n\ndef recent(customer_id, since_date, limit):\n    return ",
        "    return find_orders(customer_id, limit, since_date)",
    ),
    (
        "from store.orders import archive_order\n\n\ndef archive(order_id, dry_run, reason_code):\n    return ",
        "    return archive_order(order_id, reason_code, dry_run)",
    ),
    (
        "from text.render import render_template\n\n\ndef page(context, template_name, strict_mode):\n    return ",
        "    return render_template(template_name, context, strict_mode)",
    ),
    (
        "from text.render import slugify_title\n\n\ndef slug(separator, title, max_words):\n    return ",
        "    return slugify_title(title, max_words, separator)",
    ),
    (
        "from metrics.emit import emit_metric\n\n\ndef record(tags_map, metric_name, unit_name, metric_value):\n    return ",
        "    return emit_metric(metric_name, metric_value, unit_name, tags_map)",
    ),
    (
        "from auth.tokens import issue_token\n\n\ndef login(ttl_seconds, user_id, scope_list):\n    return ",
        "    return issue_token(user_id, scope_list, ttl_seconds)",
    ),
    (
        "from shapes.build import make_rectangle\n\n\ndef panel(rotation_deg, width_mm, height_mm):\n    shape = ",
        "    shape = make_rectangle(height_mm, width_mm, rotation_deg)",
    ),
    (
        "from net.session import open_session\n\n\ndef secure(use_tls, retries, host, port):\n    session = ",
        "    session = open_session(port, host, retries, use_tls)",
    ),
    (
        "from store.orders import find_orders\n\n\ndef latest(limit, customer_id, since_date):\n    orders = ",
        "    orders = find_orders(customer_id, limit, since_date)",
    ),
    (
        "from auth.tokens import issue_token\n\n\ndef refresh(scope_list, ttl_seconds, user_id):\n    token = ",
        "    token = issue_token(user_id, scope_list, ttl_seconds)",
    ),
]


def run(model: str) -> dict:
    path = modelstore.resolve(model)
    runtime = LlamaRuntime(path, Config(model=str(path)))
    results = {"off": [], "on": []}
    with tempfile.TemporaryDirectory(prefix="smalllsp-ablation-") as folder:
        root = Path(folder) / "app"
        for relpath, text in FILES.items():
            (root / relpath).parent.mkdir(parents=True, exist_ok=True)
            (root / relpath).write_text(textwrap.dedent(text).lstrip())
        index = WorkspaceIndex([root])
        index.build()
        for number, (document, expected) in enumerate(CASES):
            doc_path = root / f"case{number}.py"
            doc_path.write_text(document)
            lines = document.split("\n")
            cursor = Cursor(lines, len(lines) - 1, len(lines[-1]))
            outline = symbols.outline("python", document.encode())
            sources = Sources(str(doc_path), doc_path.name, root.name, outline, index)
            for label, global_tokens in (("off", 0), ("on", Config().global_tokens)):
                config = Config(global_tokens=global_tokens, time_budget_ms=60_000, max_lines=1)
                result = pipeline.generate(
                    runtime, config, "python", cursor, lambda: False, sources
                )
                written = (lines[-1] + result.text).split("\n", 1)[0].rstrip()
                verdict = result.best.verdict if result.best else guard.LOCAL_VERDICT
                results[label].append(
                    {
                        "case": number,
                        "expected": expected.strip(),
                        "written": written.strip(),
                        "exact": written == expected,
                        "verdict": verdict.kind,
                        "reasons": list(verdict.reasons),
                    }
                )
    runtime.close()
    summary = {
        label: {
            "exact_match": sum(r["exact"] for r in rows) / len(rows),
            "flagged_cross_file": sum(r["verdict"] == guard.CROSS_FILE for r in rows) / len(rows),
        }
        for label, rows in results.items()
    }
    return {"model": path.name, "cases": len(CASES), "summary": summary, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="", help="GGUF file or catalog name (default: the default model)"
    )
    parser.add_argument("--json", help="also write the full results here")
    args = parser.parse_args()
    report = run(args.model)
    for label in ("off", "on"):
        rows = report["results"][label]
        print(
            f"global section {label}: exact match {report['summary'][label]['exact_match']:.0%}, "
            f"flagged cross-file {report['summary'][label]['flagged_cross_file']:.0%}"
        )
        for row in rows:
            print(f"  {'=' if row['exact'] else 'x'} {row['written']}   [{row['verdict']}]")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
