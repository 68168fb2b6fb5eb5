"""One inline request, stage by stage (each a function of ``(text, context)`` after the plan).

* :mod:`~smalllsp.pipeline.context`: :func:`plan` builds the frozen
  :class:`RequestContext` once: window, scopes, global section, prompt, the
  one syntax tree, the guard's inputs;
* :mod:`~smalllsp.pipeline.cutters`: where a completion ends (the engine's one stop predicate);
* :mod:`~smalllsp.pipeline.filters`: the finished text cleaned up;
* :mod:`smalllsp.guard`: the cross-file verdict (called with the context's inputs);
* :mod:`~smalllsp.pipeline.rank`: sift and rank the candidates into :class:`Suggestion` s;
* :mod:`~smalllsp.pipeline.generate`: the request from plan to ranked suggestions.
"""

from smalllsp.pipeline.context import PromptTooLong, RequestContext, plan
from smalllsp.pipeline.generate import Completion, generate, warm
from smalllsp.pipeline.rank import Suggestion

__all__ = [
    "Completion",
    "PromptTooLong",
    "RequestContext",
    "Suggestion",
    "generate",
    "plan",
    "warm",
]
