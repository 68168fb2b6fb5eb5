from pathlib import Path

from smalllsp.config import settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_configuration_table_is_the_generated_one():
    text = README.read_text(encoding="utf-8")
    start = text.index("-->\n", text.index("<!-- settings-table")) + 4
    end = text.index("<!-- /settings-table -->")
    assert text[start:end].strip() == settings_table()
