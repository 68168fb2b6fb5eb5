"""The offline bundle end to end: build it here (with the package index), carry
its .tar to an "air-gapped" folder, install it there with the network gone,
and get a real completion from the installed server.

The air-gapped side is isolated by:
- ``unshare -rn`` where the kernel allows it: the install and everything it
  starts run in a new network namespace whose only interface is a loopback
  that is down, so no connection can leave the process tree;
- always, the socket guard of ``tests/fixtures/no_network``: every Python
  process logs that it started under the guard, and any attempt to reach a
  non-loopback address fails and is logged (the test fails on it);
- a fresh HOME (no pip cache, no pip config), no PIP_* variables, and proxy
  variables pointing at a closed port; the install script itself runs pip with
  ``--no-index`` and no configuration file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import warnings
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

from smalllsp import __version__, modelstore

from .conftest import adds_no_syntax_errors

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
GUARD = ROOT / "tests" / "fixtures" / "no_network"
CLOSED_PORT_PROXY = "http://127.0.0.1:9"


def network_namespace() -> list[str]:
    """``unshare -rn`` when it works here, else nothing (the guard and pip's --no-index remain)."""
    if (
        shutil.which("unshare")
        and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0
    ):
        return ["unshare", "-rn"]
    warnings.warn(
        "unshare -rn is not available: the air-gapped side is isolated only by the socket guard, "
        "closed-port proxies and pip --no-index"
    )
    return []


def air_gapped_environment(home: Path, log: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(("PIP_", "SMALLLSP_", "XDG_"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        env[name] = env[name.upper()] = CLOSED_PORT_PROXY
    # the time budget out of reach, as in the other e2e tests: a busy machine must not change results
    env.update(
        HOME=str(home),
        PYTHONPATH=str(GUARD),
        SMALLLSP_NETGUARD_LOG=str(log),
        SMALLLSP_TIME_BUDGET_MS="120000",
    )
    return env


def guard_events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def make_editor_clients(root: Path) -> Path:
    """Stand-ins for the built editor clients (a .vsix is a zip; the plugin a Lua tree)."""
    (root / "vscode").mkdir(parents=True)
    with zipfile.ZipFile(root / "vscode" / "smalllsp-0.1.0.vsix", "w") as vsix:
        vsix.writestr("extension/package.json", '{"name": "smalllsp"}')
    plugin = root / "neovim" / "lua" / "smalllsp" / "init.lua"
    plugin.parent.mkdir(parents=True)
    plugin.write_text("return {}\n")
    return root


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Iterator[Path]:
    """The bundle for this machine with the default model, built once for the module."""
    work = tmp_path_factory.mktemp("bundle")
    editors = make_editor_clients(work / "editors")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "make-offline-bundle"),
            "--out",
            str(work / "smalllsp-offline"),
            "--model",
            "default",
            "--editors-dir",
            str(editors),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    print(result.stdout)
    yield work / "smalllsp-offline"
    shutil.rmtree(work)  # over a gigabyte: not left for pytest's retained temporary folders


def test_the_bundle_holds_everything_the_manifest_says(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    default = modelstore.find("default")
    assert manifest["models"] == [
        {
            "name": default.name,
            "path": f"models/{default.file}",
            "sha256": default.sha256,
            "size": default.size,
            "trusted": False,
        }
    ]
    assert (
        manifest["backend"] == "cpu"
        and manifest["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    )
    wheels = {p.name.split("-")[0] for p in (bundle / "wheels").iterdir()}
    assert {
        "smalllsp",
        "llama_cpp_python",
        "pygls",
        "lsprotocol",
        "numpy",
        "tree_sitter",
        "tree_sitter_python",
        "watchdog",
        "gguf",
    } <= wheels
    assert not [
        p for p in (bundle / "wheels").iterdir() if not p.name.endswith(".whl")
    ]  # nothing to build offline
    assert manifest["editors"] == ["editors/vscode/smalllsp-0.1.0.vsix", "editors/neovim"]
    assert (bundle / "editors" / "neovim" / "lua" / "smalllsp" / "init.lua").exists()
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - {
        "manifest.json",
        "SHA256SUMS",
    }
    assert set(listed) == on_disk and "install" in listed and os.access(bundle / "install", os.X_OK)
    sums = dict(
        reversed(line.split("  ", 1)) for line in (bundle / "SHA256SUMS").read_text().splitlines()
    )
    assert sums == {path: entry["sha256"] for path, entry in listed.items()}
    with tarfile.open(bundle.with_name(bundle.name + ".tar")) as tar:
        assert {m.name for m in tar.getmembers() if m.isfile()} == {
            f"{bundle.name}/{p}" for p in on_disk | {"manifest.json", "SHA256SUMS"}
        }
        assert {m.uname for m in tar.getmembers()} == {""}


def test_a_bundle_that_does_not_match_its_manifest_is_refused(bundle, tmp_path):
    copy = tmp_path / bundle.name
    shutil.copytree(
        bundle, copy, copy_function=os.link
    )  # hard links: the real bundle stays as it is
    install = [sys.executable, str(copy / "install"), "--verify-only"]
    assert subprocess.run(install, capture_output=True, text=True).returncode == 0

    smuggled = copy / "wheels" / "smalllsp-99.0-py3-none-any.whl"
    smuggled.write_bytes(b"PK")
    wheel = copy / "wheels" / f"smalllsp-{__version__}-py3-none-any.whl"
    data = wheel.read_bytes()
    wheel.unlink()  # a new file, not the hard-linked one
    wheel.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    (copy / "README.txt").unlink()
    result = subprocess.run(install, capture_output=True, text=True)
    assert result.returncode == 1
    assert f"wrong sha256: wheels/{wheel.name}" in result.stderr
    assert "not in the manifest: wheels/smalllsp-99.0-py3-none-any.whl" in result.stderr
    assert "missing: README.txt" in result.stderr

    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"][0]["path"] = "../outside"
    (copy / "manifest.json").unlink()
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = subprocess.run(install, capture_output=True, text=True)
    assert result.returncode == 1 and "unsafe path '../outside'" in result.stderr


def test_install_on_an_air_gapped_machine_and_complete(bundle, tmp_path):
    air = tmp_path / "air-gapped"
    air.mkdir()
    with tarfile.open(bundle.with_name(bundle.name + ".tar")) as tar:  # what was carried across
        tar.extractall(air, filter="data")
    log = tmp_path / "guard.log"
    env = air_gapped_environment(tmp_path / "home", log)
    (tmp_path / "home").mkdir()
    venv, store = (
        tmp_path / "venv",
        tmp_path / "home" / ".local" / "share" / "smalllsp" / "models",
    )  # the default store
    isolated = network_namespace()

    def air_gapped(*command: str, timeout: int = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*isolated, *command],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    try:
        check_install(bundle, air, venv, store, log, air_gapped)
    finally:  # a gigabyte of copies: not left for pytest's retained temporary folders
        shutil.rmtree(air, ignore_errors=True)
        shutil.rmtree(store, ignore_errors=True)


def check_install(bundle: Path, air: Path, venv: Path, store: Path, log: Path, air_gapped) -> None:
    result = air_gapped(sys.executable, str(air / bundle.name / "install"), "--venv", str(venv))
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode == 0, output
    assert (
        "--no-index" in output
        and "self-check: qwen2.5-coder-0.5b-instruct-q4_k_m.gguf on cpu completed 5:4" in output
    )
    assert "Error in server" not in output, (
        "the installed server failed in a handler (a dependency missing from the wheels?)"
    )

    where = air_gapped(
        str(venv / "bin" / "python"),
        "-c",
        "import smalllsp, llama_cpp; print(smalllsp.__version__, smalllsp.__file__)",
    )
    version, location = where.stdout.split()
    assert version == __version__ and Path(location).is_relative_to(venv), where.stderr
    verified = air_gapped(str(venv / "bin" / "smalllsp"), "models", "verify")
    assert (
        verified.returncode == 0 and "ok (sha256 matches the catalog's sha256)" in verified.stdout
    ), verified.stderr
    assert (store / modelstore.find("default").file).exists()

    demo = ROOT / "examples" / "demo.py"
    completed = air_gapped(
        str(venv / "bin" / "smalllsp"),
        "complete",
        str(demo),
        "--line",
        "7",
        "--character",
        "4",
        "--json",
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    suggestion = json.loads(completed.stdout[completed.stdout.index("{") :])["suggestions"][0]
    assert suggestion.strip() and adds_no_syntax_errors(demo.read_text(), 7, 4, suggestion)

    events = guard_events(log)
    blocked = [e for e in events if e["event"] == "blocked"]
    assert not blocked, f"network attempts on the air-gapped side: {blocked}"
    started = [" ".join(e["argv"]) for e in events if e["event"] == "installed"]
    assert any("pip" in a and "--no-index" in a for a in started), started  # the guard ran in pip
    assert sum(a.endswith("-m smalllsp serve") for a in started) >= 2, (
        started
    )  # and in both servers
