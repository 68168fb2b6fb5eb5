"""`smalllsp bench` end to end with the real model (a short trace)."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_bench_reports_both_passes(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smalllsp",
            "bench",
            "--n",
            "6",
            "--type-from",
            "84",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "LSP end to end" in result.stdout and "engine direct" in result.stdout
    report = json.loads(out.read_text())
    assert report["keystrokes"] == 6
    for name in ("lsp", "direct"):
        run = report[name]
        assert run["requests"] == 6 and run["model_calls"] >= 1
        assert run["latency_ms"]["p50"] is not None and run["peak_rss_mib"] > 100
        # after the first keystroke, model calls reuse the KV cache
        later = [r for r in run["per_request"][1:] if r["source"] == "model"]
        assert all(r["n_reused"] > 0 for r in later)
    assert report["lsp_over_direct_model_p50"] > 0
