"""Security: the server runs no code from the workspace, keeps document text and keys out of its log,
refuses settings that move data off the machine unless they are the user's start-up choice, keeps
private and out-of-workspace files out of other files' prompts, and leaves no process behind
(issue 21; the TCP attacks are in test_security_tcp.py).

(Model imports that would leave the store are refused in tests/unit/test_modelstore.py;
the eval sandbox has tests of its own.)
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from tests.fixtures.fake_engine_server import SPECIAL, FakeEngine

from .conftest import BODY_EXAMPLE
from .rawlsp import RawServer

pytestmark = pytest.mark.e2e

# Modules the server imports (some only when a language is first used), and
# files Python or tools run by convention: each one, if run, leaves a file behind.
TRAPS = [
    "json.py",
    "lsprotocol.py",
    "pygls.py",
    "numpy.py",
    "attrs.py",
    "watchdog.py",
    "tree_sitter_go.py",
    "tree_sitter_rust.py",
    "pathspec.py",
    "gguf.py",
    "sitecustomize.py",
    "usercustomize.py",
    "conftest.py",
    "setup.py",
    "__main__.py",
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
        answer = raw.request(
            "initialize",
            {
                "processId": None,
                "rootUri": workspace.as_uri(),
                "capabilities": {},
                "initializationOptions": {"max_tokens": 4},
            },
        )
        assert "result" in answer, raw.log()[-2000:]
        raw.notify("initialized", {})
        raw.wait_loaded()
        for name, language, line, character in (
            ("lib.go", "go", 3, 1),
            ("lib.rs", "rust", 1, 4),
            ("main.py", "python", 5, 4),
        ):
            path = workspace / name
            raw.notify(
                "textDocument/didOpen",
                {
                    "textDocument": {
                        "uri": path.as_uri(),
                        "languageId": language,
                        "version": 1,
                        "text": path.read_text(),
                    }
                },
            )
            result = raw.request(
                "textDocument/inlineCompletion",
                {
                    "textDocument": {"uri": path.as_uri()},
                    "position": {"line": line, "character": character},
                    "context": {"triggerKind": 1},
                },
                timeout=300,
            )
            assert "result" in result, result
        deadline_status = raw.status()
        assert (
            deadline_status["index"]["files"] >= 3
        )  # the workspace was read (as text) by the index
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
        raw.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "python",
                    "version": 1,
                    "text": f"PASSWORD = '{SECRET}'\n\n\ndef f():\n    \n",
                }
            },
        )
        raw.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": 0, "character": 0},
                            "end": {"line": 0, "character": 0},
                        },
                        "text": f"# {SECRET}\n",
                    }
                ],
            },
        )
        # bad messages carrying the text: a reversed range, a wrong type, an unknown document
        raw.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": 3},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": 1, "character": 0},
                            "end": {"line": 0, "character": 0},
                        },
                        "text": SECRET,
                    }
                ],
            },
        )
        raw.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": SECRET}, "contentChanges": [{"text": SECRET}]},
        )
        raw.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": "file:///other.py", "version": 2},
                "contentChanges": [{"text": SECRET}],
            },
        )
        answer = raw.request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": 5, "character": 4},
                "context": {"triggerKind": 1},
            },
            timeout=300,
        )
        assert "result" in answer
        assert "error" in raw.request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": 99, "character": 0},
                "context": {"triggerKind": SECRET},
            },
        )
        assert raw.close() == 0
        log = raw.log()
    finally:
        raw.kill()
    assert (
        "ignored a change the document cannot take" in log and "completion: " in log
    )  # the session was logged ...
    assert SECRET not in log, log[-3000:]  # ... without the text


# -- settings that move data off the machine or read files ----------------------------------------


KEY = "sk-user-key-0123456789abcdef"
AWS = "aws-secret-do-not-send"
NAMES = {v: k for k, v in SPECIAL.items()}


def decoded(tokens: list[int]) -> str:
    """A prompt the remote engine sent, as text (the recording server's vocabulary: one token per character)."""
    return "".join(NAMES.get(t, chr(t - 1000) if t >= 1000 else "?") for t in tokens)


def prompts(fake: FakeEngine) -> list[str]:
    return [
        decoded(r["body"]["prompt"])
        for r in fake.requests
        if r["path"] in ("/completion", "/v1/completions")
    ]


def messages(raw: RawServer) -> list[str]:
    return [
        m["params"]["message"]
        for m in raw.drain_notifications()
        if m.get("method") in ("window/showMessage", "window/logMessage")
    ]


def complete(raw: RawServer, uri: str, line: int, character: int, timeout: float = 300) -> dict:
    answer = raw.request(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 1},
        },
        timeout=timeout,
    )
    assert "result" in answer, answer
    return answer["result"]


def open_text(raw: RawServer, uri: str, text: str, language: str = "python") -> None:
    raw.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
    )


def wait_for(predicate, timeout: float = 30, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"{what} not reached within {timeout} s"
        time.sleep(0.05)
    return value


REFUSED = (
    "smalllsp: refused a change of model, engine, remote_url, remote_api_key_env, remote_api_key_file from "
    "workspace/didChangeConfiguration: these settings move data off the machine or read files, so they come only "
    "from the start-up settings (the editor's user settings, the environment, the command line); restart the "
    "server to apply them, or start it with --allow-remote-settings"
)


def hostile_change(fake: FakeEngine, key_file) -> dict:
    return {
        "settings": {
            "smalllsp": {
                "engine": "remote",
                "remote_url": fake.url,
                "remote_api_key_file": str(key_file),
                "remote_api_key_env": "AWS_SECRET_ACCESS_KEY",
                "model": "/etc/passwd",
                "max_tokens": 16,
            }
        }
    }


def test_remote_and_key_settings_from_did_change_configuration_are_refused(tmp_path):
    fake = FakeEngine()
    key_file = tmp_path / "stolen"
    key_file.write_text("ssh-private-key-line\n")
    raw = RawServer(env={"AWS_SECRET_ACCESS_KEY": AWS})
    try:
        raw.initialize({"workspace_index": False, "max_tokens": 32, "time_budget_ms": 120_000})
        raw.wait_loaded()
        raw.drain_notifications()
        raw.notify("workspace/didChangeConfiguration", hostile_change(fake, key_file))
        status = raw.status()
        assert (status["state"], status["device"]) == ("ready", "cpu")
        shown = messages(raw)
        assert shown == [REFUSED]
        uri = "file:///tmp/smalllsp-sec/a.py"
        open_text(raw, uri, BODY_EXAMPLE)
        assert complete(raw, uri, 5, 4)["items"]  # the local model answered
        assert raw.status()["device"] == "cpu"
        assert raw.close() == 0
        log = raw.log()
    finally:
        raw.kill()
        fake.close()
    assert fake.requests == []  # nothing reached the hostile host
    assert (
        REFUSED in log
        and fake.url not in log
        and str(key_file) not in log
        and "/etc/passwd" not in log
    )


def test_with_allow_remote_settings_the_change_applies_but_the_key_variable_stays_the_users(
    tmp_path,
):
    fake = FakeEngine()
    fake.script = ["    return", " radius"]
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    raw = RawServer(
        "--allow-remote-settings", log_level="DEBUG", env={"AWS_SECRET_ACCESS_KEY": AWS}
    )
    try:
        raw.initialize({"workspace_index": False, "max_tokens": 32, "time_budget_ms": 120_000})
        raw.wait_loaded()
        raw.drain_notifications()
        change = hostile_change(fake, key_file)
        del change["settings"]["smalllsp"]["model"]
        raw.notify("workspace/didChangeConfiguration", change)
        status = wait_for(
            lambda: (s := raw.status())["state"] != "loading"
            and s["device"].startswith("remote")
            and s,
            what="the remote engine",
        )
        assert status["state"] == "ready"
        uri = "file:///tmp/smalllsp-sec/b.py"
        open_text(raw, uri, BODY_EXAMPLE)
        assert complete(raw, uri, 5, 4)["items"][0]["insertText"] == "return radius"
        shown = messages(raw)
        assert raw.close() == 0
        log = raw.log()
    finally:
        raw.kill()
        fake.close()
    assert (
        "smalllsp: refused remote_api_key_env: it may name only a variable named at start-up"
        in shown
    )
    sent = {r["headers"].get("Authorization") for r in fake.requests}
    assert sent == {f"Bearer {KEY}"}  # the key file the user allowed, not AWS_SECRET_ACCESS_KEY
    everything = log + "\n".join(shown)
    assert KEY not in everything and AWS not in everything


@pytest.mark.parametrize("kind", ["multi-line", "/dev/zero", "fifo", "too large"])
def test_bad_key_files_are_refused_at_once_without_their_text(tmp_path, kind):
    fake = FakeEngine()
    key_lines = [
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
        "-----END OPENSSH PRIVATE KEY-----",
    ]
    path = tmp_path / "key"
    if kind == "multi-line":
        path.write_text("\n".join(key_lines) + "\n")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "too large":
        path.write_text("k" * 5000)
    else:
        path = "/dev/zero"
    expected = {
        "multi-line": f"remote_api_key_file {path} has 3 lines; a key file holds one line",
        "/dev/zero": "remote_api_key_file /dev/zero is a character device, not a regular file",
        "fifo": f"remote_api_key_file {path} is a FIFO, not a regular file",
        "too large": f"remote_api_key_file {path} is over 4096 bytes (a key file holds one line)",
    }[kind]
    raw = RawServer("--allow-remote-settings")
    try:
        started = time.monotonic()
        raw.initialize(
            {
                "workspace_index": False,
                "engine": "remote",
                "remote_url": fake.url,
                "remote_api_key_env": "",
                "remote_api_key_file": str(path),
                "max_tokens": 32,
                "time_budget_ms": 120_000,
            }
        )
        status = wait_for(
            lambda: (s := raw.status())["state"] != "loading" and s,
            timeout=20,
            what="the engine start",
        )
        assert time.monotonic() - started < 10
        assert status["state"] == "failed" and status["error"] == expected, status
        # The message may arrive after the status that answered "failed": gather until it does.
        shown: list[str] = []
        wanted = f"smalllsp: cannot use the model: {expected}"
        wait_for(lambda: shown.extend(messages(raw)) or wanted in shown, timeout=20, what=wanted)
        assert wanted in shown
        # Back to the local model: the server recovers (a FIFO once blocked the engine for good).
        raw.notify("workspace/didChangeConfiguration", {"settings": {"engine": "local"}})
        wait_for(lambda: raw.status()["state"] == "ready", timeout=120, what="the local model")
        uri = "file:///tmp/smalllsp-sec/c.py"
        open_text(raw, uri, BODY_EXAMPLE)
        assert complete(raw, uri, 5, 4)["items"]
        assert raw.close() == 0
        log = raw.log()
    finally:
        raw.kill()
        fake.close()
    assert fake.requests == []
    for line in key_lines[1:2]:
        assert line not in log and all(line not in m for m in shown)


# -- the workspace boundary -----------------------------------------------------------------------

OUTSIDE_TOKEN = "sk-outside-7f3a"
GITIGNORED_TOKEN = "gitignored-9b1c"
ENV_KEY = "env-api-key-44d2"
DB_URL = "postgres://admin:pw-5e6f@db/prod"
SHARED_MARK = "shared_helper_marker"


def boundary_workspace(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "creds.py").write_text(
        f'OUTSIDE_TOKEN = "{OUTSIDE_TOKEN}"\n\n\ndef outside_helper(token):\n    return "{OUTSIDE_TOKEN}" + token\n'
    )
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".gitignore").write_text("local_settings.py\n")
    (repo / "local_settings.py").write_text(
        f'GITIGNORED = "{GITIGNORED_TOKEN}"\n\n\ndef gitignored_helper(x):\n    return "{GITIGNORED_TOKEN}" + x\n'
    )
    (repo / ".env").write_text(f"API_KEY={ENV_KEY}\nDATABASE_URL={DB_URL}\n")
    (repo / "secrets_store.py").write_text(
        'def denylisted_helper(x):\n    return "denylisted-3c3c" + x\n'
    )
    (repo / "link_creds.py").symlink_to(outside / "creds.py")
    (repo / "passwd.py").symlink_to("/etc/passwd")
    (repo / "outside_dir").symlink_to(outside)
    (repo / "util.py").write_text(f"def {SHARED_MARK}(x):\n    return x * 2\n")
    main = (
        "from link_creds import outside_helper\nfrom local_settings import gitignored_helper\n"
        "from secrets_store import denylisted_helper\nfrom util import shared_helper_marker\n\n\n"
        "def run(x):\n    a = outside_helper(x) + gitignored_helper(x) + denylisted_helper(x)\n    b = shared_helper_marker(a)\n    \n"
    )
    (repo / "main.py").write_text(main)
    return repo, main


def test_nothing_private_reaches_another_files_prompt_sent_to_the_remote(tmp_path):
    repo, main = boundary_workspace(tmp_path)
    fake = FakeEngine()
    fake.script = ["    return", " b"]
    raw = RawServer()
    try:
        answer = raw.request(
            "initialize",
            {
                "processId": None,
                "rootUri": repo.as_uri(),
                "capabilities": {},
                "initializationOptions": {
                    "engine": "remote",
                    "remote_url": fake.url,
                    "remote_retries": 0,
                    "warmup": False,
                    "global_tokens": 3000,
                    "prefix_tokens": 1500,
                    "max_tokens": 16,
                    "time_budget_ms": 120_000,
                },
            },
        )
        assert "result" in answer
        raw.notify("initialized", {})
        wait_for(
            lambda: (s := raw.status())["state"] == "ready" and s["index"]["state"] == "ready",
            timeout=60,
            what="the index",
        )
        index = raw.status()["index"]
        assert index["files"] == 2, index  # util.py and main.py
        assert (
            index["skipped"]["outside the workspace"] == 2
            and index["skipped"]["private"] == 2
            and index["skipped"]["symlinked directory"] == 1
        )
        # The editor opens every file (it reads the symlinks' targets itself) and edits them.
        opened = {}
        for name in (
            "link_creds.py",
            "passwd.py",
            "local_settings.py",
            ".env",
            "secrets_store.py",
            "util.py",
        ):
            path = repo / name
            uri = path.as_uri()
            text = path.read_text()
            opened[name] = uri
            open_text(raw, uri, text, "dotenv" if name == ".env" else "python")
            raw.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": 2},
                    "contentChanges": [
                        {
                            "range": {
                                "start": {"line": 1, "character": 0},
                                "end": {"line": 1, "character": 0},
                            },
                            "text": "# edited\n",
                        }
                    ],
                },
            )
        time.sleep(1.5)  # the refreshes after typing (warmup_delay_ms) have run
        main_uri = (repo / "main.py").as_uri()
        open_text(raw, main_uri, main)
        time.sleep(0.5)
        complete(raw, main_uri, 9, 4)
        first = prompts(fake)[-1]
        # The private document itself still gets completions, from its own text.
        complete(raw, opened["local_settings.py"], 5, 0)
        own = prompts(fake)[-1]
        for uri in opened.values():
            raw.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        time.sleep(0.3)
        raw.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": main_uri, "version": 2},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": 9, "character": 4},
                            "end": {"line": 9, "character": 4},
                        },
                        "text": "c = 1\n    ",
                    }
                ],
            },
        )
        sent = len(prompts(fake))
        complete(raw, main_uri, 10, 4)
        assert len(prompts(fake)) == sent + 1  # a fresh prompt, not the suggestion cache
        after_close = prompts(fake)[-1]
        assert raw.close() == 0
    finally:
        raw.kill()
        fake.close()
    assert f"def {SHARED_MARK}(x)" in first  # the global section works: shareable files do reach it
    for prompt in (first, after_close):
        for secret in (
            OUTSIDE_TOKEN,
            GITIGNORED_TOKEN,
            ENV_KEY,
            DB_URL,
            "denylisted-3c3c",
            "root:x:0:0",
        ):
            assert secret not in prompt, (secret, prompt)
    assert GITIGNORED_TOKEN in own


# -- no hang on a FIFO, and no process outlives the server -----------------------------------------


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_fifos_swapped_in_during_the_build_do_not_hang_it_and_nothing_outlives_the_server(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    names = [f"m{n:04d}.py" for n in range(1500)]
    for name in names:
        (repo / name).write_text(f"def f_{name[1:5]}(x):\n    return x + 1\n")
    (repo / "pipe.py").symlink_to(tmp_path / "fifo")  # a link to a FIFO outside: never opened
    os.mkfifo(tmp_path / "fifo")
    stop = threading.Event()
    swapped = []

    def swap() -> None:  # replace files by FIFOs (and back) while the index reads them
        n = 0
        while not stop.is_set():
            path = repo / names[(n * 7) % len(names)]
            try:
                path.unlink()
                os.mkfifo(path)
                swapped.append(path.name)
            except OSError:
                pass
            n += 1
            time.sleep(0.001)

    raw = RawServer()
    try:
        answer = raw.request(
            "initialize",
            {
                "processId": None,
                "rootUri": repo.as_uri(),
                "capabilities": {},
                "initializationOptions": {"index_workers": 2, "max_tokens": 8},
            },
        )
        assert "result" in answer
        swapper = threading.Thread(target=swap, daemon=True)
        swapper.start()
        raw.notify("initialized", {})
        status = wait_for(
            lambda: (s := raw.status())["index"]["state"] == "ready" and s,
            timeout=120,
            what="the index build",
        )
        stop.set()
        swapper.join(5)
        index = status["index"]
        assert index["workers"] == 2, index  # the build ran in worker processes
        assert index["files"] + index["skipped"]["not a regular file"] + index["skipped"][
            "vanished"
        ] <= len(names)
        assert index["files"] >= len(names) - len(swapped)
        children = descendants(raw.process.pid)
        assert children, (
            "the server has its helper processes (multiprocessing's resource tracker at least)"
        )
        started = time.monotonic()
        assert raw.close(timeout=10) == 0
        assert time.monotonic() - started < 5
        wait_for(
            lambda: not any(alive(pid) for pid in children), timeout=5, what="every child gone"
        )
    finally:
        stop.set()
        raw.kill()
    print(f"{len(swapped)} files swapped for FIFOs; skipped {index['skipped']}")
