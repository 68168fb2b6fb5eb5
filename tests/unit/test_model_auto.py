"""model = auto: the largest installed model that fits in memory and is fast enough, measured once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smalllsp import modelstore
from smalllsp.config import Config
from smalllsp.models import auto

GIB = 2**30


def model(name: str, billions: float) -> modelstore.CatalogModel:
    return modelstore.CatalogModel(
        name, (), name, f"{name}.gguf", None, None, (), {"parameters_total_b": billions}
    )


def speed(request_ms: float) -> auto.Speed:
    """A speed whose typical request takes ``request_ms`` (prompt reading free)."""
    return auto.Speed(1e12, auto.TYPICAL_ANSWER_TOKENS * 1000 / request_ms, "2026-12-01T00:00:00Z")


@pytest.fixture
def store(tmp_path):
    files = {}
    for name in ("small", "medium", "large"):
        files[name] = tmp_path / f"{name}.gguf"
        files[name].write_bytes(name.encode())
    return tmp_path, files


def choose(store, timings, needs, *, ram=8 * GIB, vram=None, budget=1000, measured=None):
    root, files = store
    measured = [] if measured is None else measured
    sizes = {"small": 0.5, "medium": 1.5, "large": 7.0}

    def measure(path: Path, config: Config) -> auto.Speed:
        measured.append(path.stem)
        return speed(timings[path.stem])

    return auto.choose(
        Config(time_budget_ms=budget),
        models=[(model(n, sizes[n]), files[n]) for n in ("small", "large", "medium")],
        memory=(ram, vram),
        measure=measure,
        cache=auto.SpeedCache(root / "speed.json"),
        need=lambda path, config: needs[path.stem],
    )


NEEDS = {"small": 1 * GIB, "medium": 2 * GIB, "large": 6 * GIB}


def test_the_largest_model_that_fits_and_is_fast_enough_wins(store):
    measured: list[str] = []
    choice = choose(store, {"large": 400, "medium": 300, "small": 100}, NEEDS, measured=measured)
    assert choice.name == "large"
    assert measured == ["large"]  # the smaller ones need no probe
    assert choice.reason == (
        "large: the largest installed model that fits (6.0 GiB of 8.0 GiB free) and serves "
        "a typical request in ~400 ms (target 1000 ms)"
    )


def test_a_model_too_slow_gives_way_to_the_next(store):
    choice = choose(store, {"large": 2600, "medium": 800, "small": 100}, NEEDS)
    assert choice.name == "medium"
    assert choice.reason.endswith("~800 ms (target 1000 ms); larger: large ~2600 ms")
    assert [c.speed is not None for c in choice.candidates] == [True, True, False]


def test_a_model_that_does_not_fit_is_not_loaded(store):
    measured: list[str] = []
    choice = choose(store, {"medium": 500}, NEEDS, ram=3 * GIB, measured=measured)
    assert choice.name == "medium" and measured == ["medium"]
    assert choice.reason.endswith("; larger: large needs 6.0 GiB")


def test_free_gpu_memory_counts(store):
    choice = choose(store, {"large": 100}, NEEDS, ram=3 * GIB, vram=4 * GIB)
    assert choice.name == "large"
    assert "(6.0 GiB of 7.0 GiB free (4.0 GiB of it GPU memory))" in choice.reason


def test_none_fast_enough_the_fastest(store):
    choice = choose(store, {"large": 5000, "medium": 3000, "small": 1200}, NEEDS)
    assert choice.name == "small"
    assert choice.reason == (
        "small: no installed model serves a typical request within 1000 ms here; this one is "
        "the fastest (~1200 ms; large ~5000 ms, medium ~3000 ms)"
    )


def test_none_fits_the_smallest(store):
    choice = choose(store, {}, NEEDS, ram=GIB // 2)
    assert choice.name == "small"
    assert choice.reason == (
        "small: no installed model fits in memory (0.5 GiB free); this one needs the least (1.0 GiB)"
    )


def test_the_probe_is_cached_per_machine_and_file(store):
    first: list[str] = []
    choose(store, {"large": 2600, "medium": 800}, NEEDS, measured=first)
    again: list[str] = []
    choice = choose(store, {}, NEEDS, measured=again)
    assert (first, again, choice.name) == (["large", "medium"], [], "medium")
    root, files = store
    cache = auto.SpeedCache(root / "speed.json")
    assert cache.get(files["medium"]).request_ms() == pytest.approx(800)
    files["medium"].write_bytes(b"another file")  # a new file is measured again
    assert cache.get(files["medium"]) is None


def test_nothing_installed_says_what_to_do():
    with pytest.raises(modelstore.StoreError, match="smalllsp models install default"):
        auto.choose(Config(), models=[])


def test_a_probe_taken_on_an_overloaded_machine_is_taken_again_when_it_is_quieter(store):
    root, files = store
    cache = auto.SpeedCache(root / "speed.json")
    cores = os.cpu_count() or 1
    busy = auto.Speed(10.0, 1.0, "2026-12-01T00:00:00Z", load=cores * 6.0)
    cache.put(files["small"], busy)
    assert cache.get(files["small"], load_now=cores * 5.0) == busy  # still busy: kept
    assert cache.get(files["small"], load_now=cores * 1.0) is None  # quieter: measured again
    quiet = auto.Speed(10.0, 1.0, "2026-12-01T00:00:00Z", load=cores / 2)
    cache.put(files["small"], quiet)
    assert cache.get(files["small"], load_now=0.0) == quiet


def test_the_only_model_too_slow_says_so(store):
    root, files = store
    choice = auto.choose(
        Config(time_budget_ms=1000),
        models=[(model("small", 0.5), files["small"])],
        memory=(8 * GIB, None),
        measure=lambda path, config: speed(3000),
        cache=auto.SpeedCache(root / "speed.json"),
        need=lambda path, config: GIB,
    )
    assert choice.reason == (
        "small: no installed model serves a typical request within 1000 ms here; "
        "it is the only one (~3000 ms)"
    )
