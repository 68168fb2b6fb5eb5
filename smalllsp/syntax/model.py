"""The outline's data model: a file's definitions, imports and references.

Outlines cross from the index's worker processes by pickle, so each class
pickles positionally (and re-interns its names on the way in): the default
for slotted dataclasses costs 4 times as much.
"""

from __future__ import annotations

import dataclasses
from sys import intern


@dataclasses.dataclass(frozen=True, slots=True)
class Parameters:
    # declared parameter names in order, without self/cls (Python) or a Go receiver
    names: tuple[str, ...]
    required: int  # how many a call must pass (no default value, not variadic, not optional `x?`)
    # accepts any number of extra positional arguments (*args, ...rest, C/Java varargs, Go ...T)
    variadic: bool
    keywords: bool  # accepts any keyword argument (Python **kwargs)
    positional_only: int = 0  # the first n names cannot be passed by keyword (Python's `/`)
    # the last n names can only be passed by keyword (after Python's `*` or `*args`)
    keyword_only: int = 0
    optional: tuple[str, ...] = ()  # the names that have a default value (or are optional, `x?`)

    def __reduce__(self) -> tuple[object, ...]:
        return Parameters, (
            self.names,
            self.required,
            self.variadic,
            self.keywords,
            self.positional_only,
            self.keyword_only,
            self.optional,
        )

    @property
    def positional(self) -> tuple[str, ...]:
        """The names an argument without a keyword can fill, in order."""
        return self.names[: len(self.names) - self.keyword_only]

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n not in self.optional)


@dataclasses.dataclass(frozen=True, slots=True)
class Definition:
    name: str
    kind: str  # "function" | "method" | "class" | "type" | "constant"
    signature: str  # the header without the body, as written, clipped to SIGNATURE_CHARS
    doc: str  # docstring (Python) or the doc comment right above it, first paragraph; may be ""
    start_line: int  # 0-based, first line of the definition (decorators excluded)
    end_line: int  # 0-based, last line
    container: str | None  # enclosing class/struct/impl/namespace name for members, else None
    parameters: Parameters | None  # function/method; a class's constructor when found, else None

    def __reduce__(self) -> tuple[object, ...]:
        return interned_definition, (
            self.name,
            self.kind,
            self.signature,
            self.doc,
            self.start_line,
            self.end_line,
            self.container,
            self.parameters,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Outline:
    language_id: str
    definitions: tuple[Definition, ...]  # in source order; top level and class members
    imports: tuple[str, ...]  # the text of each import/include/use statement, in order
    # 0-based line after the header block (docstring, imports, constants); 0 when none
    header_end_line: int
    # identifiers the file uses, outside comments and strings, without keywords
    references: frozenset[str]

    def __reduce__(self) -> tuple[object, ...]:
        return _outline, (
            self.language_id,
            self.definitions,
            self.imports,
            self.header_end_line,
            self.references,
        )


def interned_definition(
    name: str,
    kind: str,
    signature: str,
    doc: str,
    start: int,
    end: int,
    container: str | None,
    parameters: Parameters | None,
) -> Definition:
    """A Definition made outside the parser (from a pickle, from the index cache), its names
    interned as the parser's are, so every file's copies of a name share one string."""
    return Definition(
        intern(name),
        intern(kind),
        signature,
        doc,
        start,
        end,
        container and intern(container),
        parameters,
    )


def _outline(
    language_id: str,
    definitions: tuple[Definition, ...],
    imports: tuple[str, ...],
    header_end_line: int,
    references: frozenset[str],
) -> Outline:
    """An Outline from a pickle: the references interned again, shared with every other file's."""
    return Outline(
        language_id, definitions, imports, header_end_line, frozenset(map(intern, references))
    )
