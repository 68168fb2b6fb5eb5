"""A fast first hint where the KV cache cannot help: a prompt that fits the cold-latency target.

A jump to a new file, or far away in one, leaves nothing to reuse: the full
window is ~1,500 tokens, 10-15 s on a 2-core CPU at ~120 tokens/s. So when
the tokens a request would read exceed what the measured prompt speed reads
in ``cold_latency_ms``, the request is planned again with the prefix, suffix
and global budgets scaled down to fit: a first hint from the code nearest
the cursor. The caller then warms the full window in the background (the
warm-up gives way to every request), so a later keystroke there is warm and
complete.

Each plan names its *region* (the window's first line) to the runtime
(:meth:`smalllsp.engine.runtime.Runtime.use_region`), so the hint and the
full window keep separate prompt states: a hint does not throw away the part
of the full window the warm-up has read, and the next keystroke's hint reads
only what was typed. For that the hint's budget is a power of two: the
measured speed wanders from one request to the next, and a budget that
followed it would move the hint's window, and its state, with every
keystroke.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, TypeVar

from smalllsp.config import Config
from smalllsp.engine.runtime import Runtime

# The smallest window a cold hint is planned with: less says too little to the model.
MIN_PREFIX_TOKENS = 64
MIN_SUFFIX_TOKENS = 16
# The smallest whole hint (window and global section): on a loaded 2-core CPU the target
# afforded ~100 tokens, and hints of ~64 seldom agreed with what was typed next
# (``smalllsp bench --session``), so a hint may take longer than the target rather than less.
MIN_HINT_TOKENS = 256

P = TypeVar("P")


def hint_budget(affordable: float) -> int:
    """The largest power of two within ``affordable`` tokens (at least 1)."""
    return 1 << max(0, int(affordable).bit_length() - 1)


def narrower(config: Config, runtime: Runtime, prompt: list[int]) -> Config | None:
    """The settings for a cold hint of ``prompt``, or None when it fits the target (or cannot be told)."""
    target_s = config.cold_latency_ms / 1000
    if target_s <= 0:
        return None  # off: the runtime is not even asked
    speed = runtime.prompt_tokens_per_s()
    if not speed:
        return None
    to_read = runtime.tokens_to_read(prompt)
    affordable = speed * target_s
    if to_read <= affordable:
        return None
    whole = config.prefix_tokens + config.suffix_tokens + config.global_tokens
    share = min(1.0, max(MIN_HINT_TOKENS, hint_budget(affordable)) / max(1, whole))
    return dataclasses.replace(
        config,
        prefix_tokens=max(MIN_PREFIX_TOKENS, int(config.prefix_tokens * share)),
        suffix_tokens=max(MIN_SUFFIX_TOKENS, int(config.suffix_tokens * share)),
        global_tokens=int(config.global_tokens * share),
    )


def plan_within_target(
    config: Config,
    runtime: Runtime,
    planned: P,
    prompt_of: Callable[[P], list[int]],
    region_of: Callable[[P], int],
    replan: Callable[[Config], P],
) -> tuple[P, Config, bool]:
    """The plan to run, its settings, and whether it is a cold hint (then warm the full window after).

    The runtime is told the region of the plan it will run (see the module's doc).
    """
    runtime.use_region(region_of(planned))
    smaller = narrower(config, runtime, prompt_of(planned))
    if smaller is None:
        return planned, config, False
    hint = replan(smaller)
    runtime.use_region(region_of(hint))
    return hint, smaller, True
