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
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Sequence

from tree_sitter import Tree

from smalllsp.syntax import builtins, languages, symbols, uses

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

    @property
    def cross_file(self) -> bool:
        return self.kind == CROSS_FILE

    def as_dict(self) -> dict[str, object]:
        return {"verdict": self.kind, "reasons": list(self.reasons)}


LOCAL_VERDICT = Verdict(LOCAL)


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
    reasons: list[str] = []
    called = set()
    for call in uses.calls_in(context.language_id, tree.root_node, start, end):
        called.add(call.name)
        reason = _judge_call(context, language, call, defined_here)
        if reason and reason not in reasons:
            reasons.append(reason)
    for name in sorted(uses.names_in(context.language_id, tree.root_node, start, end) - called):
        reason = _judge_name(context, language, name, defined_here, candidate)
        if reason and reason not in reasons:
            reasons.append(reason)
    if window_outline is not None and context.path is not None:
        reasons.extend(_signature_changes(context, window_outline, source, start, end))
    return Verdict(CROSS_FILE, tuple(reasons)) if reasons else LOCAL_VERDICT


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


def _candidates_for_call(context: GuardContext, call: uses.Call, found: list["IndexedSymbol"]) -> list["IndexedSymbol"]:
    """The definitions a call can mean: methods for ``obj.name()``, functions
    and classes for ``name()`` or ``module.name()``."""
    module_receiver = call.receiver is not None and _imported(context, _receiver_root(call.receiver))
    if call.receiver is None:
        wanted = [s for s in found if s.definition.kind != "method"]
    elif module_receiver:
        wanted = found
    else:
        wanted = [s for s in found if s.definition.kind == "method"]
    imported_from = [s for s in wanted if _module_stem(s.relpath) and _imported(context, _module_stem(s.relpath))]
    return imported_from or wanted


def _receiver_root(receiver: str) -> str:
    return re.split(r"\.|::|->", receiver, maxsplit=1)[0].strip()


def _module_stem(relpath: str) -> str:
    """``billing/api.py`` -> ``api``: the name an import of that file mentions."""
    stem = relpath.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return "" if stem in ("__init__", "index", "mod", "lib", "main") else stem


def _judge_call(context: GuardContext, language: str, call: uses.Call, defined_here: frozenset[str]) -> str | None:
    if call.receiver is None:
        if call.name in defined_here or builtins.is_builtin(language, call.name):
            return None
    else:
        if builtins.is_standard_receiver(language, call.receiver):
            return None
        receiver_is_workspace_module = _imported(context, _receiver_root(call.receiver))
        if not receiver_is_workspace_module and (
            call.name in defined_here or builtins.is_standard_method(language, call.name)
        ):
            return None
    found = _candidates_for_call(context, call, _elsewhere(context, call.name))
    if not found:
        return None
    shown = [s for s in found if _shown(context, s)]
    if not shown:
        return f"uses {call.name}() from {_where(found)}, not seen by the model"
    checked = [s for s in shown if s.definition.parameters is not None]
    if not checked:
        return None
    problems = [_arity_problem(call, s.definition.parameters, language) for s in checked]
    if all(problems):
        first = checked[0]
        return f"calls {call.name}() with {problems[0]}; {first.relpath} defines {_one_line(first.definition.signature)}"
    return None


def _arity_problem(call: uses.Call, parameters: symbols.Parameters, language: str) -> str | None:
    """What is wrong with the call's arguments for ``parameters``, or None."""
    names = parameters.names
    if call.positional > len(names) and not parameters.variadic:
        return f"{call.positional} positional arguments (it takes {len(names)})"
    unknown = [k for k in call.keywords if k not in names]
    if unknown and not parameters.keywords:
        return f"an unknown keyword {unknown[0]}="
    if call.spread:
        return None
    # The required parameters come first; each needs a positional or a keyword argument.
    missing = [n for n in names[call.positional : parameters.required] if n not in call.keywords]
    if missing:
        return f"no argument for {missing[0]}"
    if call.positional + len(call.keywords) < parameters.required:
        return f"{call.positional + len(call.keywords)} arguments (it needs {parameters.required})"
    return None


def _judge_name(context: GuardContext, language: str, name: str, defined_here: frozenset[str], candidate: str) -> str | None:
    """A name the candidate uses without calling it (a constant, a class, a type)."""
    if name in defined_here or builtins.is_builtin(language, name) or len(name) < 2:
        return None
    found = [s for s in _elsewhere(context, name) if s.definition.kind != "method"]
    if not found:
        return None
    # A name the document already uses (a local variable, a parameter) is its
    # own unless it comes from an import.
    if not _imported(context, name) and _used_outside(context, name):
        return None
    if any(_shown(context, s) for s in found):
        return None
    return f"uses {name} from {_where(found)}, not seen by the model"


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
            reasons.append(f"renames {old.name}() to {new.name}(), which {where} use{'s' if len(users) == 1 else ''}")
        else:
            reasons.append(f"changes the parameters of {old.name}(), which {where} use{'s' if len(users) == 1 else ''}")
    return reasons


def _saved_counterpart(saved: Sequence[symbols.Definition], new: symbols.Definition, line: int) -> symbols.Definition | None:
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
