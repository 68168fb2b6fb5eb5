"""The VS Code extension: its settings against the server's, and its own build and tests.

The real workbench is driven in test_vscode_workbench.py. ``npm test`` runs the extension's unit
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


def manifest() -> dict:
    return json.loads((EXTENSION / "package.json").read_text())


def contributed() -> dict:
    return manifest()["contributes"]["configuration"]["properties"]


def key_of(name: str) -> str:
    """The VS Code key of a server setting: ``cache_type`` -> ``smalllsp.cacheType``.

    VS Code 1.100 titles a setting from its key's last segment ("Cache Type";
    a snake_case key would read "Cache_type"), and has no per-setting title.
    """
    head, *rest = name.split("_")
    return "smalllsp." + head + "".join(part[:1].upper() + part[1:] for part in rest)


def test_package_json_contributes_every_server_setting_as_the_server_defines_it():
    """A new or changed server setting fails here until `npm run sync-settings` regenerates package.json."""
    properties = contributed()
    server_keys = {key for key in properties if "." not in key.removeprefix("smalllsp.")}
    settings = settings_json()
    assert server_keys == {key_of(s["name"]) for s in settings}, (
        "run `npm run sync-settings` in editors/vscode"
    )
    for order, setting in enumerate(settings, start=2):
        prop = properties[key_of(setting["name"])]
        assert prop["type"] == TYPES[setting["type"]], setting["name"]
        assert prop["default"] == setting["default"], setting["name"]
        assert prop["markdownDescription"] == setting["doc"], setting["name"]
        assert prop.get("enum", []) == list(setting["choices"]), setting["name"]
        assert (prop.get("minimum"), prop.get("maximum")) == (
            setting["minimum"],
            setting["maximum"],
        ), setting["name"]
        # user-only settings (they move data off the machine or read a file) only from the user's own settings
        assert prop.get("scope") == ("machine" if setting["user_only"] else None), setting["name"]
        assert prop["order"] == order, setting["name"]  # the server's order, not alphabetical


def test_user_only_settings_and_the_interpreter_are_machine_scoped_and_restricted_in_untrusted_workspaces():
    properties = contributed()
    machine = {key for key, prop in properties.items() if prop.get("scope") == "machine"}
    expected = {key_of(s["name"]) for s in settings_json() if s["user_only"]} | {
        "smalllsp.server.pythonPath"
    }
    assert {
        "smalllsp.engine",
        "smalllsp.remoteUrl",
        "smalllsp.remoteApiKeyFile",
        "smalllsp.model",
    } <= expected
    assert machine == expected
    trust = manifest()["capabilities"]["untrustedWorkspaces"]
    assert trust["supported"] == "limited"
    assert sorted(trust["restrictedConfigurations"]) == sorted(expected)


def test_the_extension_own_settings_are_namespaced_apart_from_the_server_settings():
    own = {key for key in contributed() if "." in key.removeprefix("smalllsp.")}
    assert own == {"smalllsp.server.pythonPath", "smalllsp.client.enabled"}


def test_a_key_triggers_inline_suggestions():
    """VS Code 1.100 binds no key to editor.action.inlineSuggest.trigger; the extension contributes Alt+\\ (Copilot's)."""
    bindings = {b["command"]: b for b in manifest()["contributes"]["keybindings"]}
    trigger = bindings["editor.action.inlineSuggest.trigger"]
    assert trigger["key"] == "alt+\\" and "editorTextFocus" in trigger["when"]


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=EXTENSION, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, (
        f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
    )
    return done


@pytest.mark.e2e
def test_npm_ci_compile_test_and_vsce_package(default_model, tmp_path):
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip(
            "npm not found: the VS Code extension was not built or tested (install Node.js 20+)"
        )
    env = {**os.environ, "SMALLLSP_PYTHON": sys.executable}
    run([npm, "ci", "--no-audit", "--no-fund"], env=env, timeout=600)
    run([npm, "run", "compile"], env=env, timeout=300)
    tested = run([npm, "test"], env=env, timeout=600)
    assert "# fail 0" in tested.stdout and "# pass " in tested.stdout, tested.stdout[-3000:]
    assert re.search(r"^ok \d+ - a cross-file suggestion is flagged", tested.stdout, re.M), (
        tested.stdout[-3000:]
    )
    vsix = tmp_path / "smalllsp.vsix"
    run(
        ["npx", "vsce", "package", "--allow-missing-repository", "--out", str(vsix)],
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
    assert {
        "extension/dist/extension.js",
        "extension/package.json",
        "extension.vsixmanifest",
    } <= names, names
    assert not any(
        name.startswith("extension/node_modules/") or name.startswith("extension/src/")
        for name in names
    )
    assert manifest["main"] == "./dist/extension.js"
