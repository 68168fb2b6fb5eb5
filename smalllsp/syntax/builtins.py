"""Names every program of a language may use without another workspace file.

The cross-file guard counts a call to one of these as local: builtins and
globals, standard-library modules or packages used as receivers, and the
methods of the standard containers and strings (``items.append(x)`` is not a
call into the workspace's ``append``, whatever the workspace defines). The
names are each language spec's ``builtins`` (Python's come from the running
interpreter).
"""

from __future__ import annotations

from smalllsp.syntax import languages
from smalllsp.syntax.spec import Builtins

_NONE = Builtins()


def _of(language: str) -> Builtins:
    """``language``: an LSP language id, or a spec's name (``uses.table_language``)."""
    spec = languages.spec_for(language)
    return spec.builtins if spec is not None else _NONE


def is_builtin(language: str, name: str) -> bool:
    return name in _of(language).names


def is_standard_receiver(language: str, receiver: str) -> bool:
    """``os.path`` or ``std::chrono``: the receiver's first part is a standard module."""
    root = receiver.replace("::", ".").replace("->", ".").split(".", 1)[0].strip()
    return root in _of(language).receivers


def is_standard_method(language: str, name: str) -> bool:
    return name in _of(language).methods
