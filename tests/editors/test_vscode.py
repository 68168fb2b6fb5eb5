"""The VS Code extension: its settings against the server's, and its own build and tests.

VS Code itself cannot be run here. ``npm test`` runs the extension's unit
tests and its protocol-level test (the real server and model, started with
the command line and initializationOptions the extension builds); this
module runs ``npm ci``, ``npm run compile``, ``npm test`` and
``vsce package`` as a developer would, and skips, saying why, without npm.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from smalllsp.config import settings_json

from .conftest import REPO

EXTENSION = REPO / "editors" / "vscode"
TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}


def contributed() -> dict:
    return json.loads((EXTENSION / "package.json").read_text())["contributes"]["configuration"]["properties"]


def test_package_json_contributes_every_server_setting_as_the_server_defines_it():
    """A new or changed server setting fails here until `npm run sync-settings` regenerates package.json."""
    properties = contributed()
    server_keys = {key for key in properties if "." not in key.removeprefix("smalllsp.")}
    settings = settings_json()
    assert server_keys == {f"smalllsp.{s['name']}" for s in settings}, "run `npm run sync-settings` in editors/vscode"
    for setting in settings:
        prop = properties[f"smalllsp.{setting['name']}"]
        assert prop["type"] == TYPES[setting["type"]], setting["name"]
        assert prop["default"] == setting["default"], setting["name"]
        assert prop["markdownDescription"] == setting["doc"], setting["name"]
        assert prop.get("enum", []) == list(setting["choices"]), setting["name"]
        assert (prop.get("minimum"), prop.get("maximum")) == (setting["minimum"], setting["maximum"]), setting["name"]


def test_the_extension_own_settings_are_namespaced_apart_from_the_server_settings():
    own = {key for key in contributed() if "." in key.removeprefix("smalllsp.")}
    assert own == {"smalllsp.server.pythonPath", "smalllsp.client.enabled"}


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=EXTENSION, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
    return done


@pytest.mark.e2e
def test_npm_ci_compile_test_and_vsce_package(default_model, tmp_path):
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm not found: the VS Code extension was not built or tested (install Node.js 20+)")
    env = {**os.environ, "SMALLLSP_PYTHON": sys.executable}
    run([npm, "ci", "--no-audit", "--no-fund"], env=env, timeout=600)
    run([npm, "run", "compile"], env=env, timeout=300)
    tested = run([npm, "test"], env=env, timeout=600)
    assert "# fail 0" in tested.stdout and "# pass " in tested.stdout, tested.stdout[-3000:]
    assert re.search(r"^ok \d+ - a cross-file suggestion is flagged", tested.stdout, re.M), tested.stdout[-3000:]
    vsix = tmp_path / "smalllsp.vsix"
    run(["npx", "vsce", "package", "--allow-missing-repository", "--out", str(vsix)], env=env, timeout=300, stdin=subprocess.DEVNULL)
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
    assert {"extension/dist/extension.js", "extension/package.json", "extension.vsixmanifest"} <= names, names
    assert not any(name.startswith("extension/node_modules/") or name.startswith("extension/src/") for name in names)
    assert manifest["main"] == "./dist/extension.js"
