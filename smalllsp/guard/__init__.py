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
from typing import TYPE_CHECKING

from tree_sitter import Tree

from smalllsp.guard import fields as guard_fields
from smalllsp.guard import signatures as guard_signatures
from smalllsp.guard import lookup
from smalllsp.guard.binder import bind, describe_parameters
from smalllsp.guard.binder import renames as bind_renames
from smalllsp.syntax import builtins, languages, symbols, uses
from smalllsp.workspace import constructors, resolve

if TYPE_CHECKING:
    from smalllsp.workspace.index import IndexedSymbol, WorkspaceIndex

LOCAL = "local"
CROSS_FILE = "cross-file"
POLICIES = ("allow", "flag", "withhold")
MAX_DEFINITIONS_LISTED = lookup.MAX_DEFINITIONS_LISTED


@dataclasses.dataclass(frozen=True)
class Verdict:
    kind: str  # LOCAL or CROSS_FILE
    reasons: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()  # workspace calls the guard could not check, and why
    bound: tuple[
        str, ...
    ] = ()  # workspace calls whose arguments were bound to their definition ("Syntax()")
    unbound: bool = False  # a workspace call's arguments do not bind (one of the reasons says how)
    # bound calls whose definition takes no argument at all (``Session()``): nothing else binds
    takes_nothing: tuple[str, ...] = ()
    resampled: bool = (
        False  # drawn again because the first candidate's call did not bind; this one binds
    )
    # unknown keywords of calls that do not bind, and the parameter each nearly names
    # (``("terminal_color", "color")``): the rename the pipeline may try (binder.renames)
    renames: tuple[tuple[str, str], ...] = ()
    # the keywords this candidate had renamed ("terminal_color= → color=")
    repaired: tuple[str, ...] = ()

    @property
    def cross_file(self) -> bool:
        return self.kind == CROSS_FILE

    @property
    def checks_out(self) -> bool:
        """Local, and the workspace calls it makes bind (or could not be checked): a candidate
        drawn again, or repaired, for a call that did not bind is shown only so."""
        return not self.cross_file and bool(self.bound or self.unchecked)

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
        if self.repaired:
            found["repaired"] = list(self.repaired)
        return found


LOCAL_VERDICT = Verdict(LOCAL)
# What _judge_call notes for a call whose arguments bound (not an unchecked call), and for one
# whose definition takes no argument at all.
BOUND = "\0bound"
BOUND_TO_NOTHING = "\0bound, takes nothing"


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
        context.imports.split("\n") + lookup.local_imports(context),
    )
    before = context.head + candidate
    reasons: list[str] = []
    unchecked: list[str] = []
    bound: list[str] = []
    takes_nothing: list[str] = []
    suggested: list[tuple[str, str]] = []
    unbound = False
    called = set()
    for call in _calls(context, tree, head, body, start, end):
        called.add(call.name)
        reason, note, renames = _judge_call(context, language, call, defined_here, resolver, before)
        if reason and reason not in reasons:
            reasons.append(reason)
        suggested.extend(r for r in renames if r not in suggested)
        if note and note not in unchecked:
            unchecked.append(note)
        if note in (BOUND, BOUND_TO_NOTHING) and f"{call.name}()" not in bound:
            bound.append(f"{call.name}()")
        if note == BOUND_TO_NOTHING and f"{call.name}()" not in takes_nothing:
            takes_nothing.append(f"{call.name}()")
        unbound = unbound or bool(reason and reason.startswith(f"calls {call.name}() with "))
    if context.language_id == "go":  # struct literals: Point{X: 1} against Point's fields
        for literal in guard_fields.literals(tree.root_node, start, end, source):
            reason, checked = guard_fields.judge_literal(context, literal, defined_here)
            if reason and reason not in reasons:
                reasons.append(reason)
            unbound = unbound or bool(reason)
            if checked and f"{literal.type_name}{{}}" not in bound:
                bound.append(f"{literal.type_name}{{}}")
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
        reasons.extend(
            guard_signatures.signature_changes(context, window_outline, source, start, end)
        )
    unchecked = [n for n in unchecked if n not in (BOUND, BOUND_TO_NOTHING)]
    if reasons:
        return Verdict(
            CROSS_FILE,
            tuple(reasons),
            tuple(unchecked),
            tuple(bound),
            unbound,
            renames=tuple(suggested),
        )
    if not (unchecked or bound):
        return LOCAL_VERDICT
    return Verdict(LOCAL, (), tuple(unchecked), tuple(bound), takes_nothing=tuple(takes_nothing))


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


def _candidates_for_call(
    context: GuardContext, call: uses.Call, found: list["IndexedSymbol"]
) -> list["IndexedSymbol"]:
    """The definitions a call can mean: methods for ``obj.name()``, functions
    and classes for ``name()`` or ``module.name()``."""
    module_receiver = call.receiver is not None and lookup.imported(
        context, lookup.receiver_root(call.receiver)
    )
    if call.receiver is None:
        wanted = [s for s in found if s.definition.kind != "method"]
    elif module_receiver:
        wanted = found
    else:
        wanted = [s for s in found if s.definition.kind == "method"]
    imported_from = [
        s
        for s in wanted
        if lookup.module_stem(s.relpath) and lookup.imported(context, lookup.module_stem(s.relpath))
    ]
    return imported_from or wanted


def _judge_call(
    context: GuardContext,
    language: str,
    call: uses.Call,
    defined_here: frozenset[str],
    resolver: resolve.Resolver,
    before: str,
) -> tuple[str | None, str | None, tuple[tuple[str, str], ...]]:
    """The reason the call is cross-file (or None), a note when it could not be checked, and the
    renames of its unknown keywords that its definition suggests when it does not bind."""
    found: list["IndexedSymbol"] | None = None
    guessed = False
    if call.receiver is None:
        resolution = resolver.resolve(call.name)
        if resolution.kind == resolve.EXTERNAL:
            return None, None, ()  # imported from a library, not from this workspace
        if resolution.kind == resolve.MISSING:
            return (
                None,
                f"{call.name}() is imported from {resolution.module}, where the index finds no definition of it",
                (),
            )
        if resolution.kind == resolve.WORKSPACE:
            found = [s for s in resolution.symbols if s.path != context.path]
            if not found:
                return None, None, ()
        elif (
            call.name in defined_here
            or builtins.is_builtin(language, call.name)
            or lookup.bound_locally(context, call.name)
        ):
            return None, None, ()
    else:
        resolution = resolver.resolve(call.name, call.receiver)
        # `from . import types` then types.IntRange(): the package's module, not the standard one
        if resolution.kind != resolve.WORKSPACE and builtins.is_standard_receiver(
            language, call.receiver
        ):
            return None, None, ()
        if resolution.kind == resolve.EXTERNAL:
            return None, None, ()
        if resolution.kind == resolve.MISSING:
            return (
                None,
                f"{call.receiver}.{call.name}() is not defined in {resolution.module} as the index has it",
                (),
            )
        if resolution.kind == resolve.WORKSPACE:
            found = list(resolution.symbols)
        else:
            klass = resolve.receiver_class(
                context.language_id, before, lookup.receiver_root(call.receiver)
            )
            if klass is not None and call.receiver.isidentifier():
                if klass in defined_here:
                    return None, None, ()
                methods = [
                    s
                    for s in lookup.elsewhere(context, call.name)
                    if s.definition.container == klass
                ]
                if not methods:
                    classes = [
                        s for s in lookup.elsewhere(context, klass) if s.definition.kind == "class"
                    ]
                    if classes:
                        return (
                            None,
                            f"{call.receiver}.{call.name}(): {klass} in {lookup.where(classes)} defines no {call.name} (inherited?), not checked",
                            (),
                        )
                    return None, None, ()
                found = methods
            else:
                receiver_is_workspace_module = lookup.imported(
                    context, lookup.receiver_root(call.receiver)
                )
                if not receiver_is_workspace_module and (
                    call.name in defined_here or builtins.is_standard_method(language, call.name)
                ):
                    return None, None, ()
                # a method found by its name alone (`match.span(0)` is re.Match's, not Measurement's)
                guessed = not receiver_is_workspace_module
    if found is None:
        found = _candidates_for_call(context, call, lookup.elsewhere(context, call.name))
    if not found:
        return None, None, ()
    shown = [s for s in found if lookup.shown(context, s)]
    if not shown:
        return f"uses {call.name}() from {lookup.where(found)}, not seen by the model", None, ()
    assert context.index is not None
    known = [(s, constructors.constructor(context.index, s)) for s in shown]
    checked = [(s, found) for s, found in known if found is not None]
    if not checked:
        return (
            None,
            f"{call.name}() from {lookup.where(shown)}: its parameters are not known, the arguments were not checked",
            (),
        )
    problems = [bind(parameters, call) for _s, (parameters, _origin) in checked]
    if all(problems) and guessed:
        return (
            None,
            f"{call.receiver}.{call.name}(): the receiver's class is not known, the arguments were not checked",
            (),
        )
    if all(problems):
        first, (parameters, origin) = checked[0]
        return (
            f"calls {call.name}() with {problems[0]}; {first.relpath} defines {_signature_of(first, parameters, origin)}",
            None,
            bind_renames(parameters, call),
        )
    takes_nothing = all(
        not (parameters.names or parameters.variadic or parameters.keywords)
        for problem, (_s, (parameters, _origin)) in zip(problems, checked)
        if problem is None
    )
    return None, BOUND_TO_NOTHING if takes_nothing else BOUND, ()


def _signature_of(found: "IndexedSymbol", parameters: symbols.Parameters, origin: str) -> str:
    """The definition's header, and for a class the constructor it is called through
    (``origin``: where that constructor is, when the class inherits it)."""
    definition = found.definition
    text = lookup.one_line(definition.signature)
    if definition.kind == "class":
        inherited = "" if definition.parameters is not None else f", from {origin}"
        text += f" ({describe_parameters(parameters)}{inherited})"
    return text


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
        if not found or any(lookup.shown(context, s) for s in found):
            return None
        return f"uses {name} from {lookup.where(found)}, not seen by the model"
    if name in defined_here or builtins.is_builtin(language, name) or len(name) < 2:
        return None
    # A bare name is not a class's member (a field, a method) elsewhere.
    found = [
        s
        for s in lookup.elsewhere(context, name)
        if s.definition.kind != "method" and s.definition.container is None
    ]
    if not found:
        return None
    # A name the document already uses (a local variable, a parameter) is its
    # own unless it comes from an import.
    if not lookup.imported(context, name) and lookup.used_outside(context, name):
        return None
    if any(lookup.shown(context, s) for s in found):
        return None
    return f"uses {name} from {lookup.where(found)}, not seen by the model"


def _judge_member(
    context: GuardContext, receiver: str, name: str, resolver: resolve.Resolver
) -> str | None:
    """``module.NAME`` where the module is a workspace file: the name as the module defines it.
    An attribute of anything else (``StyleType.bold``, ``self.items``) is not a workspace name."""
    resolution = resolver.resolve(name, receiver)
    if resolution.kind == resolve.WORKSPACE:
        found = [s for s in resolution.symbols if s.path != context.path]
        if found and not any(lookup.shown(context, s) for s in found):
            return f"uses {receiver}.{name} from {lookup.where(found)}, not seen by the model"
        return None
    if (
        resolution.kind != resolve.UNBOUND
        or resolver.bindings
        or not lookup.imported(context, lookup.receiver_root(receiver))
    ):
        return None
    # Languages whose imports the resolver does not read (Go, Rust, ...): a package's member.
    found = [s for s in lookup.elsewhere(context, name) if s.definition.kind != "method"]
    found = [
        s
        for s in found
        if lookup.module_stem(s.relpath) == lookup.receiver_root(receiver) or len(found) == 1
    ]
    if found and not any(lookup.shown(context, s) for s in found):
        return f"uses {receiver}.{name} from {lookup.where(found)}, not seen by the model"
    return None
