"""Whether a call still being written can bind at all: resampling gives up on one that cannot.

A resampled candidate is drawn to find arguments that bind (issue 18), and
one token at a time costs a model step. Once it has written an argument
that no later argument can mend (a keyword the callee does not take, more
positional arguments than it has room for, a keyword given twice, a name
the model was not shown), the steps that finish it are wasted. What has
been written so far is read as a call that cannot grow: the arguments
before the last top-level comma, the keyword of the one being written once
its ``=`` is followed by its value, then ``**`` of a name nobody defines and
the ``)``. The binder never asks for a missing argument of a call that
spreads ``**`` (any keyword may come from it), so only what is already
wrong is wrong there, and the guard judges that call exactly as it judges a
finished one. Python only: its keywords and ``**`` are the shape read here.
"""

from __future__ import annotations

import re

from smalllsp.syntax import uses

# What a call that "cannot grow" spreads: no definition of it exists anywhere.
SPREAD = "**__smalllsp_rest__"
_KEYWORD = re.compile(r"\s*([A-Za-z_]\w*)\s*=(?!=)")


# What begins a comment in the code read here.
COMMENT = "#"


def comment_only(written: str) -> bool:
    """Nothing but a comment after the call's ``(`` so far: the filters drop such a candidate."""
    return written.lstrip().startswith(COMMENT)


def probe(written: str) -> str | None:
    """The arguments ``written`` so far as a finished call's (``a, k=None, **…)``); None when
    nothing is settled yet, the call was closed (the whole candidate is judged then), or a
    comment hides the rest of the line."""
    depth, last_comma = 0, -1
    for index, char in uses.outside_strings(written, "([{)]},#"):
        if char == "#":
            return None
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0:  # a comma
            last_comma = index
    settled = [written[:last_comma]] if last_comma >= 0 and written[:last_comma].strip() else []
    rest = written[last_comma + 1 :]
    keyword = _KEYWORD.match(rest)
    if keyword is not None and rest[keyword.end() :].strip():
        settled.append(f"{keyword.group(1)}=None")
    if not settled:
        return None
    return ", ".join(part.strip() for part in settled) + f", {SPREAD})"
