"""The open documents' imports are indexed first: resolution by each language's
import rules to workspace files, and the order a real build follows."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from smalllsp.syntax import symbols
from smalllsp.workspace import priority
from smalllsp.workspace.index import WorkspaceIndex


def write(root: Path, relpath: str, text: str) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def resolved(root: Path, relpath: str, language_id: str, text: str) -> list[str]:
    path = write(root, relpath, text)
    outline = symbols.outline(language_id, text.encode())
    assert outline is not None
    return [
        os.path.relpath(p, root) for p in priority.imported_files(str(path), outline, str(root))
    ]


def test_python_imports_resolve_to_workspace_files(tmp_path):
    for relpath in (
        "app/__init__.py",
        "app/models.py",
        "app/util/__init__.py",
        "app/util/text.py",
        "app/util/numbers.py",
        "src/lib/core.py",
        "app/views/helpers.py",
    ):
        write(tmp_path, relpath, "X = 1\n")
    text = (
        "import os\n"
        "import app.models\n"
        "from app.util import text, missing\n"
        "from .helpers import render\n"
        "from ..util.numbers import add\n"
        "from lib import core\n"  # from a folder above the file (src/ layouts)
        "import requests\n"
    )
    assert resolved(tmp_path, "app/views/page.py", "python", text) == [
        "app/models.py",
        "app/util/__init__.py",
        "app/util/text.py",
        "app/views/helpers.py",
        "app/util/numbers.py",
    ]
    assert resolved(tmp_path, "src/main.py", "python", "from lib import core\n") == [
        "src/lib/core.py"
    ]


def test_javascript_c_and_java_imports_resolve(tmp_path):
    write(tmp_path, "web/cart.ts", "export const x = 1;\n")
    write(tmp_path, "web/format/index.js", "export const y = 1;\n")
    js = "import { x } from './cart';\nimport y from './format';\nimport React from 'react';\n"
    assert resolved(tmp_path, "web/app.ts", "typescript", js) == [
        "web/cart.ts",
        "web/format/index.js",
    ]
    write(tmp_path, "native/vec.h", "int dot(int a, int b);\n")
    c = '#include <stdio.h>\n#include "vec.h"\n'
    assert resolved(tmp_path, "native/main.c", "c", c) == ["native/vec.h"]
    write(tmp_path, "java/com/shop/Cart.java", "package com.shop; class Cart {}\n")
    java = "package com.shop.web;\nimport com.shop.Cart;\nimport java.util.List;\n"
    assert resolved(tmp_path, "java/com/shop/web/Page.java", "java", java) == [
        "java/com/shop/Cart.java"
    ]


def chain_workspace(root: Path, filler: int = 400) -> Path:
    """Filler files the walk meets first (it goes in reverse name order), and a chain deep in the tree:
    open.py imports one, one imports two, ... five; plus an ignored folder."""
    for n in range(filler):
        write(root, f"z_filler/d{n % 20}/f{n}.py", f"def filler{n}():\n    return {n}\n")
    deep = "a/deep/er/still"
    write(root, f"{deep}/open.py", "from .one import one\n\ndef main():\n    return one()\n")
    write(root, f"{deep}/one.py", "from .two import two\n\ndef one():\n    return two()\n")
    write(root, f"{deep}/two.py", "from .three import three\n\ndef two():\n    return 2\n")
    write(root, f"{deep}/three.py", "from .four import four\n\ndef three():\n    return 3\n")
    write(root, f"{deep}/four.py", "from .five import five\n\ndef four():\n    return 4\n")
    write(root, f"{deep}/five.py", "def five():\n    return 5\n")
    write(root, f"{deep}/.venv/pyvenv.cfg", "home = /usr\n")
    write(root, f"{deep}/.venv/lib/vendored.py", "def vendored():\n    pass\n")
    return root / deep


def recording(index: WorkspaceIndex) -> list[str]:
    """The order in which files are stored (relative paths)."""
    order: list[str] = []
    real = index._store_outline

    def store(path, root, outline, size, mtime_ns, bytes_read=0):
        order.append(os.path.relpath(path, root))
        real(path, root, outline, size, mtime_ns, bytes_read)

    index._store_outline = store  # type: ignore[method-assign]
    return order


def test_an_open_documents_imports_are_indexed_before_the_rest(tmp_path):
    deep = chain_workspace(tmp_path)
    index = WorkspaceIndex([tmp_path], workers=1)
    order = recording(index)
    index.set_open_document(deep / "open.py", "python", (deep / "open.py").read_text())
    index.build()
    prefix = "a/deep/er/still/"
    # its imports to MAX_DEPTH (3) first, then the walk's order; four.py and five.py
    # (depth 4 and 5) come when the walk reaches them, after every filler file
    assert order[:3] == [prefix + "one.py", prefix + "two.py", prefix + "three.py"]
    assert all(p.startswith("z_filler/") for p in order[3:403])
    assert sorted(order[403:]) == [prefix + name for name in ("five.py", "four.py", "open.py")]
    stats = index.stats()
    assert stats["priority_files"] == 3 and stats["files"] == 406
    assert stats["imports_ready_s"] is not None and stats["imports_ready_s"] < stats["seconds"]


def test_a_document_opened_during_the_build_jumps_the_queue(tmp_path):
    deep = chain_workspace(tmp_path, filler=600)
    index = WorkspaceIndex([tmp_path], workers=1)
    order = recording(index)
    opened = []
    real = index._store_outline

    def store_then_open(path, *args):
        real(path, *args)
        if len(order) == 100 and not opened:  # the editor opens a file a sixth of the way in
            opened.append(threading.current_thread().name)
            index.set_open_outline(
                deep / "open.py",
                "python",
                symbols.outline("python", (deep / "open.py").read_bytes()),
            )

    index._store_outline = store_then_open  # type: ignore[method-assign]
    index.build()
    assert opened
    at = order.index("a/deep/er/still/one.py")
    assert at == 100  # right after the open, not when the walk gets there (~600)
    assert order[at : at + 3] == [f"a/deep/er/still/{n}.py" for n in ("one", "two", "three")]
    assert len(order) == len(set(order)) == 606  # nothing indexed twice


def test_imports_in_ignored_or_private_places_are_not_indexed_first(tmp_path):
    deep = chain_workspace(tmp_path, filler=10)
    text = "from .venv.lib import vendored\nfrom .secrets_x import key\n"
    (deep / "open.py").write_text(text)
    write(deep, "secrets_x.py", "key = 1\n")
    index = WorkspaceIndex([tmp_path], workers=1, private_patterns=("secrets*",))
    order = recording(index)
    index.set_open_document(deep / "open.py", "python", text)
    index.build()
    assert all(p.startswith("z_filler/") for p in order[:10])
    assert not any("vendored" in p or "secrets" in p for p in order)
