"""Binding a call's arguments to a signature as the language does (the guard's exact check).

Python's rules (positional-only, keyword-only, defaults, ``*args`` and
``**kwargs``) cover the others: a TypeScript optional ``x?`` is a default,
``...rest`` and Go's ``...T`` are ``*args``, and a language without keywords
never writes one.
"""

from __future__ import annotations

from smalllsp.syntax import symbols, uses


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
