"""Which workspace definition a name in a document means, following its imports.

``from .console import Console`` then ``Console(``; ``import rich.filesize as
fs`` then ``fs.decimal(``; ``from . import filesize`` then ``filesize.decimal(``;
``from rich import print`` where ``rich/__init__.py`` re-exports it from
``rich/_print.py``. The call-site context shows the definition found this way,
and the cross-file guard binds a call's arguments against it, so a name that
the document imports means that one definition, not every definition of the
name anywhere in the workspace.

Python imports are resolved fully (relative and absolute, aliases, packages,
re-exports through ``__init__`` files, ``*`` imports); JavaScript/TypeScript
named imports of relative paths too. For other languages the resolver knows
no bindings and callers fall back to the index's name lookup.

The receiver of a method call is typed when the text before the cursor says
so plainly: ``self`` inside a class, ``x = Class(...)``, ``x: Class``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smalllsp.workspace.index import IndexedSymbol, WorkspaceIndex

# How many ``__init__`` files a re-export may go through.
MAX_REEXPORT_DEPTH = 6

WORKSPACE, EXTERNAL, MISSING, UNBOUND = "workspace", "external", "missing", "unbound"


@dataclasses.dataclass(frozen=True)
class Binding:
    """What an import statement binds a local name to."""

    local: str  # the name the document uses
    module: str  # the module, as written: "rich.console", ".console", "..", "./format"
    symbol: (
        str | None
    )  # the imported name for `from m import symbol`; None when the name is the module itself


@dataclasses.dataclass(frozen=True)
class Resolution:
    """What a name (or ``receiver.name``) in the document refers to."""

    kind: str  # WORKSPACE: the symbols below; EXTERNAL: imported from outside the workspace;
    # MISSING: imported from a workspace module that does not define it; UNBOUND: no import names it
    symbols: tuple["IndexedSymbol", ...] = ()
    module: str = ""  # the module it was imported from, as written


UNBOUND_RESOLUTION = Resolution(UNBOUND)

_PY_FROM = re.compile(r"^\s*from\s+(\.*[\w.]*)\s+import\s+(.+)$", re.S)
_PY_IMPORT = re.compile(r"^\s*import\s+(.+)$", re.S)
_JS_NAMED = re.compile(
    r"^\s*import\s+(?:type\s+)?(?:(\w+)\s*,?\s*)?(?:\{([^}]*)\}|\*\s+as\s+(\w+))?\s*from\s*['\"]([^'\"]+)['\"]",
    re.S,
)


def bindings(language_id: str, imports: "tuple[str, ...] | list[str]") -> dict[str, Binding]:
    """The names the import statements bind, later statements winning."""
    found: dict[str, Binding] = {}
    if language_id == "python":
        for statement in imports:
            for binding in _python_bindings(statement):
                found[binding.local] = binding
    elif language_id in ("javascript", "javascriptreact", "typescript", "typescriptreact"):
        for statement in imports:
            for binding in _js_bindings(statement):
                found[binding.local] = binding
    return found


def _python_bindings(statement: str) -> list[Binding]:
    text = re.sub(r"#[^\n]*", "", statement)
    text = " ".join(text.replace("(", " ").replace(")", " ").replace("\\", " ").split())
    matched = _PY_FROM.match(text)
    if matched:
        module, names = matched.group(1), matched.group(2)
        out = []
        for part in names.split(","):
            words = part.split()
            if not words:
                continue
            name = words[0]
            local = words[2] if len(words) == 3 and words[1] == "as" else name
            out.append(Binding(local, module, name))
        return out
    matched = _PY_IMPORT.match(text)
    if not matched:
        return []
    out = []
    for part in matched.group(1).split(","):
        words = part.split()
        if not words:
            continue
        if len(words) == 3 and words[1] == "as":
            out.append(Binding(words[2], words[0], None))
        else:  # `import a.b` binds `a`; `a.b.f()` reaches the submodule
            out.append(Binding(words[0].split(".", 1)[0], words[0].split(".", 1)[0], None))
    return out


def _js_bindings(statement: str) -> list[Binding]:
    matched = _JS_NAMED.match(statement)
    if not matched:
        return []
    default, named, star, module = matched.groups()
    out = []
    if default:
        out.append(Binding(default, module, "default"))
    if star:
        out.append(Binding(star, module, None))
    for part in (named or "").split(","):
        words = part.replace("type ", " ").split()
        if not words:
            continue
        local = words[2] if len(words) == 3 and words[1] == "as" else words[0]
        out.append(Binding(local, module, words[0]))
    return out


class Resolver:
    """Resolves the names of one document against the workspace index."""

    def __init__(
        self,
        index: "WorkspaceIndex | None",
        path: str | None,
        language_id: str,
        imports: "tuple[str, ...] | list[str]",
    ) -> None:
        self.index = index
        self.path = path
        self.language_id = language_id
        self.bindings = bindings(language_id, imports)

    # -- modules -------------------------------------------------------------

    def module_file(self, module: str, from_path: str | None = None) -> str | None:
        """The indexed file of ``module`` imported from ``from_path`` (the document by default)."""
        if self.index is None:
            return None
        from_path = from_path or self.path
        if self.language_id == "python":
            return self._python_module_file(module, from_path)
        if module.startswith(".") and from_path is not None:
            base = os.path.normpath(os.path.join(os.path.dirname(from_path), module))
            stems = [base]
            if base.endswith((".js", ".jsx", ".mjs")):  # TypeScript imports ./api.js for ./api.ts
                stems.append(base.rsplit(".", 1)[0])
            for stem in stems:
                for suffix in (
                    "",
                    ".ts",
                    ".tsx",
                    ".js",
                    ".jsx",
                    ".mjs",
                    "/index.ts",
                    "/index.tsx",
                    "/index.js",
                ):
                    if (suffix or stem == base) and self._indexed(stem + suffix):
                        return stem + suffix
        return None

    def _python_module_file(self, module: str, from_path: str | None) -> str | None:
        level = len(module) - len(module.lstrip("."))
        parts = [p for p in module[level:].split(".") if p]
        bases: list[str] = []
        if level:
            if from_path is None:
                return None
            base = os.path.dirname(from_path)
            for _ in range(level - 1):
                base = os.path.dirname(base)
            bases.append(base)
        else:
            assert self.index is not None
            for root in self.index.roots:
                # A workspace folder that is a package itself (`rich/` opened) holds `rich.json`,
                # not `json`: inside it, `from json import dumps` is the standard library's.
                if not self._indexed(os.path.join(root, "__init__.py")):
                    bases.append(root)
                # The workspace folder may be the package itself (`rich/` opened, `import rich.console`).
                if parts and os.path.basename(root) == parts[0]:
                    bases.append(os.path.dirname(root))
                bases.append(os.path.join(root, "src"))
        for base in bases:
            stem = os.path.join(base, *parts)
            for candidate in (
                stem + ".py",
                stem + ".pyi",
                os.path.join(stem, "__init__.py"),
                os.path.join(stem, "__init__.pyi"),
            ):
                if self._indexed(candidate):
                    return candidate
        return None

    def _indexed(self, path: str) -> bool:
        assert self.index is not None
        return self.index.outline_of(path) is not None

    # -- names ---------------------------------------------------------------

    def resolve(self, name: str, receiver: str | None = None) -> Resolution:
        """What ``name`` (or ``receiver.name``, when the receiver is an imported module) means."""
        if self.index is None:
            return UNBOUND_RESOLUTION
        if receiver is None:
            binding = self.bindings.get(name)
            if binding is None:
                return UNBOUND_RESOLUTION
            if binding.symbol is None:
                return Resolution(
                    EXTERNAL, module=binding.module
                )  # a module called like a function
            return self._symbol_in(binding.module, binding.symbol, self.path, binding.module)
        parts = re.split(r"\s*\.\s*", receiver.strip())
        binding = self.bindings.get(parts[0])
        if binding is None or not all(p.isidentifier() for p in parts):
            return UNBOUND_RESOLUTION
        file = self._module_of_binding(binding)
        if file is None:
            if (
                binding.symbol is not None
                and self._symbol_in(binding.module, binding.symbol, self.path, binding.module).kind
                == WORKSPACE
            ):
                return (
                    UNBOUND_RESOLUTION  # an imported class or object: the caller types the method
                )
            return (
                Resolution(EXTERNAL, module=binding.module)
                if not self._is_workspace_module(binding)
                else Resolution(MISSING, module=binding.module)
            )
        for part in parts[1:]:  # rich.filesize.decimal: a submodule of the bound package
            inner = self._submodule(file, part)
            if inner is None:
                # an object of the module (types.ALL_TYPES_MAP.items()): its methods are not the module's
                return UNBOUND_RESOLUTION
            file = inner
        return self._symbol_in_file(file, name, binding.module, 0)

    def _module_of_binding(self, binding: Binding) -> str | None:
        if binding.symbol is None:
            return self.module_file(binding.module)
        # `from . import filesize`, `from rich import filesize`: the name may be a submodule.
        if self.language_id != "python":
            return None
        joined = binding.module + ("" if binding.module.endswith(".") else ".") + binding.symbol
        return self.module_file(joined)

    def _is_workspace_module(self, binding: Binding) -> bool:
        return self.module_file(binding.module) is not None

    def _submodule(self, package_file: str, part: str) -> str | None:
        if not package_file.endswith(("__init__.py", "__init__.pyi")):
            return None
        base = os.path.join(os.path.dirname(package_file), part)
        for candidate in (base + ".py", base + ".pyi", os.path.join(base, "__init__.py")):
            if self._indexed(candidate):
                return candidate
        return None

    def _symbol_in(
        self, module: str, symbol: str, from_path: str | None, written: str
    ) -> Resolution:
        file = self.module_file(module, from_path)
        if file is None:
            return Resolution(EXTERNAL, module=written)
        return self._symbol_in_file(file, symbol, written, 0)

    def _symbol_in_file(self, file: str, symbol: str, written: str, depth: int) -> Resolution:
        """``symbol`` defined at the top level of ``file``, or re-exported by it."""
        assert self.index is not None
        found = tuple(
            s
            for s in self.index.definitions(symbol)
            if s.path == file and s.definition.container is None
        )
        if found:
            return Resolution(WORKSPACE, found, written)
        outline = self.index.outline_of(file)
        if outline is None or depth >= MAX_REEXPORT_DEPTH:
            return Resolution(MISSING, module=written)
        reexports = bindings(self.language_id, outline.imports)
        binding = reexports.get(symbol)
        if binding is not None and binding.symbol is not None:
            inner = self.module_file(binding.module, file)
            if inner is not None:
                return self._symbol_in_file(inner, binding.symbol, written, depth + 1)
            return Resolution(EXTERNAL, module=binding.module)
        for star in (b for b in reexports.values() if b.symbol == "*"):
            inner = self.module_file(star.module, file)
            if inner is not None:
                resolution = self._symbol_in_file(inner, symbol, written, depth + 1)
                if resolution.kind == WORKSPACE:
                    return resolution
        return Resolution(MISSING, module=written)

    def is_external(self, name: str) -> bool:
        """Whether the document imports ``name`` (or the module it is reached through) from outside the workspace."""
        return self.resolve(name).kind == EXTERNAL


_CLASS_LINE = re.compile(r"^([ \t]*)class[ \t]+([A-Za-z_]\w*)", re.M)


def receiver_class(language_id: str, before: str, receiver: str) -> str | None:
    """The class of ``receiver`` as the text before the cursor states it, or None."""
    if not receiver.isidentifier():
        return None
    if language_id == "python" and receiver in ("self", "cls"):
        lines = before.split("\n")
        indent = len(lines[-1]) - len(lines[-1].lstrip()) if lines else 0
        for matched in reversed(list(_CLASS_LINE.finditer(before))):
            if len(matched.group(1).expandtabs()) < indent:
                return matched.group(2)
        return None
    name = re.escape(receiver)
    patterns = (
        rf"\b{name}\s*=\s*(?:new\s+)?([A-Z]\w*)\s*\(",  # x = Class(...), x = new Class(...)
        rf"\b{name}\s*:\s*([A-Z]\w*)\b",  # x: Class
        rf"\b{name}\s*:=\s*&?([A-Z]\w*)\s*[({{]",  # Go: x := &Store{...}
    )
    best: tuple[int, str] | None = None
    for pattern in patterns:
        for matched in re.finditer(pattern, before):
            if best is None or matched.start() > best[0]:
                best = (matched.start(), matched.group(1))
    return best[1] if best else None
