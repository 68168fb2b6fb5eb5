"""Binding a call's arguments to a signature as the language does (the guard's exact check).

Python's rules (positional-only, keyword-only, defaults, ``*args`` and
``**kwargs``) cover the others: a TypeScript optional ``x?`` is a default,
``...rest`` and Go's ``...T`` are ``*args``, and a language without keywords
never writes one.
"""

from __future__ import annotations

import difflib

from smalllsp.syntax import symbols, uses

# How alike an unknown keyword and a parameter's name must be (difflib's ratio) to be taken for
# a misspelling of it, when they share no word (``colour`` for ``color``: 0.91).
SPELLING_RATIO = 0.8


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


def renames(parameters: symbols.Parameters, call: uses.Call) -> tuple[tuple[str, str], ...]:
    """The parameters the call's unknown keywords nearly name: ``(written, meant)`` pairs.

    A small model often writes a keyword the callee does not take with the
    right value (``terminal_color=color`` where the parameter is ``color``).
    The name it meant is a parameter the call leaves unfilled that shares a
    word with it (``terminal_color`` and ``color``) or is spelt nearly the
    same; the one sharing the most words wins, then the closest spelling, and
    a tie means nothing is meant. Each parameter is meant at most once. None
    are offered where ``**kwargs`` takes any keyword (none is unknown there).
    """
    if parameters.keywords:
        return ()
    filled = set(parameters.positional[: call.positional]) | set(call.keywords)
    free = [n for n in parameters.names[parameters.positional_only :] if n not in filled]
    found = []
    for keyword in call.keywords:
        if keyword in parameters.names or not free:
            continue
        scored = sorted(((_nearness(keyword, name), name) for name in free), reverse=True)
        best, name = scored[0]
        if best == (0, 0.0) or (len(scored) > 1 and scored[1][0] == best):
            continue
        found.append((keyword, name))
        free.remove(name)
    return tuple(found)


def _nearness(written: str, name: str) -> tuple[int, float]:
    """How nearly ``written`` names ``name``: the words they share (split at ``_``), then their
    spelling's likeness; (0, 0.0) when they are not alike at all."""
    shared = len(set(written.lower().split("_")) & set(name.lower().split("_")) - {""})
    ratio = difflib.SequenceMatcher(None, written, name).ratio()
    if not shared and ratio < SPELLING_RATIO:
        return (0, 0.0)
    return (shared, ratio)


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
