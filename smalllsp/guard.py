"""The cross-file guard: does a suggestion depend on code the model never saw?

Small models write plausible calls to helpers they have not seen, with
invented parameters. The guard resolves what a candidate calls and names
against the document, the language's builtins and standard library, and the
workspace index, and gives it a verdict:

* ``local``: everything it uses is defined in this file, is standard, or its
  definition was in the prompt;
* ``cross-file``: it uses a symbol defined in another workspace file that the
  model did not see, calls one with arguments that do not fit its indexed
  signature, or changes the name or parameters of a function other files use.

The reasons are short sentences an editor can show next to the suggestion.
A call the guard finds in the workspace but cannot check (its parameters are
unknown, its import does not lead to a definition) is noted in ``unchecked``:
it does not silently pass for a checked one.

Calls are bound like the language binds them (:func:`bind`): positional-only,
keyword-only, defaults, ``*args``/``**kwargs``, a class's constructor (its
``__init__``, ``__new__``, or the fields of a dataclass or NamedTuple), a
method through an instance whose class the code states. Names are resolved
through the document's imports first (smalllsp.workspace.resolve).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Sequence

from tree_sitter import Tree

from smalllsp.syntax import builtins, languages, symbols, uses
from smalllsp.workspace import resolve

if TYPE_CHECKING:
    from smalllsp.workspace.index import IndexedSymbol, WorkspaceIndex

LOCAL = "local"
CROSS_FILE = "cross-file"
POLICIES = ("allow", "flag", "withhold")
# A name with more definitions than this in other files says little about any one of them.
MAX_DEFINITIONS_LISTED = 3


@dataclasses.dataclass(frozen=True)
class Verdict:
    kind: str  # LOCAL or CROSS_FILE
    reasons: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()  # workspace calls the guard could not check, and why
    bound: tuple[
        str, ...
    ] = ()  # workspace calls whose arguments were bound to their definition ("Syntax()")
    unbound: bool = False  # a workspace call's arguments do not bind (one of the reasons says how)
    resampled: bool = (
        False  # drawn again because the first candidate's call did not bind; this one binds
    )

    @property
    def cross_file(self) -> bool:
        return self.kind == CROSS_FILE

    @property
    def checked(self) -> bool:
        """Every workspace call it makes was bound against its definition."""
        return not self.unchecked

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"verdict": self.kind, "reasons": list(self.reasons)}
        if self.unchecked:
            found["unchecked"] = list(self.unchecked)
        if self.resampled:
            found["resampled"] = True
            found["bound"] = list(self.bound)
        return found


LOCAL_VERDICT = Verdict(LOCAL)
# What _judge_call notes for a call whose arguments bound (not an unchecked call).
BOUND = "\0bound"


@dataclasses.dataclass(frozen=True)
class GuardContext:
    """What the guard knows about one completion request."""

    language_id: str
    path: str | None  # the document's file, None when it has none (untitled)
    head: str  # the text before the cursor the guard parses (it starts on a top-level line)
    tail: str  # the text after the cursor
    head_first_line: int  # the document line ``head`` starts on
    document_names: frozenset[str]  # names the document defines (its outline)
    imports: str  # the document's import statements, one per line
    prompt_text: str  # everything the model saw, to tell which definitions were shown
    index: "WorkspaceIndex | None"


def judge(context: GuardContext, candidate: str, tree: Tree | None = None) -> Verdict:
    """The verdict on ``candidate`` inserted at the cursor (``tree``: the spliced
    text's tree, when the caller has parsed it already)."""
    if context.index is None or not candidate.strip():
        return LOCAL_VERDICT
    p = languages.parser(context.language_id)
    if p is None:
        return LOCAL_VERDICT
    head = context.head.encode("utf-8")
    body = candidate.encode("utf-8")
    source = head + body + context.tail.encode("utf-8")
    if tree is None:
        tree = p.parse(source)
    start, end = len(head), len(head) + len(body)
    language = uses.table_language(context.language_id)

    window_outline = symbols.outline(context.language_id, source, tree)
    defined_here = context.document_names | _names_defined(window_outline)
    resolver = resolve.Resolver(
        context.index,
        context.path,
        context.language_id,
        context.imports.split("\n") + _local_imports(context),
    )
    before = context.head + candidate
    reasons: list[str] = []
    unchecked: list[str] = []
    bound: list[str] = []
    unbound = False
    called = set()
    for call in _calls(context, tree, head, body, start, end):
        called.add(call.name)
        reason, note = _judge_call(context, language, call, defined_here, resolver, before)
        if reason and reason not in reasons:
            reasons.append(reason)
        if note and note not in unchecked:
            unchecked.append(note)
        if note == BOUND and f"{call.name}()" not in bound:
            bound.append(f"{call.name}()")
        unbound = unbound or bool(reason and reason.startswith(f"calls {call.name}() with "))
    for name in sorted(uses.names_in(context.language_id, tree.root_node, start, end) - called):
        reason = _judge_name(context, language, name, defined_here, candidate, resolver)
        if reason and reason not in reasons:
            reasons.append(reason)
    for receiver, name in sorted(uses.members_in(context.language_id, tree.root_node, start, end)):
        if name in called:
            continue
        reason = _judge_member(context, receiver, name, resolver)
        if reason and reason not in reasons:
            reasons.append(reason)
    if window_outline is not None and context.path is not None:
        reasons.extend(_signature_changes(context, window_outline, source, start, end))
    unchecked = [n for n in unchecked if n != BOUND]
    if reasons:
        return Verdict(CROSS_FILE, tuple(reasons), tuple(unchecked), tuple(bound), unbound)
    return (
        Verdict(LOCAL, (), tuple(unchecked), tuple(bound)) if unchecked or bound else LOCAL_VERDICT
    )


def _calls(
    context: GuardContext, tree: Tree, head: bytes, body: bytes, start: int, end: int
) -> list[uses.Call]:
    """The calls the candidate writes; a call it leaves open (``Syntax(1, 2, 3``,
    which parses as no call at all) is read as if closed right after it."""
    found = uses.calls_in(context.language_id, tree.root_node, start, end)
    if not tree.root_node.has_error:
        return found
    written = (head + body).decode("utf-8", errors="replace")
    closers = uses.unclosed(context.language_id, written)
    if not closers:
        return found
    p = languages.parser(context.language_id)
    assert p is not None
    closed = p.parse(head + body + closers.encode("utf-8") + b"\n")
    seen = {(c.start_byte, c.name) for c in found}
    extra = [
        c
        for c in uses.calls_in(context.language_id, closed.root_node, start, end)
        if (c.start_byte, c.name) not in seen
    ]
    return sorted(found + extra, key=lambda c: c.start_byte)


def _names_defined(outline: symbols.Outline | None) -> frozenset[str]:
    return frozenset(d.name for d in outline.definitions) if outline is not None else frozenset()


def _elsewhere(context: GuardContext, name: str) -> list["IndexedSymbol"]:
    """Definitions of ``name`` in other workspace files."""
    assert context.index is not None
    return [s for s in context.index.definitions(name) if s.path != context.path]


def _shown(context: GuardContext, found: "IndexedSymbol") -> bool:
    """Whether the model saw the definition: its first line is in the prompt."""
    first = found.definition.signature.strip().split("\n", 1)[0].strip()
    return bool(first) and first in context.prompt_text


def _imported(context: GuardContext, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", context.imports) is not None


def _where(found: Sequence["IndexedSymbol"]) -> str:
    paths = sorted({s.relpath for s in found})
    if len(paths) > MAX_DEFINITIONS_LISTED:
        return f"{len(paths)} workspace files"
    return ", ".join(paths)


def _candidates_for_call(
    context: GuardContext, call: uses.Call, found: list["IndexedSymbol"]
) -> list["IndexedSymbol"]:
    """The definitions a call can mean: methods for ``obj.name()``, functions
    and classes for ``name()`` or ``module.name()``."""
    module_receiver = call.receiver is not None and _imported(
        context, _receiver_root(call.receiver)
    )
    if call.receiver is None:
        wanted = [s for s in found if s.definition.kind != "method"]
    elif module_receiver:
        wanted = found
    else:
        wanted = [s for s in found if s.definition.kind == "method"]
    imported_from = [
        s for s in wanted if _module_stem(s.relpath) and _imported(context, _module_stem(s.relpath))
    ]
    return imported_from or wanted


def _receiver_root(receiver: str) -> str:
    return re.split(r"\.|::|->", receiver, maxsplit=1)[0].strip()


def _module_stem(relpath: str) -> str:
    """``billing/api.py`` -> ``api``: the name an import of that file mentions."""
    stem = relpath.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return "" if stem in ("__init__", "index", "mod", "lib", "main") else stem


def _judge_call(
    context: GuardContext,
    language: str,
    call: uses.Call,
    defined_here: frozenset[str],
    resolver: resolve.Resolver,
    before: str,
) -> tuple[str | None, str | None]:
    """The reason the call is cross-file (or None), and a note when it could not be checked."""
    found: list["IndexedSymbol"] | None = None
    guessed = False
    if call.receiver is None:
        resolution = resolver.resolve(call.name)
        if resolution.kind == resolve.EXTERNAL:
            return None, None  # imported from a library, not from this workspace
        if resolution.kind == resolve.MISSING:
            return (
                None,
                f"{call.name}() is imported from {resolution.module}, where the index finds no definition of it",
            )
        if resolution.kind == resolve.WORKSPACE:
            found = [s for s in resolution.symbols if s.path != context.path]
            if not found:
                return None, None
        elif (
            call.name in defined_here
            or builtins.is_builtin(language, call.name)
            or _bound_locally(context, call.name)
        ):
            return None, None
    else:
        if builtins.is_standard_receiver(language, call.receiver):
            return None, None
        resolution = resolver.resolve(call.name, call.receiver)
        if resolution.kind == resolve.EXTERNAL:
            return None, None
        if resolution.kind == resolve.MISSING:
            return (
                None,
                f"{call.receiver}.{call.name}() is not defined in {resolution.module} as the index has it",
            )
        if resolution.kind == resolve.WORKSPACE:
            found = list(resolution.symbols)
        else:
            klass = resolve.receiver_class(
                context.language_id, before, _receiver_root(call.receiver)
            )
            if klass is not None and call.receiver.isidentifier():
                if klass in defined_here:
                    return None, None
                methods = [
                    s for s in _elsewhere(context, call.name) if s.definition.container == klass
                ]
                if not methods:
                    classes = [
                        s for s in _elsewhere(context, klass) if s.definition.kind == "class"
                    ]
                    if classes:
                        return (
                            None,
                            f"{call.receiver}.{call.name}(): {klass} in {_where(classes)} defines no {call.name} (inherited?), not checked",
                        )
                    return None, None
                found = methods
            else:
                receiver_is_workspace_module = _imported(context, _receiver_root(call.receiver))
                if not receiver_is_workspace_module and (
                    call.name in defined_here or builtins.is_standard_method(language, call.name)
                ):
                    return None, None
                # a method found by its name alone (`match.span(0)` is re.Match's, not Measurement's)
                guessed = not receiver_is_workspace_module
    if found is None:
        found = _candidates_for_call(context, call, _elsewhere(context, call.name))
    if not found:
        return None, None
    shown = [s for s in found if _shown(context, s)]
    if not shown:
        return f"uses {call.name}() from {_where(found)}, not seen by the model", None
    assert context.index is not None
    known = [(s, resolve.constructor(context.index, s)) for s in shown]
    checked = [(s, found) for s, found in known if found is not None]
    if not checked:
        return (
            None,
            f"{call.name}() from {_where(shown)}: its parameters are not known, the arguments were not checked",
        )
    problems = [bind(parameters, call) for _s, (parameters, _origin) in checked]
    if all(problems) and guessed:
        return (
            None,
            f"{call.receiver}.{call.name}(): the receiver's class is not known, the arguments were not checked",
        )
    if all(problems):
        first, (parameters, origin) = checked[0]
        return (
            f"calls {call.name}() with {problems[0]}; {first.relpath} defines {_signature_of(first, parameters, origin)}",
            None,
        )
    return None, BOUND


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def bind(parameters: symbols.Parameters, call: uses.Call) -> str | None:
    """What is wrong with binding the call's arguments to ``parameters`` as the
    language would, or None when they bind (or cannot be counted: ``*args``)."""
    slots = parameters.positional
    if call.positional > len(slots) and not parameters.variadic:
        keyword_only = parameters.names[len(slots) :]
        also = (
            f"; {', '.join(keyword_only)} {'is' if len(keyword_only) == 1 else 'are'} keyword-only"
            if keyword_only
            else ""
        )
        return f"{_plural(call.positional, 'positional argument')} (it takes {len(slots)}{also})"
    filled = set(slots[: call.positional])
    positional_only = parameters.names[: parameters.positional_only]
    for keyword in call.keywords:
        if keyword in positional_only:
            if not parameters.keywords:
                return f"{keyword}= by keyword, but {keyword} is positional-only"
            continue  # it goes into **kwargs
        if keyword in filled:
            return f"{keyword} given twice (by position and as {keyword}=)"
        if keyword not in parameters.names:
            if not parameters.keywords:
                return f"an unknown keyword {keyword}="
            continue
        filled.add(keyword)
    if call.spread:
        return None
    missing = [n for n in parameters.required_names if n not in filled]
    if missing:
        return f"no argument for {missing[0]}"
    return None


def _signature_of(found: "IndexedSymbol", parameters: symbols.Parameters, origin: str) -> str:
    """The definition's header, and for a class the constructor it is called through
    (``origin``: where that constructor is, when the class inherits it)."""
    definition = found.definition
    text = _one_line(definition.signature)
    if definition.kind == "class":
        inherited = "" if definition.parameters is not None else f", from {origin}"
        text += f" ({describe_parameters(parameters)}{inherited})"
    return text


def describe_parameters(parameters: symbols.Parameters) -> str:
    """``a, b=…, /, c, *args, d, **kwargs``: the shape of a parameter list, Python-style."""
    parts = []
    names = parameters.names
    first_keyword_only = len(names) - parameters.keyword_only
    for i, name in enumerate(names):
        if i == first_keyword_only and not parameters.variadic:
            parts.append("*")
        if i == first_keyword_only and parameters.variadic:
            parts.append("*args")
        parts.append(f"{name}=…" if name in parameters.optional else name)
        if parameters.positional_only and i == parameters.positional_only - 1:
            parts.append("/")
    if parameters.variadic and first_keyword_only >= len(names):
        parts.append("*args")
    if parameters.keywords:
        parts.append("**kwargs")
    return ", ".join(parts)


def _judge_name(
    context: GuardContext,
    language: str,
    name: str,
    defined_here: frozenset[str],
    candidate: str,
    resolver: resolve.Resolver,
) -> str | None:
    """A name the candidate uses without calling it (a constant, a class, a type)."""
    resolution = resolver.resolve(name)
    if resolution.kind in (resolve.EXTERNAL, resolve.MISSING):
        return None
    if resolution.kind == resolve.WORKSPACE:
        found = [s for s in resolution.symbols if s.path != context.path]
        if not found or any(_shown(context, s) for s in found):
            return None
        return f"uses {name} from {_where(found)}, not seen by the model"
    if name in defined_here or builtins.is_builtin(language, name) or len(name) < 2:
        return None
    # A bare name is not a class's member (a field, a method) elsewhere.
    found = [
        s
        for s in _elsewhere(context, name)
        if s.definition.kind != "method" and s.definition.container is None
    ]
    if not found:
        return None
    # A name the document already uses (a local variable, a parameter) is its
    # own unless it comes from an import.
    if not _imported(context, name) and _used_outside(context, name):
        return None
    if any(_shown(context, s) for s in found):
        return None
    return f"uses {name} from {_where(found)}, not seen by the model"


def _judge_member(
    context: GuardContext, receiver: str, name: str, resolver: resolve.Resolver
) -> str | None:
    """``module.NAME`` where the module is a workspace file: the name as the module defines it.
    An attribute of anything else (``StyleType.bold``, ``self.items``) is not a workspace name."""
    resolution = resolver.resolve(name, receiver)
    if resolution.kind == resolve.WORKSPACE:
        found = [s for s in resolution.symbols if s.path != context.path]
        if found and not any(_shown(context, s) for s in found):
            return f"uses {receiver}.{name} from {_where(found)}, not seen by the model"
        return None
    if (
        resolution.kind != resolve.UNBOUND
        or resolver.bindings
        or not _imported(context, _receiver_root(receiver))
    ):
        return None
    # Languages whose imports the resolver does not read (Go, Rust, ...): a package's member.
    found = [s for s in _elsewhere(context, name) if s.definition.kind != "method"]
    found = [
        s for s in found if _module_stem(s.relpath) == _receiver_root(receiver) or len(found) == 1
    ]
    if found and not any(_shown(context, s) for s in found):
        return f"uses {receiver}.{name} from {_where(found)}, not seen by the model"
    return None


_LOCAL_IMPORT = re.compile(r"^[ \t]+((?:from[ \t]+\S+[ \t]+)?import[ \t]+[^\n(]+)$", re.M)


def _local_imports(context: GuardContext) -> list[str]:
    """Python imports inside a function above the cursor (``from IPython.display import display``)."""
    if context.language_id != "python":
        return []
    return [m.group(1).strip() for m in _LOCAL_IMPORT.finditer(context.head)]


def _bound_locally(context: GuardContext, name: str) -> bool:
    """Python: the code above the cursor binds ``name`` itself (``_cell_len = cell_len``, a
    parameter, a loop variable, ``with ... as name``), so it is not the workspace's."""
    if context.language_id != "python":
        return False
    n = re.escape(name)
    return any(
        re.search(pattern, context.head, re.M)
        for pattern in (
            rf"^[ \t]*(?:[\w.]+[ \t]*,[ \t]*)*{n}[ \t]*(?:,[ \t]*[\w.]+[ \t]*)*(?::[^=\n]*)?=(?!=)",
            rf"^[ \t]*(?:async[ \t]+)?def[ \t]+\w+[ \t]*\([^)]*\b{n}\b",
            rf"^[ \t]*(?:async[ \t]+)?for[ \t]+[^\n]*\b{n}\b[^\n]*[ \t]in[ \t]",
            rf"^(?![ \t]*(?:from|import)[ \t])[^\n]*\bas[ \t]+{n}\b",  # with ... as name
        )
    )


def _used_outside(context: GuardContext, name: str) -> bool:
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    return pattern.search(context.head) is not None or pattern.search(context.tail) is not None


def _signature_changes(
    context: GuardContext, outline: symbols.Outline, source: bytes, start: int, end: int
) -> list[str]:
    """Definitions whose header the candidate writes, compared with what other files were written against."""
    assert context.index is not None and context.path is not None
    first_line = source[:start].count(b"\n")
    last_line = source[:end].count(b"\n")
    saved = context.index.saved_definitions(context.path)
    reasons = []
    for new in outline.definitions:
        if new.parameters is None:
            continue
        header_last = new.start_line + new.signature.count("\n")
        if header_last < first_line or new.start_line > last_line:
            continue  # the candidate does not touch this header
        line_in_document = context.head_first_line + new.start_line
        old = _saved_counterpart(saved, new, line_in_document)
        if old is None or old.parameters is None:
            continue
        if old.name == new.name and old.parameters == new.parameters:
            continue
        users = [p for p in context.index.referencing_files(old.name) if p != context.path]
        if not users:
            continue
        where = _where_paths(context, users)
        if old.name != new.name:
            reasons.append(
                f"renames {old.name}() to {new.name}(), which {where} use{'s' if len(users) == 1 else ''}"
            )
        else:
            reasons.append(
                f"changes the parameters of {old.name}(), which {where} use{'s' if len(users) == 1 else ''}"
            )
    return reasons


def _saved_counterpart(
    saved: Sequence[symbols.Definition], new: symbols.Definition, line: int
) -> symbols.Definition | None:
    """The saved definition the new header replaces: same name and container, else the one on its line."""
    for old in saved:
        if old.name == new.name and old.container == new.container:
            return old
    for old in saved:
        if old.start_line == line and old.kind == new.kind:
            return old
    return None


def _where_paths(context: GuardContext, paths: list[str]) -> str:
    assert context.index is not None
    relpaths = sorted(context.index.relpath(p) for p in paths)
    if len(relpaths) > MAX_DEFINITIONS_LISTED:
        return f"{len(relpaths)} other files"
    return ", ".join(relpaths)


def _one_line(signature: str) -> str:
    return " ".join(signature.split())[:120]
