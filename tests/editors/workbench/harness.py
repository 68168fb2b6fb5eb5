"""A real VS Code workbench for the tests: code-server (VS Code 1.100.3 and its
Node extension host) with the built .vsix installed, in Debian's Chromium
driven by playwright-core (driver.mjs), plus a recording HTTP server.

scripts/install-test-editors installs the tools; ``missing_tools()`` says
what is missing, so the tests skip with that reason and only then.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "driver.mjs"
WORKBENCH_DIR = Path(
    os.environ.get("SMALLLSP_WORKBENCH_DIR") or Path.home() / ".cache" / "smalllsp" / "workbench"
)
CODE_SERVER = WORKBENCH_DIR / "node_modules" / ".bin" / "code-server"
PLAYWRIGHT = WORKBENCH_DIR / "node_modules" / "playwright-core"
INSTALL_HINT = (
    "run scripts/install-test-editors (apt: chromium; npm: code-server@4.100.3, playwright-core)"
)

# VS Code's defaults that would get in the way of a test: a welcome page,
# trust prompts, update checks, the word-based suggest widget taking Tab.
BASE_USER_SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.enableExperiments": False,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "security.workspace.trust.enabled": False,  # the workspace is trusted: the harder case for issue 21
    "editor.minimap.enabled": False,
    "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
    "editor.suggestOnTriggerCharacters": False,
    "editor.wordBasedSuggestions": "off",
    "editor.parameterHints.enabled": False,
    "editor.hover.delay": 300,
    "files.autoSave": "off",
    "chat.disableAIFeatures": True,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
}


def missing_tools() -> str | None:
    """Why the workbench cannot run here, or None."""
    if shutil.which("node") is None:
        return "node not found"
    if shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists():
        return f"chromium not found: {INSTALL_HINT}"
    if not CODE_SERVER.exists():
        return f"code-server not found in {WORKBENCH_DIR}: {INSTALL_HINT}"
    if not PLAYWRIGHT.exists():
        return f"playwright-core not found in {WORKBENCH_DIR}: {INSTALL_HINT}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """An HTTP server on 127.0.0.1 that records every request and answers 503."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1 << 20)) if length else b""
                recorder.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body.decode(errors="replace"),
                    }
                )
                payload = b'{"error": "recording server"}'
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _record

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Recorder":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class DriverError(AssertionError):
    pass


class Workbench:
    """code-server with the extension installed, a workspace open in Chromium.

    ``user_settings`` go in the user's settings.json (User/settings.json of the
    user-data folder); ``machine_settings`` in the remote machine's
    (Machine/settings.json, VS Code's "Remote" tab), where code-server, being
    a remote window, reads settings of scope machine from.
    """

    def __init__(
        self,
        tmp: Path,
        vsix: Path,
        workspace: Path,
        user_settings: dict,
        machine_settings: dict | None = None,
        env: dict | None = None,
    ):
        self.tmp = tmp
        self.vsix = vsix
        self.workspace = workspace
        self.user_settings = {**BASE_USER_SETTINGS, **user_settings}
        self.machine_settings = machine_settings or {}
        self.tag = f"smalllsp-workbench-{os.getpid()}-{time.monotonic_ns()}"
        self.data = tmp / "user-data"
        self.extensions = tmp / "extensions"
        self.home = tmp / "xdg"
        self.log = tmp / "code-server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/?folder={workspace}"
        self.code_server: subprocess.Popen | None = None
        self.driver: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            # code-server and Chromium write their state here, not in ~/.local/share/code-server and ~/.config/chromium
            "XDG_DATA_HOME": str(self.home / "data"),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_CACHE_HOME": str(self.home / "cache"),
            # ... while the server finds the real model store
            "SMALLLSP_MODELS": str(_model_store()),
            "SMALLLSP_WORKBENCH_TAG": self.tag,  # inherited by the extension host and the server it starts
            "SMALLLSP_WORKBENCH_DIR": str(WORKBENCH_DIR),
            "CHROMIUM": shutil.which("chromium") or "/usr/bin/chromium",
            **(env or {}),
        }
        self.env.pop("SMALLLSP_REMOTE_API_KEY", None)

    # --- life cycle -----------------------------------------------------------------
    def __enter__(self) -> "Workbench":
        (self.data / "User").mkdir(parents=True)
        (self.data / "User" / "settings.json").write_text(json.dumps(self.user_settings, indent=2))
        if self.machine_settings:
            (self.data / "Machine").mkdir(parents=True)
            (self.data / "Machine" / "settings.json").write_text(
                json.dumps(self.machine_settings, indent=2)
            )
        self.extensions.mkdir()
        common = [
            str(CODE_SERVER),
            "--user-data-dir",
            str(self.data),
            "--extensions-dir",
            str(self.extensions),
        ]
        installed = subprocess.run(
            [*common, "--install-extension", str(self.vsix)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert installed.returncode == 0, (
            f"--install-extension failed:\n{installed.stdout}\n{installed.stderr}"
        )
        with self.log.open("w") as log:
            self.code_server = subprocess.Popen(
                [
                    *common,
                    "--bind-addr",
                    f"127.0.0.1:{self.port}",
                    "--auth",
                    "none",
                    "--disable-telemetry",
                    "--disable-update-check",
                    "--disable-getting-started-override",
                    "--ignore-last-opened",
                    str(self.workspace),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_http()
        self.driver = subprocess.Popen(
            ["node", str(DRIVER)],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(self.tmp / "driver.log").open("w"),
            text=True,
            start_new_session=True,
        )
        self.op("launch", url=self.url, timeout=180)
        return self

    def _wait_http(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.code_server.poll() is not None:
                raise AssertionError(
                    f"code-server exited {self.code_server.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=2
                ) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(
            f"code-server did not answer in {timeout} s:\n{self.log.read_text()[-3000:]}"
        )

    def op(self, name: str, timeout: float = 120, **args: Any) -> Any:
        assert self.driver and self.driver.stdin and self.driver.stdout
        self.driver.stdin.write(json.dumps({"op": name, **args}) + "\n")
        self.driver.stdin.flush()
        line = _readline(self.driver.stdout, timeout)
        if line is None:
            raise DriverError(
                f"driver gave no answer to {name} in {timeout} s\n{self.diagnostics()}"
            )
        reply = json.loads(line)
        if not reply["ok"]:
            raise DriverError(f"{name} failed: {reply['error']}\n{self.diagnostics()}")
        return reply["value"]

    def wait_for(self, predicate: str, what: str, timeout_s: float) -> dict:
        """Poll the page until ``predicate`` (JavaScript over the snapshot ``s``) holds."""
        return self.op(
            "waitFor",
            predicate=predicate,
            what=what,
            timeoutMs=int(timeout_s * 1000),
            timeout=timeout_s + 30,
        )

    def close_window(self) -> None:
        self.op("closePage")

    def stop_code_server(self) -> None:
        if self.code_server and self.code_server.poll() is None:
            os.killpg(self.code_server.pid, signal.SIGTERM)
            try:
                self.code_server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.code_server.pid, signal.SIGKILL)
                self.code_server.wait(10)

    def __exit__(self, *exc: Any) -> None:
        if self.driver and self.driver.poll() is None:
            try:
                self.op("quit", timeout=20)
            except Exception:  # noqa: BLE001 - cleaning up
                pass
            try:
                self.driver.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.driver.pid, signal.SIGKILL)
        self.stop_code_server()
        for pid in self.server_pids():  # never leave a server behind, whatever the test found
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # --- what the test reads besides the page ---------------------------------------
    def server_pids(self) -> list[int]:
        """The smalllsp servers this workbench started (they inherit its tag)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes()
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if (
                f"SMALLLSP_WORKBENCH_TAG={self.tag}".encode() in environ.split(b"\0")
                and b"smalllsp" in b" ".join(cmdline)
                and b"serve" in cmdline
            ):
                found.append(int(entry.name))
        return found

    def server_cmdlines(self) -> list[list[str]]:
        lines = []
        for pid in self.server_pids():
            try:
                lines.append(
                    [
                        part.decode()
                        for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                        if part
                    ]
                )
            except OSError:
                pass
        return lines

    def diagnostics(self) -> str:
        parts = []
        for name in ("driver.log", "code-server.log"):
            path = self.tmp / name
            if path.exists():
                parts.append(f"--- {name} (tail)\n{path.read_text(errors='replace')[-2500:]}")
        logs = sorted(self.data.glob("logs/*/exthost*/**/*smalllsp*.log")) + sorted(
            self.data.glob("logs/*/exthost*/output_logging_*/*smalllsp*.log")
        )
        for path in logs[-2:]:
            parts.append(f"--- {path.name} (tail)\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def output_log(self) -> str:
        """The smalllsp output channel (LogOutputChannel) as the extension host wrote it."""
        logs = sorted(self.data.glob("logs/**/*smalllsp*.log"), key=lambda p: p.stat().st_mtime)
        return "\n".join(p.read_text(errors="replace") for p in logs)


def _readline(stream: Any, timeout: float) -> str | None:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result and result[0] else None


def _model_store() -> Path:
    from smalllsp import modelstore

    return modelstore.store_dir()
