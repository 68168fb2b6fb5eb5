"""The pinned global section: what the model sees before the local window.

Small models complete well what they can see, and are quietly wrong about
code they cannot. The global section shows them, within a token budget, the
file's header (imports, constants) when the window has slid past it, the
headers of the enclosing class and function, the signatures of workspace
symbols used near the cursor that live in other files, and chunks of
recently used files, with the paths of those files and of this one.

It comes first in the prompt and is built from sources that change rarely
(not from the line being typed), in a stable order, so that the KV cache
keeps it from one keystroke to the next. Filling goes by priority (the callee,
enclosing scopes, header, definitions, chunks); the layout goes by stability.

The callee: when the cursor is inside a call's arguments (or right after
``name(``, ``obj.method(``, ``Class(``) and the call resolves, through the
document's imports, to a definition in another workspace file, that
definition comes first, before anything else claims the budget: its
signature (a class's constructor, or the fields of a dataclass or
NamedTuple), the first lines of its doc, its path. It depends on the text
before the cursor only through which call is open, so the section stays
byte-identical while the user types the arguments of one call (or types
outside any call); it changes when a call to another workspace callee opens.

Models with a repository-level layout (Qwen2.5-Coder's ``<|repo_name|>`` /
``<|file_sep|>``) get the other files as files of the repository; others get
them as comments at the top of the prefix.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Callable

from smalllsp.context import definitions
from smalllsp.context.ring import Chunk, similarity
from smalllsp.engine.fim import FimTokens
from smalllsp.syntax import builtins, languages, uses
from smalllsp.syntax.scope import ENCLOSING
from smalllsp.workspace import constructors, resolve

if TYPE_CHECKING:
    from smalllsp.context.window import Window
    from smalllsp.syntax.symbols import Outline
    from smalllsp.workspace.index import IndexedSymbol, WorkspaceIndex

# No token of the model's vocabulary is longer than this many characters, so a
# text of more than ``budget * MAX_TOKEN_CHARS`` characters cannot fit in
# ``budget`` tokens: a long line is clipped (or known not to fit) before the
# tokenizer reads all of it. (Checked: the default model's longest token is
# 32 characters, a run of spaces and a line break.)
MAX_TOKEN_CHARS = 64

# Share of the global budget the file's header may take.
HEADER_SHARE = 3
# A chunk sharing more of its lines with the window than this adds nothing.
CHUNK_WINDOW_SIMILARITY = 0.5
# Lines above the cursor searched for the call it is in (a call written over several lines).
CALL_LOOKBACK_LINES = 20
# Lines of the callee's doc shown.
CALLEE_DOC_LINES = 3
# Member names that are a class's constructor, by language family.
CONSTRUCTORS = ("__init__", "__new__", "constructor")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclasses.dataclass(frozen=True)
class Sources:
    """What the global section may draw on for one request (gathered by the server)."""

    path: str | None  # the document's file; None for an untitled document
    relpath: str  # what the prompt calls it
    repo: str  # the workspace folder's name
    outline: "Outline | None"  # the document's own outline: header, imports, definitions
    index: "WorkspaceIndex | None"
    chunks: tuple[Chunk, ...] = ()


NO_SOURCES = Sources(None, "", "", None, None)


@dataclasses.dataclass(frozen=True)
class Block:
    kind: str  # "callee", "chunk", "definitions" (other files), "header" or "scope" (this file)
    relpath: str
    text: str
    n_tokens: int


@dataclasses.dataclass(frozen=True)
class GlobalSection:
    lead: tuple[int, ...]  # tokens before the FIM prefix token (the repository-level layout)
    prefix_lead: tuple[int, ...]  # tokens that open the FIM prefix, before the window
    blocks: tuple[Block, ...]  # what went in, in prompt order
    shown: frozenset[tuple[str, str]]  # (relpath, name) of the other files' definitions shown

    @property
    def n_tokens(self) -> int:
        return len(self.lead) + len(self.prefix_lead)

    def text(self) -> str:
        """Everything the section shows, for telling which definitions the model saw."""
        return "".join(b.text for b in self.blocks)

    def describe(self) -> list[dict[str, object]]:
        """Each block's kind, path and size; the callee's with its text (a few lines), to tell what was shown."""
        return [
            {
                "kind": b.kind,
                "path": b.relpath,
                "tokens": b.n_tokens,
                **({"text": b.text} if b.kind == "callee" else {}),
            }
            for b in self.blocks
        ]


EMPTY = GlobalSection((), (), (), frozenset())


def build_global(
    sources: Sources,
    window: Window,
    language_id: str,
    fim: FimTokens,
    tokenize: Callable[[str], list[int]],
    budget: int,
) -> GlobalSection:
    """The global section for a request, within ``budget`` tokens."""
    if budget <= 0:
        return EMPTY
    count = lambda text: len(tokenize(text))  # noqa: E731 - tiny adapter
    repo_layout = fim.repo_name is not None and fim.file_sep is not None
    comment = languages.line_comment(language_id)
    relpath = sources.relpath or "untitled"
    own_path = f"{relpath}\n" if repo_layout else f"{comment} {relpath}\n"
    left = budget - count(own_path) - (count(f"{sources.repo}\n") + 3 if repo_layout else 0)
    if left < 0:
        return EMPTY

    callee_blocks, callee_shown, left = _callee_blocks(sources, window, language_id, left, count)
    scope = _scope_text(window)
    if scope and count(scope) > left:
        scope = ""
    left -= count(scope) if scope else 0
    header = _header_text(sources, window, min(left, budget // HEADER_SHARE), count)
    left -= count(header) if header else 0

    by_file, shown, left = definitions.near(
        sources, window, language_id, left, count, skip=callee_shown
    )
    blocks = [Block("definitions", path, text, count(text)) for path, text in by_file]
    chunks, left = _chunks(sources, window, left, count)
    shown |= callee_shown

    current = [
        Block(k, relpath, t, count(t)) for k, t in (("header", header), ("scope", scope)) if t
    ]
    others = [*callee_blocks, *chunks, *blocks]
    while True:
        section = _assemble(
            others, current, sources.repo, own_path, fim if repo_layout else None, comment, tokenize
        )
        if section.n_tokens <= budget or not others:
            break
        # per-token estimates fell short (comment markers): drop the oldest chunk first, the callee last
        others.pop(next((i for i, b in enumerate(others) if b.kind != "callee"), 0))
    return dataclasses.replace(
        section, shown=frozenset(n for n in shown if any(b.relpath == n[0] for b in others))
    )


def callee(sources: Sources, window: Window, language_id: str) -> list["IndexedSymbol"]:
    """The definitions in other workspace files of the call the cursor is in:
    the innermost open call that resolves (``Table(len(`` means ``Table``)."""
    if sources.index is None or not 0 <= window.cursor_line < len(window.lines):
        return []
    line = window.lines[window.cursor_line]
    column = len(line) if window.column is None else window.column
    imports = sources.outline.imports if sources.outline is not None else ()
    resolver = resolve.Resolver(sources.index, sources.path, language_id, imports)
    own = {d.name for d in sources.outline.definitions} if sources.outline is not None else set()
    # The cursor line, then the lines above it one at a time (a call written over several lines),
    # never from inside a triple-quoted string: the scan would read the code as string and the string as code.
    text = line[:column]
    row = window.cursor_line
    while True:
        calls = uses.open_calls(language_id, text)
        for receiver, name in calls:
            found = _resolve_callee(
                sources, resolver, language_id, text, receiver, name, own, "\n".join(imports)
            )
            if found:
                return found[: definitions.MAX_DEFINITIONS_PER_NAME]
        row -= 1
        if (
            row < max(0, window.cursor_line - CALL_LOOKBACK_LINES)
            or '"""' in window.lines[row]
            or "'''" in window.lines[row]
        ):
            return []
        text = window.lines[row] + "\n" + text


def _resolve_callee(
    sources: Sources,
    resolver: resolve.Resolver,
    language_id: str,
    text: str,
    receiver: str | None,
    name: str,
    own: set[str],
    imports: str,
) -> list["IndexedSymbol"]:
    assert sources.index is not None
    language = uses.table_language(language_id)
    resolution = resolver.resolve(name, receiver)
    if resolution.kind == resolve.WORKSPACE:
        return [s for s in resolution.symbols if s.path != sources.path]
    if resolution.kind != resolve.UNBOUND:
        return []
    elsewhere = [s for s in sources.index.definitions(name) if s.path != sources.path]
    if receiver is None:
        if name in own or builtins.is_builtin(language, name):
            return []
        return [
            s for s in definitions.pick(sources, name, imports) if s.definition.kind != "method"
        ]
    if builtins.is_standard_receiver(language, receiver):
        return []
    root = re.split(r"\.|::", receiver, maxsplit=1)[0]
    klass = resolve.receiver_class(language_id, text, root) if receiver.isidentifier() else None
    if klass is not None:
        return [] if klass in own else [s for s in elsewhere if s.definition.container == klass]
    if not resolver.bindings and re.search(rf"\b{re.escape(root)}\b", imports):
        # a package's function in a language whose imports the resolver does not read (Go: billing.Charge)
        return [
            s
            for s in elsewhere
            if s.definition.kind != "method"
            and root in s.relpath.split("/")[-2:] + [definitions.stem(s.relpath)]
        ]
    methods = [s for s in elsewhere if s.definition.kind == "method"]
    return methods if len({(s.path, s.definition.container) for s in methods}) == 1 else []


def _callee_blocks(
    sources: Sources, window: Window, language_id: str, budget: int, count: Callable[[str], int]
) -> tuple[list[Block], set[tuple[str, str]], int]:
    """The callee's definition, rendered, one block per file, if it fits."""
    found = callee(sources, window, language_id)
    blocks, shown = [], set()
    for relpath in dict.fromkeys(s.relpath for s in found):
        text = "".join(render_callee(sources.index, s) for s in found if s.relpath == relpath)
        cost = count(f"{relpath}\n{text}") + 2
        if cost > budget:
            continue
        budget -= cost
        blocks.append(Block("callee", relpath, text, count(text)))
        shown |= {(relpath, s.definition.name) for s in found if s.relpath == relpath}
    return blocks, shown, budget


def render_callee(index: "WorkspaceIndex | None", symbol: "IndexedSymbol") -> str:
    """The callee as the prompt shows it: for a class, its header, doc and
    constructor (or the parameters its fields make); for a function or
    method, its header and the first lines of its doc."""
    from smalllsp.guard import describe_parameters

    definition = symbol.definition
    language_id = languages.EXTENSIONS.get("." + symbol.relpath.rsplit(".", 1)[-1], "")
    python = language_id == "python"
    comment = languages.line_comment(language_id)
    doc = [
        line.strip()
        for line in definition.doc.strip().split("\n")[:CALLEE_DOC_LINES]
        if line.strip()
    ]
    constructor = None
    if definition.kind == "class" and index is not None:
        members = [
            s.definition
            for name in (*CONSTRUCTORS, definition.name)
            for s in index.definitions(name)
            if s.path == symbol.path
            and s.definition.container == definition.name
            and s.definition.kind == "method"
        ]
        constructor = members[0] if members else None
    lines: list[str] = []
    indent = ""
    if definition.container:
        lines.append(
            f"class {definition.container}:" if python else f"{comment} in {definition.container}"
        )
        indent = "    " if python else ""
    if not python:
        lines += [f"{indent}{comment} {line}" for line in doc]
    lines += [indent + line for line in definition.signature.rstrip().split("\n")]
    if python:
        body = indent + "    "
        if doc:
            lines.append(body + '"""' + ("\n" + body).join(doc) + '"""')
        if constructor is not None:
            lines += [
                body + line.strip() if i else body + line
                for i, line in enumerate(constructor.signature.rstrip().split("\n"))
            ]
            lines.append(body + "    ...")
        elif definition.kind == "class" and definition.parameters is not None:
            lines.append(
                f"{body}# called as {definition.name}({describe_parameters(definition.parameters)})"
            )
        elif (
            definition.kind == "class"
            and index is not None
            and (inherited := constructors.constructor(index, symbol))
        ):  # no constructor of its own: the one it inherits
            lines.append(
                f"{body}# called as {definition.name}({describe_parameters(inherited[0])}), from {inherited[1]}"
            )
        elif not doc:
            lines.append(body + "...")
    elif constructor is not None:
        lines += [f"{comment} constructor", *constructor.signature.rstrip().split("\n")]
    return "".join(line + "\n" for line in lines)


def _assemble(
    others: list[Block],
    current: list[Block],
    repo: str,
    own_path: str,
    repo_fim: FimTokens | None,
    comment: str,
    tokenize: Callable[[str], list[int]],
) -> GlobalSection:
    """The section's tokens: each piece tokenized on its own, as it was counted.

    Without other files to show, no paths either: the plain FIM layout. (The
    0.5B model, given a repository header and no other file, wrote worse
    completions: ``if __name__ == "__main__":`` for a function body it
    otherwise completes with its ``return``.)
    """
    prefix_lead: list[int] = []
    lead: list[int] = []
    if not others:
        pass
    elif repo_fim is not None:
        assert repo_fim.repo_name is not None and repo_fim.file_sep is not None
        lead = [repo_fim.repo_name, *tokenize(f"{repo}\n")]
        for block in others:
            lead += [repo_fim.file_sep, *tokenize(f"{block.relpath}\n{block.text}")]
        lead += [repo_fim.file_sep, *tokenize(own_path)]
    else:
        for block in others:
            prefix_lead += tokenize(_as_comment(block, comment))
        prefix_lead += tokenize(own_path)
    for block in current:
        prefix_lead += tokenize(block.text)
    return GlobalSection(tuple(lead), tuple(prefix_lead), (*others, *current), frozenset())


def _scope_text(window: Window) -> str:
    """The first lines of the enclosing classes and functions that the window does not show."""
    lines = [
        window.lines[s.start_line] + "\n"
        for s in window.chain
        if s.kind in ENCLOSING
        and s.start_line < window.first_line
        and s.start_line < len(window.lines)
    ]
    return "".join(lines)


def _header_text(sources: Sources, window: Window, budget: int, count: Callable[[str], int]) -> str:
    """The file's header lines above the window, from the top, as many as fit."""
    if sources.outline is None or window.first_line == 0 or budget <= 0:
        return ""
    end = min(sources.outline.header_end_line, window.first_line, len(window.lines))
    text, used = "", 0
    for row in range(end):  # line by line: the header of a long file is read only as far as it fits
        line = window.lines[row]
        if len(line) >= (budget - used + 1) * MAX_TOKEN_CHARS:
            break  # cannot fit: never tokenized whole
        used += count(line + "\n")
        if used > budget:
            break
        text += line + "\n"
    return text if text.strip() else ""


def _chunks(
    sources: Sources, window: Window, budget: int, count: Callable[[str], int]
) -> tuple[list[Block], int]:
    """Chunks of other recently used files that fit, newest first, shown oldest first."""
    if not sources.chunks or budget <= 0:
        return [], budget
    window_text = "".join(l + "\n" for l in window.lines[window.first_line : window.last_line + 1])
    kept = []
    for chunk in reversed(sources.chunks):
        if (
            chunk.path == sources.path
            or similarity(chunk.text, window_text) > CHUNK_WINDOW_SIMILARITY
        ):
            continue
        cost = count(f"{chunk.relpath}\n{chunk.text}") + 1
        if cost > budget:
            continue
        budget -= cost
        kept.append(Block("chunk", chunk.relpath, chunk.text, count(chunk.text)))
    return list(reversed(kept)), budget


def _as_comment(block: Block, comment: str) -> str:
    body = "".join(f"{comment} {line}\n" for line in block.text.splitlines())
    return f"{comment} {block.relpath}\n{body}"
