#!/usr/bin/env python3
"""A typing storm against the real server and model: growth, latency, answers.

Types code into a long Python file at ``--rate`` keystrokes a second; after
every keystroke a didChange and an inline-completion request for the new
cursor, as an editor does, so that almost every request is superseded by the
next one (and a share of them is also cancelled with ``$/cancelRequest``).
After half of the lines it pauses, as a person does, until the suggestion
for the last keystroke arrives (at most ``--max-pause`` seconds).
It samples the server's RSS and ``smalllsp/status`` (pending jobs, futures
pygls holds) all along and prints, at the end, as JSON:

* RSS after the warm-up and at the end (growth must stay within 5 %),
* p50/p99 latency of the requests that completed,
* how many requests were answered with a result, as cancelled, or otherwise,
  and whether every request was answered exactly once,
* pending jobs and protocol futures at the end (both must be 0).

    .venv/bin/python scripts/typing_storm.py --minutes 3 --json /tmp/storm.json

Exit status 1 when one of the checks above fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.rawlsp import RawServer


# ~2,000 tokens of code above the cursor: every prompt fills the window from
# the first keystroke, so the KV cache is as large at the start as at the end.
def head(functions: int) -> str:
    return "".join(
        f"def transform_{i}(values, factor={i}):\n"
        f'    """Scale every value by {i} and drop the negative ones."""\n'
        f"    return [v * factor for v in values if v >= 0]\n\n\n"
        for i in range(functions)
    )


HEAD = head(60)
TAIL = '\n\nif __name__ == "__main__":\n    print(transform_1([1, 2, 3]))\n'
TYPED = [
    "def moving_average(values, window):",
    "    total = sum(values[:window])",
    "    averages = [total / window]",
    "    for index in range(window, len(values)):",
    "        total += values[index] - values[index - window]",
    "        averages.append(total / window)",
    "    return averages",
    "",
]
URI = "file:///tmp/smalllsp-storm/storm.py"


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


class Storm:
    def __init__(
        self,
        seconds: float,
        rate: float,
        warmup_s: float,
        cancel_share: float,
        seed: int,
        settings: dict | None = None,
        head_text: str = HEAD,
        max_pause_s: float = 60.0,
    ) -> None:
        self.head, self.max_pause_s = head_text, max_pause_s
        self.seconds, self.rate, self.warmup_s, self.cancel_share = (
            seconds,
            rate,
            warmup_s,
            cancel_share,
        )
        self.random = random.Random(seed)
        self.server = RawServer(log_level="WARNING")
        self.settings = {"workspace_index": False, **(settings or {})}
        self.sent: dict[str, float] = {}  # request id -> when sent
        self.outcomes: dict[
            str, tuple[str, float]
        ] = {}  # request id -> (result|cancelled|error:code, latency s)
        self.samples: list[dict] = []
        self._collector: threading.Thread | None = None
        self._done = threading.Event()

    # -- answers are collected on a thread of their own, in the order they come ------

    def _collect(self) -> None:
        while not self._done.is_set() or len(self.outcomes) < len(self.sent):
            pending = [msg_id for msg_id in list(self.sent) if msg_id not in self.outcomes]
            if not pending:
                time.sleep(0.01)
                continue
            for msg_id in pending:
                try:
                    answer = self.server.answer(msg_id, timeout=0.001)
                except AssertionError:
                    if self._done.is_set() and time.monotonic() - self.sent[msg_id] > 300:
                        self.outcomes[msg_id] = ("lost", float("nan"))
                    continue
                latency = time.monotonic() - self.sent[msg_id]
                if "result" in answer:
                    self.outcomes[msg_id] = ("result", latency)
                elif answer["error"]["code"] == -32800:
                    self.outcomes[msg_id] = ("cancelled", latency)
                else:
                    self.outcomes[msg_id] = (
                        f"error:{answer['error']['code']}:{answer['error']['message'][:80]}",
                        latency,
                    )
            time.sleep(0.005)

    def _wait_for(self, msg_id: str, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        while msg_id not in self.outcomes and time.monotonic() < deadline:
            time.sleep(0.01)

    def _sample(self, label: str) -> None:
        status = self.server.status(timeout=120)
        self.samples.append(
            {
                "t": round(time.monotonic() - self.started, 1),
                "label": label,
                "rss_mib": round(rss_bytes(self.server.process.pid) / 2**20, 1),
                "pending_jobs": status["pending_jobs"],
                "protocol_futures": status["protocol_futures"],
            }
        )

    def run(self) -> dict:
        server = self.server
        assert "result" in server.initialize(self.settings)
        server.wait_loaded()
        server.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": URI,
                    "languageId": "python",
                    "version": 1,
                    "text": self.head + TAIL,
                }
            },
        )
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()
        self.started = time.monotonic()
        version, n, line_no, typed_lines = 1, 0, self.head.count("\n"), 0
        column = 0
        next_sample = self.started
        rss_after_warmup = None
        interval = 1 / self.rate
        next_key = time.monotonic()
        chars = iter(())
        while time.monotonic() - self.started < self.seconds:
            now = time.monotonic()
            if now >= next_sample:
                self._sample("warm-up" if now - self.started < self.warmup_s else "storm")
                if rss_after_warmup is None and now - self.started >= self.warmup_s:
                    rss_after_warmup = self.samples[-1]["rss_mib"]
                next_sample = now + 5
            char = next(chars, None)
            if char is None:  # the line is typed: a line break, or start the function again
                if typed_lines == len(TYPED):
                    version += 1  # undo everything typed: the document stays the same size
                    server.notify(
                        "textDocument/didChange",
                        {
                            "textDocument": {"uri": URI, "version": version},
                            "contentChanges": [{"text": self.head + TAIL}],
                        },
                    )
                    line_no, typed_lines = self.head.count("\n"), 0
                elif typed_lines:
                    version += 1
                    position = {"line": line_no, "character": column}
                    server.notify(
                        "textDocument/didChange",
                        {
                            "textDocument": {"uri": URI, "version": version},
                            "contentChanges": [
                                {"range": {"start": position, "end": position}, "text": "\n"}
                            ],
                        },
                    )
                    line_no += 1
                chars = iter(TYPED[typed_lines])
                typed_lines += 1
                column = 0
                if n and self.random.random() < 0.5:  # a pause: the user waits for the suggestion
                    self._wait_for(f"storm-{n}", self.max_pause_s)
                    next_key = time.monotonic() + self.random.uniform(0.2, 1.0)
                continue
            time.sleep(max(0.0, next_key - time.monotonic()))
            next_key = max(next_key + interval, time.monotonic())
            version += 1
            position = {"line": line_no, "character": column}
            server.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": URI, "version": version},
                    "contentChanges": [
                        {"range": {"start": position, "end": position}, "text": char}
                    ],
                },
            )
            column += 1
            n += 1
            msg_id = f"storm-{n}"
            self.sent[msg_id] = time.monotonic()
            server.send(
                {
                    "id": msg_id,
                    "method": "textDocument/inlineCompletion",
                    "params": {
                        "textDocument": {"uri": URI},
                        "position": {"line": line_no, "character": column},
                        "context": {"triggerKind": 2},
                    },
                }
            )
            if (
                n > 1 and self.random.random() < self.cancel_share
            ):  # the editor cancels the one before
                server.notify("$/cancelRequest", {"id": f"storm-{n - 1}"})
        typing_ended = time.monotonic()
        self._done.set()
        self._collector.join(timeout=360)
        drained_s = time.monotonic() - typing_ended
        time.sleep(0.5)
        self._sample("end")
        end = self.samples[-1]
        result = self._report(rss_after_warmup, end, drained_s)
        code = server.close()
        result["exit_code"] = code
        return result

    def _report(self, rss_after_warmup: float | None, end: dict, drained_s: float) -> dict:
        kinds: dict[str, int] = {}
        for kind, _latency in self.outcomes.values():
            kind = kind if not kind.startswith("error") else kind
            kinds[kind] = kinds.get(kind, 0) + 1
        completed = [latency for kind, latency in self.outcomes.values() if kind == "result"]
        cancelled = [latency for kind, latency in self.outcomes.values() if kind == "cancelled"]
        warm = [s for s in self.samples if s["label"] != "warm-up"]
        growth = (
            None
            if rss_after_warmup is None
            else (end["rss_mib"] - rss_after_warmup) / rss_after_warmup
        )
        return {
            "seconds": self.seconds,
            "rate_per_s": self.rate,
            "requests": len(self.sent),
            "answered": len(self.outcomes),
            "unanswered": len(self.sent) - len(self.outcomes),
            "outcomes": kinds,
            "completed_p50_ms": None
            if not completed
            else round(statistics.median(completed) * 1000),
            "completed_p99_ms": None if not completed else round(percentile(completed, 99) * 1000),
            "completed_max_ms": None if not completed else round(max(completed) * 1000),
            "cancelled_answer_p99_ms": None
            if not cancelled
            else round(percentile(cancelled, 99) * 1000),
            "rss_after_warmup_mib": rss_after_warmup,
            "rss_end_mib": end["rss_mib"],
            "rss_growth_after_warmup": None if growth is None else round(growth, 4),
            "rss_max_after_warmup_mib": max((s["rss_mib"] for s in warm), default=None),
            "pending_jobs_max": max(s["pending_jobs"] for s in self.samples),
            "protocol_futures_max": max(s["protocol_futures"] for s in self.samples),
            "pending_jobs_end": end["pending_jobs"],
            "protocol_futures_end": end["protocol_futures"],
            "drain_s": round(drained_s, 1),
            "load_average": os.getloadavg(),
            "samples": self.samples,
        }


def failures(report: dict, max_growth: float = 0.05) -> list[str]:
    """The checks a storm must pass."""
    problems = []
    if report["unanswered"] or report["answered"] != report["requests"]:
        problems.append(f"{report['unanswered']} requests never answered")
    bad = {kind: n for kind, n in report["outcomes"].items() if kind not in ("result", "cancelled")}
    if bad:
        problems.append(f"answers other than a result or RequestCancelled: {bad}")
    if report["rss_growth_after_warmup"] is None or report["rss_growth_after_warmup"] > max_growth:
        problems.append(
            f"RSS grew {report['rss_growth_after_warmup']} after the warm-up (limit {max_growth})"
        )
    if report["pending_jobs_end"] or report["protocol_futures_end"]:
        problems.append(
            f"left behind: {report['pending_jobs_end']} pending jobs, {report['protocol_futures_end']} protocol futures"
        )
    if report["pending_jobs_max"] > 2:
        problems.append(
            f"up to {report['pending_jobs_max']} jobs waited at once (one per document and a warm-up at most)"
        )
    if not report["outcomes"].get("result"):
        problems.append("no request completed")
    if report["exit_code"] != 0:
        problems.append(f"the server exited with {report['exit_code']}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument(
        "--rate", type=float, default=20.0, help="keystrokes (and requests) a second"
    )
    parser.add_argument(
        "--warmup", type=float, default=30.0, help="seconds before the RSS baseline is taken"
    )
    parser.add_argument(
        "--cancel-share",
        type=float,
        default=0.3,
        help="share of requests also cancelled with $/cancelRequest",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--threads", type=int, default=0, help="the n_threads setting (0: one per core)"
    )
    parser.add_argument(
        "--max-pause", type=float, default=60.0, help="longest wait for a suggestion at a pause"
    )
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args()
    storm = Storm(
        args.minutes * 60,
        args.rate,
        args.warmup,
        args.cancel_share,
        args.seed,
        {"n_threads": args.threads},
        max_pause_s=args.max_pause,
    )
    try:
        report = storm.run()
    finally:
        storm.server.kill()
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    problems = failures(report)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
