"""Import resolution: which workspace definition a name of the document means."""

from __future__ import annotations

from pathlib import Path

import pytest

from smalllsp.workspace import resolve
from smalllsp.workspace.index import WorkspaceIndex
from smalllsp.workspace.resolve import Binding

ROOT = Path(__file__).parent.parent / "fixtures" / "callee_workspace" / "richlike"
DOCUMENT = str(ROOT / "table.py")


@pytest.fixture(scope="module")
def index() -> WorkspaceIndex:
    built = WorkspaceIndex([ROOT])
    built.build()
    return built


def test_python_import_statements_bind_names():
    found = resolve.bindings(
        "python",
        [
            "import richlike.filesize as fs",
            "import os.path, json",
            "from . import filesize",
            "from .. import top",
            "from .console import Console as C, detect_legacy",
            "from richlike.style import (\n    Style,  # the class\n    StyleType,\n)",
        ],
    )
    assert found == {
        "fs": Binding("fs", "richlike.filesize", None),
        "os": Binding("os", "os", None),
        "json": Binding("json", "json", None),
        "filesize": Binding("filesize", ".", "filesize"),
        "top": Binding("top", "..", "top"),
        "C": Binding("C", ".console", "Console"),
        "detect_legacy": Binding("detect_legacy", ".console", "detect_legacy"),
        "Style": Binding("Style", "richlike.style", "Style"),
        "StyleType": Binding("StyleType", "richlike.style", "StyleType"),
    }


def test_typescript_import_statements_bind_names():
    found = resolve.bindings(
        "typescript",
        [
            'import Big, { formatPrice as fp, type Currency } from "./format.js";',
            'import * as api from "./api";',
        ],
    )
    assert found == {
        "Big": Binding("Big", "./format.js", "default"),
        "fp": Binding("fp", "./format.js", "formatPrice"),
        "Currency": Binding("Currency", "./format.js", "Currency"),
        "api": Binding("api", "./api", None),
    }


def test_module_files_relative_absolute_and_the_package_as_the_workspace_folder(index):
    resolver = resolve.Resolver(index, DOCUMENT, "python", [])
    assert resolver.module_file(".console") == str(ROOT / "console.py")
    assert resolver.module_file(".") == str(ROOT / "__init__.py")
    assert resolver.module_file("richlike.filesize") == str(
        ROOT / "filesize.py"
    )  # the folder is the package
    assert resolver.module_file("richlike") == str(ROOT / "__init__.py")
    assert resolver.module_file("rich.filesize") is None
    assert resolver.module_file("json") is None


def where(resolution: resolve.Resolution) -> tuple[str, list[tuple[str, str]]]:
    return resolution.kind, [(s.relpath, s.definition.name) for s in resolution.symbols]


def test_names_through_aliases_submodules_and_reexports(index):
    imports = [
        "import richlike.filesize as fs",
        "import richlike",
        "from . import filesize",
        "from richlike import print, Console",
        "from .console import Console as C",
        "from .compat import decimal",
        "from .style import StyleType",
        "from .console import Missing",
        "import json",
        "from collections import OrderedDict",
    ]
    resolver = resolve.Resolver(index, DOCUMENT, "python", imports)
    assert where(resolver.resolve("decimal", "fs")) == ("workspace", [("filesize.py", "decimal")])
    assert where(resolver.resolve("decimal", "filesize")) == (
        "workspace",
        [("filesize.py", "decimal")],
    )
    assert where(resolver.resolve("decimal", "richlike.filesize")) == (
        "workspace",
        [("filesize.py", "decimal")],
    )
    # re-exported by __init__.py from _print.py and console.py
    assert where(resolver.resolve("print")) == ("workspace", [("_print.py", "print")])
    assert where(resolver.resolve("Console")) == ("workspace", [("console.py", "Console")])
    assert where(resolver.resolve("C")) == ("workspace", [("console.py", "Console")])
    # through a `*` import
    assert where(resolver.resolve("decimal")) == ("workspace", [("filesize.py", "decimal")])
    assert where(resolver.resolve("StyleType")) == ("workspace", [("style.py", "StyleType")])
    assert resolver.resolve("Missing") == resolve.Resolution("missing", (), ".console")
    assert resolver.resolve("nothing", "fs") == resolve.Resolution(
        "missing", (), "richlike.filesize"
    )
    assert resolver.resolve("dumps", "json") == resolve.Resolution("external", (), "json")
    assert resolver.resolve("OrderedDict") == resolve.Resolution("external", (), "collections")
    assert (
        resolver.resolve("Table") == resolve.UNBOUND_RESOLUTION
    )  # not imported: the caller looks it up by name
    assert (
        resolver.resolve("bold", "StyleType") == resolve.UNBOUND_RESOLUTION
    )  # an attribute of an object
    assert (
        resolver.resolve("items", "fs.SIZES") == resolve.UNBOUND_RESOLUTION
    )  # a method of a module's object


def test_the_class_of_a_receiver_as_the_code_states_it():
    before = "class Table:\n    def render(self, console: Console):\n        c = Console(width=3)\n        "
    assert resolve.receiver_class("python", before, "self") == "Table"
    assert resolve.receiver_class("python", before, "console") == "Console"
    assert resolve.receiver_class("python", before, "c") == "Console"
    assert (
        resolve.receiver_class("python", before + "c = Style()\n        ", "c") == "Style"
    )  # the latest wins
    assert resolve.receiver_class("python", before, "other") is None
    assert resolve.receiver_class("go", "s := &Store{}\n", "s") == "Store"
    assert (
        resolve.receiver_class("typescript", "const c = new BillingClient(url);\n", "c")
        == "BillingClient"
    )


def test_a_package_opened_as_the_workspace_folder_does_not_shadow_the_standard_library(tmp_path):
    # rich/json.py exists, but inside the package `from json import dumps` is the standard library's
    root = tmp_path / "richpkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "json.py").write_text("from json import dumps, loads\n\ndef render(data):\n    pass\n")
    (root / "user.py").write_text("from json import dumps\nfrom .json import render\n")
    built = WorkspaceIndex([root])
    built.build()
    user = str(root / "user.py")
    resolver = resolve.Resolver(built, user, "python", built.outline_of(user).imports)
    assert resolver.resolve("dumps") == resolve.Resolution(resolve.EXTERNAL, module="json")
    assert resolver.resolve("render").kind == resolve.WORKSPACE
    assert resolver.module_file("richpkg.json") == str(root / "json.py")
    # a plain folder (no __init__.py) holds top-level modules
    (root / "__init__.py").unlink()
    flat = WorkspaceIndex([root])
    flat.build()
    assert resolve.Resolver(flat, user, "python", []).module_file("json") == str(root / "json.py")
