"""Rewrite README.md's settings table from smalllsp.config.settings_table (between the settings-table markers)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from smalllsp.config import settings_table

README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> int:
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(r"(<!-- settings-table[^\n]*-->\n)(.*?)(<!-- /settings-table -->)", re.S)
    if not pattern.search(text):
        print("README.md has no settings-table markers", file=sys.stderr)
        return 1
    new = pattern.sub(lambda m: m.group(1) + settings_table() + "\n" + m.group(3), text, count=1)
    if new != text:
        README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
