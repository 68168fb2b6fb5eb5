"""The VS Code extension in VS Code's real workbench, as a user runs it.

code-server 4.100.3 (VS Code 1.100.3 with its Node extension host) serves the
workbench on 127.0.0.1; Debian's Chromium shows it, driven by playwright-core
(workbench/driver.mjs); the built .vsix is installed with
``--install-extension``; the extension starts the real server with the real
default model, exactly as vscode-languageclient spawns it. The tests press
keys and read what a user sees: ghost text, the status bar, notifications,
decorations, hovers, and the file on disk after saving.

The tools come from scripts/install-test-editors (``.ci/run`` calls it); when
one cannot be had, the tests skip and say which.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import REPO
from .workbench.harness import Recorder, Workbench, missing_tools

EXTENSION = REPO / "editors" / "vscode"
DOCS = REPO / "docs"
PYTHON = sys.executable
# generous: the first ghost text took 5-40 s on a busy 2-core CPU
READY_S = 240
GHOST_S = 240

pytestmark = [pytest.mark.e2e]

BODY = '''import math


def circle_area(radius):
    """Return the area of a circle with the given radius."""
    


def main():
    print(circle_area(2.0))
'''
BODY_CURSOR = (6, 5)  # 1-based line and column: the empty body line, after its indent

BILLING_API = '''def charge(amount, currency="EUR"):
    """Charge the customer and return the receipt."""
    return {"amount": amount, "currency": currency}
'''

CHECKOUT = '''from billing.api import charge


def checkout(cart):
    """Charge the total of the cart in euros."""
    total = sum(item.price for item in cart)
    
'''
CHECKOUT_CURSOR = (7, 5)

# what every test's user has in settings.json: this checkout's server; no wall-clock cut of generation
USER = {"smalllsp.server.pythonPath": PYTHON, "smalllsp.timeBudgetMs": 120000}


@pytest.fixture(scope="module")
def vsix(default_model, tmp_path_factory) -> Path:
    reason = missing_tools()
    if reason:
        pytest.skip(f"the real VS Code workbench cannot run here: {reason}")
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm not found: the extension cannot be built")
    env = {**os.environ, "SMALLLSP_PYTHON": PYTHON}
    if not (EXTENSION / "node_modules" / "vscode-languageclient").exists():
        _run([npm, "ci", "--no-audit", "--no-fund"], env)
    out = tmp_path_factory.mktemp("vsix") / "smalllsp.vsix"
    # vsce runs vscode:prepublish (tsc + esbuild) first
    _run(["npx", "vsce", "package", "--allow-missing-repository", "--out", str(out)], env)
    return out


def _run(command: list[str], env: dict) -> None:
    done = subprocess.run(
        command,
        cwd=EXTENSION,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (
        f"{' '.join(command)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )


@pytest.fixture(autouse=True)
def no_state_left_in_home():
    """code-server and Chromium write ~/.local/share/code-server and ~/.config/chromium by default:
    the harness points them elsewhere; whatever appears there anyway during a test is removed."""
    paths = [Path.home() / ".local" / "share" / "code-server", Path.home() / ".config" / "chromium"]
    before = {path: path.exists() for path in paths}
    yield
    for path, existed in before.items():
        if not existed and path.exists():
            shutil.rmtree(path, ignore_errors=True)


def workspace(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "workspace"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def ghost_text(snapshot: dict) -> str:
    """The suggestion as the editor shows it: the part on the cursor line, then the lines below."""
    ghost = snapshot["ghost"]
    return "\n".join([ghost["inline"], *ghost["lines"]])


def insert_at(text: str, line: int, column: int, inserted: str) -> str:
    lines = text.split("\n")
    offset = sum(len(l) + 1 for l in lines[: line - 1]) + column - 1
    return text[:offset] + inserted + text[offset:]


def keep_screenshot(wb: Workbench, name: str) -> Path:
    """A PNG of the page in the test folder; with SMALLLSP_KEEP_SCREENSHOTS=1, also under docs/."""
    path = wb.tmp / name
    wb.op("screenshot", path=str(path))
    if os.environ.get("SMALLLSP_KEEP_SCREENSHOTS") == "1":
        shutil.copyfile(path, DOCS / name)
    return path


def smalllsp_notifications(wb: Workbench) -> list[str]:
    return [m for m in wb.op("notifications") if "smalllsp" in m.lower()]


STATUS_READY = "s.status && s.status.icons.includes('codicon-sparkle')"
STATUS_LATENCY = r"s.status && s.status.icons.includes('codicon-sparkle') && /smalllsp \d+ ms/.test(s.status.text)"


def trigger_and_wait_for_ghost(wb: Workbench) -> dict:
    """Alt+\\ (the extension's key for editor.action.inlineSuggest.trigger), then wait for ghost text."""
    wb.op("press", key="Alt+Backslash")
    return wb.wait_for("s.ghost && (s.ghost.inline || s.ghost.lines.length)", "ghost text", GHOST_S)


def test_ghost_text_accepted_with_tab_is_saved_exactly_and_the_server_goes_with_the_window(
    vsix, tmp_path
):
    root = workspace(tmp_path, {"example.py": BODY})
    with Workbench(tmp_path / "wb", vsix, root, USER) as wb:
        wb.op("open", path="example.py")
        loading = wb.wait_for(STATUS_READY, "the status bar to say ready", READY_S)
        # the real client's command line: the extension's arguments, then what vscode-languageclient appends
        assert wb.server_cmdlines() == [
            [PYTHON, "-m", "smalllsp", "serve", f"--clientProcessId={_exthost_pid(wb)}", "--stdio"]
        ]
        wb.op("goto", line=BODY_CURSOR[0], column=BODY_CURSOR[1])

        shown = trigger_and_wait_for_ghost(wb)
        suggestion = ghost_text(shown["last"])
        assert suggestion.strip(), shown
        latency = wb.wait_for(STATUS_LATENCY, "the status bar to show the latency", 60)
        keep_screenshot(wb, "vscode-ghost-text.png")
        wb.op("press", key="Tab")
        wb.wait_for("!s.ghost", "the ghost text to be accepted", 30)
        wb.op("command", title="File: Save")
        wb.wait_for("s.tabs.some(t => t.active && !t.dirty)", "the file to be saved", 30)

        saved = (root / "example.py").read_text()
        assert saved == insert_at(BODY, *BODY_CURSOR, suggestion), (suggestion, saved)

        # the status bar went loading -> ready -> a latency
        statuses = loading["statuses"] + shown["statuses"] + latency["statuses"]
        kinds = [_status_kind(s) for s in statuses]
        assert kinds[0] == "loading", statuses
        assert "ready" in kinds and kinds.index("ready") < kinds.index("latency"), statuses
        assert "loading" not in kinds[kinds.index("ready") :], statuses
        tooltip = latency["last"]["status"]["label"]
        assert re.search(
            r"smalllsp \d+\.\d+\.\d+: ready\n.+\.gguf on cpu\nloaded in [\d.]+ s\nlast completion \d+ ms",
            tooltip,
        ), tooltip
        # the output channel: the server's records at their own levels, no error in a good session
        log = wb.output_log()
        assert re.search(r"\[info\] smalllsp\.engine\.llama: loaded .*\.gguf", log), log[-3000:]
        assert "[error]" not in log, log[-3000:]
        assert not re.search(r"\[\w+\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", log), (
            "a second timestamp: " + log[-3000:]
        )
        assert smalllsp_notifications(wb) == []
        assert wb.op("blocked") == []  # the page asked for nothing outside 127.0.0.1

        pids = wb.server_pids()
        assert len(pids) == 1
        wb.close_window()
        deadline = time.monotonic() + 60
        while wb.server_pids() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert wb.server_pids() == [], "the server outlived the window"


def test_cross_file_suggestion_shows_its_label_hover_and_the_status_bar_warning(vsix, tmp_path):
    root = workspace(
        tmp_path,
        {
            ".git/HEAD": "ref: refs/heads/main\n",
            "billing/__init__.py": "",
            "billing/api.py": BILLING_API,
            "shop/__init__.py": "",
            "shop/checkout.py": CHECKOUT,
        },
    )
    # without the global section the model does not see charge()'s definition: the guard flags the call
    with Workbench(tmp_path / "wb", vsix, root, {**USER, "smalllsp.globalTokens": 0}) as wb:
        wb.op("open", path="shop/checkout.py")
        wb.wait_for(STATUS_READY, "the status bar to say ready", READY_S)
        wb.op("goto", line=CHECKOUT_CURSOR[0], column=CHECKOUT_CURSOR[1])
        shown = trigger_and_wait_for_ghost(wb)
        assert "charge(" in ghost_text(shown["last"]), shown["last"]["ghost"]

        flagged = wb.wait_for(
            "s.afterTexts.some(a => a.shown && a.content.startsWith('⚠ cross-file')) && s.status && s.status.icons.includes('codicon-warning')",
            "the ⚠ label after the line and the status bar warning",
            30,
        )["last"]
        label = next(a["content"] for a in flagged["afterTexts"] if a["shown"])
        assert re.match(r"^⚠ cross-file: .*charge", label), label
        assert flagged["status"]["text"] == "smalllsp: cross-file", flagged["status"]
        keep_screenshot(wb, "vscode-cross-file.png")
        # the whole reason is reachable: the status bar tooltip lists every reason
        tooltip = wb.op("hover", selector=f"[id='{flagged['status']['id']}']")
        assert "This suggestion depends on code the model did not see" in tooltip, tooltip
        assert (
            "charge" in tooltip and label.removeprefix("⚠ cross-file: ").rstrip("…") in tooltip
        ), tooltip


def test_a_wrong_model_path_shows_one_error_naming_the_file(vsix, tmp_path):
    missing = tmp_path / "models" / "no-such-model.gguf"
    root = workspace(tmp_path, {"example.py": BODY})
    with Workbench(tmp_path / "wb", vsix, root, {**USER, "smalllsp.model": str(missing)}) as wb:
        wb.op("open", path="example.py")
        failed = wb.wait_for(
            "s.status && s.status.icons.includes('codicon-error')", "the status bar error", READY_S
        )["last"]
        assert str(missing) in failed["status"]["label"], failed["status"]
        time.sleep(3)  # anything else that would pop up
        messages = smalllsp_notifications(wb)
        assert len(messages) == 1, messages
        assert str(missing) in messages[0], messages


def test_a_server_that_cannot_start_shows_its_own_reason_once(vsix, tmp_path):
    python = tmp_path / "python-without-smalllsp"
    python.write_text(
        "#!/bin/sh\necho 'fake-python: this interpreter cannot run smalllsp (reason 42)' >&2\nexit 3\n"
    )
    python.chmod(0o755)
    root = workspace(tmp_path, {"example.py": BODY})
    with Workbench(
        tmp_path / "wb", vsix, root, {**USER, "smalllsp.server.pythonPath": str(python)}
    ) as wb:
        wb.op("open", path="example.py")
        wb.wait_for(
            "s.status && s.status.icons.includes('codicon-error')", "the status bar error", READY_S
        )
        time.sleep(5)  # a client that restarted the server would show more by now
        messages = smalllsp_notifications(wb)
        assert len(messages) == 1, messages
        assert "reason 42" in messages[0] and "exit code 3" in messages[0], messages
        assert f"{python} -m smalllsp serve" in messages[0], messages


def test_workspace_settings_cannot_point_the_server_at_another_host_file_or_program(vsix, tmp_path):
    """Issue 21: a repository's .vscode/settings.json sets the engine, the remote URL, a key file and the
    interpreter; none of them is used: no connection to the URL, the program never runs, completions stay local."""
    key = tmp_path / "stolen-key.txt"
    key.write_text("sk-from-the-workspace\n")
    marker = tmp_path / "hostile-program-ran"
    hostile = tmp_path / "hostile-python"
    hostile.write_text(f'#!/bin/sh\ntouch {marker}\nexec {PYTHON} "$@"\n')
    hostile.chmod(0o755)
    with Recorder() as recorder:
        hostile_settings = {
            "smalllsp.engine": "remote",
            "smalllsp.remoteUrl": recorder.url,
            "smalllsp.remoteApiKeyFile": str(key),
            "smalllsp.remoteApiKeyEnv": "HOME",
            "smalllsp.model": str(key),
            "smalllsp.server.pythonPath": str(hostile),
        }
        root = workspace(
            tmp_path,
            {"example.py": BODY, ".vscode/settings.json": json.dumps(hostile_settings, indent=2)},
        )
        with Workbench(tmp_path / "wb", vsix, root, USER) as wb:
            wb.op("open", path="example.py")
            ready = wb.wait_for(STATUS_READY, "the status bar to say ready", READY_S)["last"]
            assert re.search(r"\.gguf on cpu", ready["status"]["label"]), ready["status"]
            assert [cmd[0] for cmd in wb.server_cmdlines()] == [PYTHON]
            wb.op("goto", line=BODY_CURSOR[0], column=BODY_CURSOR[1])
            shown = trigger_and_wait_for_ghost(wb)
            assert ghost_text(shown["last"]).strip()
            time.sleep(2)
            assert recorder.requests == []
            assert not marker.exists()
            assert smalllsp_notifications(wb) == []


@pytest.mark.parametrize("where", ["user", "remote machine"])
def test_the_same_settings_in_the_users_own_settings_do_select_the_remote_engine(
    vsix, tmp_path, where
):
    """The user's settings.json, or the remote machine's (the Settings editor's Remote tab in code-server)."""
    key = tmp_path / "my-key.txt"
    key.write_text("sk-the-users-own-key\n")
    with Recorder() as recorder:
        remote = {
            "smalllsp.engine": "remote",
            "smalllsp.remoteUrl": recorder.url,
            "smalllsp.remoteApiKeyFile": str(key),
        }
        user, machine = ({**USER, **remote}, None) if where == "user" else (USER, remote)
        root = workspace(tmp_path, {"example.py": BODY})
        with Workbench(tmp_path / "wb", vsix, root, user, machine_settings=machine) as wb:
            wb.op("open", path="example.py")
            deadline = time.monotonic() + READY_S
            while not recorder.requests and time.monotonic() < deadline:
                time.sleep(0.5)
            assert recorder.requests, (
                "the server never connected to the user's remote_url\n" + wb.diagnostics()
            )
            assert any(
                r["headers"].get("Authorization") == "Bearer sk-the-users-own-key"
                for r in recorder.requests
            ), [{k: v for k, v in r.items() if k != "body"} for r in recorder.requests]


def test_the_settings_editor_titles_the_settings_without_snake_case_in_the_servers_order(
    vsix, tmp_path
):
    root = workspace(tmp_path, {"notes.txt": "no Python file: the server is not started\n"})
    with Workbench(tmp_path / "wb", vsix, root, USER) as wb:
        user = wb.op("settingsLabels", query="@ext:smalllsp.smalllsp")
        # code-server is a remote window: the machine-scoped settings are on the Remote tab, not the User tab
        assert [item["label"] for item in user["items"]][:3] == ["Enabled", "N Ctx", "N Threads"], (
            user
        )
        wb.op("press", key="Escape")
        remote_tab = next(tab for tab in user["tabs"] if tab.startswith("Remote"))
        remote = wb.op("settingsLabels", query="@ext:smalllsp.smalllsp", tab=remote_tab)
        assert [item["label"] for item in remote["items"]][:4] == [
            "Python Path",
            "Enabled",
            "Model",
            "N Ctx",
        ], remote
        assert not any("_" in item["label"] for item in user["items"] + remote["items"]), (
            user,
            remote,
        )
        cache = wb.op("settingsLabels", query="smalllsp cache type")
        assert any(item["label"] == "Cache Type" for item in cache["items"]), cache


def _status_kind(status: str) -> str:
    icons, _, text = status.partition("|")
    if "codicon-loading" in icons:
        return "loading"
    if "codicon-sparkle" in icons:
        return "latency" if re.search(r"\d+ ms$", text) else "ready"
    return icons


def _exthost_pid(wb: Workbench) -> int:
    """The server's parent: the extension host that spawned it."""
    [pid] = wb.server_pids()
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
