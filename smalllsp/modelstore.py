"""The model store's API in one import, for the rest of smalllsp (``from smalllsp import modelstore``).

The code lives in :mod:`smalllsp.models`: catalog.py (the known models),
store.py (where files live, verify, remove, safe writing), install.py (from
package-index chunks), importing.py (a file the user brings), auto.py
(``model = auto``). The catalog's source is the repository's
``models/registry.toml``.
"""

from __future__ import annotations

from smalllsp.models.catalog import (
    DEFAULT,
    CatalogModel,
    StoreError,
    catalog,
    check_name,
    parse_catalog,
)
from smalllsp.models.importing import import_file
from smalllsp.models.install import CHUNKS_PREFIX, clean_stale_chunk_folders, install
from smalllsp.models.store import (
    TRUST_FILE,
    Entry,
    Progress,
    entries,
    find,
    installed_path,
    models,
    remove,
    resolve,
    sha256_of,
    store_dir,
    verify,
)

__all__ = [
    "CHUNKS_PREFIX",
    "DEFAULT",
    "TRUST_FILE",
    "CatalogModel",
    "Entry",
    "Progress",
    "StoreError",
    "catalog",
    "check_name",
    "clean_stale_chunk_folders",
    "entries",
    "find",
    "import_file",
    "install",
    "installed_path",
    "models",
    "parse_catalog",
    "remove",
    "resolve",
    "sha256_of",
    "store_dir",
    "verify",
]
