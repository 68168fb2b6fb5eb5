"""`smalllsp eval` with the real default model, on a few tasks: the JSON, the table and the plot."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_eval_scores_a_few_single_line_tasks_and_plots_them(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "smalllsp",
            "eval",
            "--tasks",
            "single-line",
            "--limit",
            "4",
            "--samples",
            "1,2",
            "--seed",
            "2",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(
        (tmp_path / "eval-qwen2.5-coder-0.5b-instruct-q4_k_m-single-line.json").read_text()
    )
    greedy, sampled = result["configurations"]
    assert (greedy["kind"], greedy["samples"], greedy["tasks"]) == ("single-line", 1, 4)
    assert (sampled["samples"], sampled["tasks"]) == (2, 4)
    for configuration in (greedy, sampled):
        rows = configuration["per_task"]
        assert configuration["pass@1"] == sum(r["passed"] for r in rows) / 4
        assert all("\n" not in r["shown"].strip("\n") for r in rows)  # single-line tasks: one line
        assert configuration["latency_ms"]["p50"] > 0 and configuration["peak_rss_mib"] > 100
    assert all(r["candidates"] == 1 for r in greedy["per_task"])
    assert all(1 <= r["candidates"] <= 2 for r in sampled["per_task"])
    assert [r["task_id"] for r in greedy["per_task"]] == [r["task_id"] for r in sampled["per_task"]]
    assert "| qwen2.5-coder-0.5b-instruct-q4_k_m.gguf | single-line (4) | greedy |" in done.stdout
    assert (tmp_path / "quality_vs_latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_refuses_bad_options(tmp_path):
    for options in (["--tasks", "random-span"], ["--samples", "0,9"]):
        done = subprocess.run(
            [sys.executable, "-m", "smalllsp", "eval", *options, "--out", str(tmp_path)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2 and "smalllsp eval" in done.stderr, done.stderr
        assert not list(tmp_path.iterdir())  # nothing written


def test_eval_repo_calls_completes_real_call_sites_of_a_package_from_the_index(tmp_path):
    """click is pip-installed into a temporary folder; one call site, four configurations."""
    done = subprocess.run(
        [sys.executable, "-m", "smalllsp", "eval", "--tasks", "repo-calls", "--packages", "click"]
        + ["--limit", "1", "--seed", "3", "--threads", "1", "--window", "256,64,256"]
        + ["--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(
        (tmp_path / "eval-qwen2.5-coder-0.5b-instruct-q4_k_m-repo-calls.json").read_text()
    )
    assert result["packages"]["click"].startswith("pip install click ")
    assert result["window"] == {"prefix_tokens": 256, "suffix_tokens": 64, "global_tokens": 256}
    names = [c["name"] for c in result["configurations"]]
    assert names == ["global off", "global off + resampling", "global on", "global on + resampling"]
    rows = [c["per_task"][0] for c in result["configurations"]]
    assert len({r["task_id"] for r in rows}) == 1 and rows[0]["callee"].startswith("click.")
    assert all(r["label"] in ("binds", "does not bind", "invalid", "none") for r in rows)
    # the callee's definition is in the prompt exactly when the global section is on
    assert [r["callee_in_prompt"] for r in rows] == [False, False, True, True]
    for c in result["configurations"]:
        assert c["sites"] == 1 and c["binds"] == (c["per_task"][0]["label"] == "binds")
    assert rows[0]["resampled"] is None and rows[2]["resampled"] is None  # resampling off
    assert "| global on + resampling | 1 |" in done.stdout
    lines = (tmp_path / "eval-qwen2.5-coder-0.5b-instruct-q4_k_m-repo-calls.rows.jsonl").read_text()
    assert len(lines.splitlines()) == 1


def test_eval_repo_calls_runs_alone(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "smalllsp", "eval", "--tasks", "repo-calls,single-line"]
        + ["--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "repo-calls runs alone" in done.stderr, done.stderr
    assert not list(tmp_path.iterdir())
