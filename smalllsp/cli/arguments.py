"""Argument types the commands share: each says what it expected when a value does not fit."""

from __future__ import annotations

import argparse

from smalllsp.config import MAX_SAMPLES


def position(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def sample_counts(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected sample counts like 1,2,4, got {text!r}"
        ) from None
    if not values or any(not 1 <= n <= MAX_SAMPLES for n in values):
        raise argparse.ArgumentTypeError(f"sample counts are 1 to {MAX_SAMPLES}, got {text!r}")
    return values


def truthy(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")
