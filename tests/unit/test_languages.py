"""The language specs: one per language, each complete, and the editors' lists generated from them."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from smalllsp import lspclient
from smalllsp.syntax import languages, uses
from smalllsp.syntax.languages import language_of, spec_for
from smalllsp.workspace import files

REPO = Path(__file__).resolve().parents[2]
SCOPE_KINDS = {"class", "function", "block", "call", "string", "comment"}
DEFINITION_KINDS = {"function", "method", "class", "type", "constant"}
STRUCTURAL_KINDS = {"wrapper", "impl", "namespace"}


def _sync_languages():
    spec = importlib.util.spec_from_file_location(
        "sync_languages", REPO / "scripts/sync_languages.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_editors_language_lists_are_the_generated_ones():
    """A new or changed spec fails here until `python scripts/sync_languages.py` rewrites them."""
    for path, text in _sync_languages().wanted().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is out of step with the specs: run `python scripts/sync_languages.py`"
        )


def test_the_editors_serve_every_language_id_and_nothing_else():
    sync = _sync_languages()
    ids = [
        "c",
        "cpp",
        "go",
        "java",
        "javascript",
        "javascriptreact",
        "python",
        "rust",
        "typescript",
        "typescriptreact",
    ]
    assert sync.language_ids() == ids
    assert sync.filetypes() == ids
    manifest = (REPO / "editors/vscode/package.json").read_text(encoding="utf-8")
    assert sync.package_json(manifest) == manifest
    assert '"onLanguage:typescriptreact"' in manifest


def test_the_package_finds_one_spec_per_module():
    modules = {p.stem for p in (REPO / "smalllsp/syntax/languages").glob("*.py")} - {"__init__"}
    assert [spec.name for spec in languages.SPECS] == sorted(modules)
    for spec in languages.SPECS:
        assert spec.language_ids[0] == spec.name
        assert spec_for(spec.name) is spec


def test_every_spec_pins_its_grammar_in_pyproject_and_the_grammar_loads():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = pyproject["project"]["dependencies"]
    for spec in languages.SPECS:
        assert spec.grammar_pin in dependencies, spec.name
        assert spec.grammar_pin.startswith(spec.grammar_module.replace("_", "-") + ">=")
        for language_id in spec.language_ids:
            assert languages.language(language_id) is not None, language_id


def test_every_node_type_a_spec_names_is_in_its_grammar():
    """A misspelt or renamed node type would silently never match."""
    for spec in languages.SPECS:
        for language_id in spec.language_ids:
            grammar = languages.language(language_id)
            assert grammar is not None
            named = [
                *spec.scope_kinds,
                *spec.outline.rules,
                *spec.outline.parameter_roles,
                *spec.outline.imports,
                *spec.outline.header_types,
                *spec.calls.calls,
                *spec.calls.callees,
                *spec.calls.names,
                *spec.calls.members,
                *spec.calls.spreads,
                *spec.calls.keyword_arguments,
            ]
            missing = [
                t
                for t in named
                if not (grammar.id_for_node_kind(t, True) or grammar.id_for_node_kind(t, False))
            ]
            assert missing == [], (language_id, missing)


def test_every_spec_uses_only_the_known_kinds():
    for spec in languages.SPECS:
        assert set(spec.scope_kinds.values()) <= SCOPE_KINDS, spec.name
        for node_type, rule in spec.outline.rules.items():
            assert rule.kind in DEFINITION_KINDS | STRUCTURAL_KINDS, (spec.name, node_type)


@pytest.mark.parametrize(
    ("path", "language_id"),
    [
        ("src/app.py", "python"),
        ("stubs/app.pyi", "python"),
        ("LEGACY.PY", "python"),
        ("web/main.mjs", "javascript"),
        ("web/App.jsx", "javascriptreact"),
        ("web/app.ts", "typescript"),
        ("web/App.tsx", "typescriptreact"),
        ("cmd/main.go", "go"),
        ("src/lib.rs", "rust"),
        ("Main.java", "java"),
        ("point.h", "c"),
        ("point.c", "c"),
        ("store.hpp", "cpp"),
        ("store.cc", "cpp"),
        ("README", None),
        ("notes.txt", None),
        (".bashrc", None),
    ],
)
def test_one_language_of_for_every_caller(path, language_id):
    assert language_of(path) == language_id
    assert language_of(Path(path)) == language_id
    assert files.language_of(path) == language_id  # the index's
    assert lspclient.language_of(Path(path)) == (language_id or "plaintext")  # the client's


def test_dialects_share_their_spec_and_cpp_has_its_own():
    """One alias map: a dialect's id leads to its language's spec; C++ is a language of its own."""
    assert spec_for("javascriptreact") is spec_for("javascript")
    assert spec_for("typescriptreact") is spec_for("typescript")
    cpp, c = spec_for("cpp"), spec_for("c")
    assert cpp is not None and c is not None and cpp is not c
    assert [uses.table_language(i) for i in ("cpp", "c", "typescriptreact", "javascriptreact")] == [
        "cpp",
        "c",
        "typescript",
        "javascript",
    ]
    assert spec_for("plaintext") is None
    assert uses.table_language("plaintext") == "plaintext"


TOY = '''
"""A toy language on Python's grammar: what adding a language takes."""

from smalllsp.syntax.languages import python
from smalllsp.syntax.spec import LanguageSpec

SPEC = LanguageSpec(
    name="toy",
    grammar_module="tree_sitter_python",
    grammar_pin="tree-sitter-python>=0.25,<0.26",
    grammars={"toy": "language"},
    extensions={".toy": "toy"},
    scope_kinds=python.SCOPE_KINDS,
    outline=python.SPEC.outline,
    lexer=python.LEXER,
    reserved_words=frozenset({"def", "return"}),
    calls=python.CALLS,
    builtins=python.SPEC.builtins,
    line_comment="#",
)
'''

PROBE = """
from smalllsp.syntax import languages, scope, symbols, uses
assert languages.language_of("game.toy") == "toy", languages.EXTENSIONS
found = symbols.outline("toy", b"def area(r):\\n    return r * r\\n")
print([(d.name, d.kind, d.parameters.names) for d in found.definitions])
print(scope.scope_chain("toy", ["def area(r):", "    return r * r"], 1, 8)[0].kind)
print(uses.unclosed("toy", "area(1, [2"), languages.line_comment("toy"), sorted(found.references))
"""


def test_a_new_language_is_one_module(tmp_path):
    """A copy of the package with one more module in syntax/languages/ serves that language."""
    shutil.copytree(
        REPO / "smalllsp", tmp_path / "smalllsp", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "smalllsp/syntax/languages/toy.py").write_text(TOY, encoding="utf-8")
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == [
        "[('area', 'function', ('r',))]",
        "function",
        "]) # ['area', 'r']",
    ]
