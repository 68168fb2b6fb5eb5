"""Which smalllsp files one ``textDocument/inlineCompletion`` runs code in, with the real model.

Prints each file with its number of calls, for the README's "How a
completion flows" (``tests/e2e/test_request_path.py`` checks that the README
names every one). Default: a local call in a small document; ``--file`` and
``--marker`` trace another place (the cursor goes after the marker's last
occurrence).

    .venv/bin/python scripts/trace_request_files.py [--file some.py --marker 'text before the cursor']
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smalllsp.engine.loader import open_runtime
from tests.support.request_path import AREA, AREA_MARKER, trace_one_request


async def main(path: Path, text: str, marker: str) -> None:
    tracer, answer = await trace_one_request(open_runtime, path, text, marker)
    print(f"answer: {answer!r:.300}")
    print(f"{len(tracer.calls)} files ran code in one request (the loop and the engine's worker):")
    for name, count in sorted(tracer.calls.items()):
        print(f"  {name:40} {count:7} calls")
    if tracer.background:
        print(f"and on background threads meanwhile: {', '.join(sorted(tracer.background))}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--file", type=Path, help="a Python file (default: a small example)")
    parser.add_argument("--marker", default=AREA_MARKER, help="the text just before the cursor")
    args = parser.parse_args()
    path = (args.file or Path("/tmp/smalllsp-trace/area.py")).resolve()
    text = args.file.read_text() if args.file else AREA
    asyncio.run(main(path, text, args.marker if args.file else AREA_MARKER))
