"""Security: the server runs no code from the workspace, and keeps document text out of its log.

(Model imports that would leave the store are refused in tests/unit/test_modelstore.py;
the eval sandbox has tests of its own.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .rawlsp import RawServer

pytestmark = pytest.mark.e2e

# Modules the server imports (some only when a language is first used), and
# files Python or tools run by convention: each one, if run, leaves a file behind.
TRAPS = [
    "json.py", "lsprotocol.py", "pygls.py", "numpy.py", "attrs.py", "watchdog.py", "tree_sitter_go.py", "tree_sitter_rust.py",
    "pathspec.py", "gguf.py", "sitecustomize.py", "usercustomize.py", "conftest.py", "setup.py", "__main__.py",
]


def trap(marker: Path, name: str) -> str:
    return f"import pathlib\npathlib.Path({str(marker / name)!r}).write_text('ran')\nraise SystemExit('{name} ran')\n"


def test_no_code_from_the_workspace_runs_even_with_the_workspace_as_the_working_directory(tmp_path):
    workspace, ran = tmp_path / "repo", tmp_path / "ran"
    workspace.mkdir()
    ran.mkdir()
    for name in TRAPS:
        (workspace / name).write_text(trap(ran, name))
    (workspace / "lib.go").write_text("package lib\n\nfunc Add(a, b int) int {\n\t\n}\n")
    (workspace / "lib.rs").write_text("fn add(a: i32, b: i32) -> i32 {\n    \n}\n")
    (workspace / "main.py").write_text("import json\nimport numpy\n\n\ndef f():\n    \n")
    # Editors start the server in the workspace folder, as `python -m smalllsp serve`.
    raw = RawServer(log_level="INFO", cwd=str(workspace))
    try:
        answer = raw.request("initialize", {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}, "initializationOptions": {"max_tokens": 4}})
        assert "result" in answer, raw.log()[-2000:]
        raw.notify("initialized", {})
        raw.wait_loaded()
        for name, language, line, character in (("lib.go", "go", 3, 1), ("lib.rs", "rust", 1, 4), ("main.py", "python", 5, 4)):
            path = workspace / name
            raw.notify("textDocument/didOpen", {"textDocument": {"uri": path.as_uri(), "languageId": language, "version": 1, "text": path.read_text()}})
            result = raw.request("textDocument/inlineCompletion", {"textDocument": {"uri": path.as_uri()}, "position": {"line": line, "character": character}, "context": {"triggerKind": 1}}, timeout=300)
            assert "result" in result, result
        deadline_status = raw.status()
        assert deadline_status["index"]["files"] >= 3  # the workspace was read (as text) by the index
        assert raw.close() == 0
    finally:
        raw.kill()
    assert sorted(p.name for p in ran.iterdir()) == []


SECRET = "hunter2-do-not-log"


def test_document_text_stays_out_of_the_log_at_info():
    raw = RawServer(log_level="INFO")
    try:
        raw.initialize({"workspace_index": False, "max_tokens": 4})
        raw.wait_loaded()
        uri = "file:///secret.py"
        raw.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": f"PASSWORD = '{SECRET}'\n\n\ndef f():\n    \n"}})
        raw.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": f"# {SECRET}\n"}]})
        # bad messages carrying the text: a reversed range, a wrong type, an unknown document
        raw.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [
            {"range": {"start": {"line": 1, "character": 0}, "end": {"line": 0, "character": 0}}, "text": SECRET}]})
        raw.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": SECRET}, "contentChanges": [{"text": SECRET}]})
        raw.notify("textDocument/didChange", {"textDocument": {"uri": "file:///other.py", "version": 2}, "contentChanges": [{"text": SECRET}]})
        answer = raw.request("textDocument/inlineCompletion", {"textDocument": {"uri": uri}, "position": {"line": 5, "character": 4}, "context": {"triggerKind": 1}}, timeout=300)
        assert "result" in answer
        assert "error" in raw.request("textDocument/inlineCompletion", {"textDocument": {"uri": uri}, "position": {"line": 99, "character": 0}, "context": {"triggerKind": SECRET}})
        assert raw.close() == 0
        log = raw.log()
    finally:
        raw.kill()
    assert "ignored a change the document cannot take" in log and "completion: " in log  # the session was logged ...
    assert SECRET not in log, log[-3000:]  # ... without the text
