"""The watcher with real files: what changes on disk shows up in the index."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smalllsp.workspace.index import WorkspaceIndex
from smalllsp.workspace.watcher import WorkspaceWatcher

WORKSPACE = Path(__file__).resolve().parent.parent / "fixtures" / "workspace"
TIMEOUT_S = 10.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(f"not visible within {TIMEOUT_S} s: {what}")


def names_in(index: WorkspaceIndex, name: str) -> set[str]:
    return {symbol.relpath for symbol in index.definitions(name)}


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Path, WorkspaceIndex, WorkspaceWatcher]]:
    root = tmp_path / "ws"
    shutil.copytree(WORKSPACE, root, symlinks=True)
    index = WorkspaceIndex([root])
    index.build()
    watcher = WorkspaceWatcher(index, [root], debounce_s=0.05)
    watcher.start()
    try:
        yield root, index, watcher
    finally:
        watcher.stop()
    assert watcher.failures == 0


def test_file_create_modify_delete(watched):
    root, index, _ = watched
    new = root / "shop" / "coupons.py"
    new.write_text("def apply_coupon(cart, code):\n    return cart\n")
    wait_for(lambda: names_in(index, "apply_coupon") == {"shop/coupons.py"}, "a created file")
    new.write_text("def apply_coupon(cart, code, *, stack=False):\n    return cart\n")
    wait_for(
        lambda: [s.definition.parameters.names for s in index.definitions("apply_coupon")]
        == [("cart", "code", "stack")],
        "a modified file",
    )
    new.unlink()
    wait_for(lambda: index.definitions("apply_coupon") == [], "a deleted file")


def test_file_move_and_rename_across_directories(watched):
    root, index, _ = watched
    shutil.move(root / "store" / "store.go", root / "web" / "store.go")
    wait_for(lambda: names_in(index, "NewStore") == {"web/store.go"}, "a moved file")
    os.rename(root / "web" / "store.go", root / "web" / "store.txt")  # no longer a source file
    wait_for(lambda: index.definitions("NewStore") == [], "a file renamed to a non-source name")


def test_directory_create_move_delete(watched):
    root, index, _ = watched
    package = root / "payments"
    package.mkdir()
    (package / "sepa.py").write_text("def sepa_transfer(iban, amount):\n    pass\n")
    (package / "cards").mkdir()
    (package / "cards" / "visa.py").write_text("def visa_charge(number):\n    pass\n")
    wait_for(
        lambda: names_in(index, "visa_charge") == {"payments/cards/visa.py"},
        "files in a new directory",
    )
    wait_for(
        lambda: names_in(index, "sepa_transfer") == {"payments/sepa.py"},
        "a file in a new directory",
    )
    os.rename(package, root / "billing" / "payments")
    wait_for(
        lambda: names_in(index, "visa_charge") == {"billing/payments/cards/visa.py"}
        and names_in(index, "sepa_transfer") == {"billing/payments/sepa.py"},
        "a moved directory",
    )
    shutil.rmtree(root / "billing")
    wait_for(
        lambda: index.definitions("charge") and names_in(index, "charge") == {"web/client.ts"},
        "a deleted directory",
    )
    assert index.definitions("visa_charge") == []


def test_directory_moved_in_from_outside(watched, tmp_path):
    root, index, _ = watched
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "tax.py").write_text("def vat(amount):\n    return amount\n")
    time.sleep(0.2)
    assert index.definitions("vat") == []
    shutil.move(outside, root / "tax")
    wait_for(lambda: names_in(index, "vat") == {"tax/tax.py"}, "a directory moved into the root")
    shutil.move(root / "tax", tmp_path / "gone")
    wait_for(lambda: index.definitions("vat") == [], "a directory moved out of the root")


def test_ignored_paths_stay_out(watched):
    root, index, watcher = watched
    (root / "node_modules" / "leftpad" / "extra.js").write_text("function padExtra() {}\n")
    (root / "generated" / "more.py").write_text(
        "def more_generated(): pass\n"
    )  # gitignored directory
    (root / ".venv" / "lib" / "python3.11" / "site-packages" / "requests" / "x.py").write_text(
        "def vx(): pass\n"
    )
    marker = root / "shop" / "marker.py"
    marker.write_text(
        "def marker_function(): pass\n"
    )  # written last: once it shows, the others were handled
    wait_for(lambda: index.definitions("marker_function") != [], "the marker file")
    assert index.definitions("padExtra") == [] and index.definitions("more_generated") == []
    assert index.definitions("vx") == []


def test_gitignore_change_reindexes(watched):
    root, index, _ = watched
    (root / ".gitignore").write_text("")  # nothing ignored by the root's .gitignore any more
    wait_for(
        lambda: names_in(index, "generated_function") == {"generated/schema.py"},
        "an un-ignored directory",
    )
    (root / ".gitignore").write_text("store/\n")
    wait_for(lambda: index.definitions("NewStore") == [], "a newly ignored directory")


def test_stop_joins_threads(tmp_path):
    index = WorkspaceIndex([tmp_path])
    index.build()
    watcher = WorkspaceWatcher(index, [tmp_path])
    watcher.start()
    watcher.stop()
    (tmp_path / "late.py").write_text("def late(): pass\n")
    time.sleep(0.3)
    assert index.definitions("late") == []
