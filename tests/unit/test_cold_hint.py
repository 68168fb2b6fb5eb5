"""When a request is planned small (the cold first hint), without a model."""

from smalllsp.cold_hint import MIN_PREFIX_TOKENS, narrower, plan_within_target
from smalllsp.config import Config


class Runtime:
    def __init__(self, to_read, speed):
        self.to_read, self.speed = to_read, speed

    def tokens_to_read(self, prompt):
        return self.to_read

    def prompt_tokens_per_s(self):
        return self.speed


def test_a_prompt_that_fits_the_target_is_left_as_it_is():
    config = Config(cold_latency_ms=1000)
    assert narrower(config, Runtime(to_read=100, speed=120.0), [0] * 1500) is None


def test_a_cold_prompt_is_planned_within_what_the_target_reads():
    config = Config(cold_latency_ms=1000, prefix_tokens=1024, suffix_tokens=256, global_tokens=512)
    smaller = narrower(config, Runtime(to_read=1200, speed=120.0), [0] * 1200)
    assert smaller is not None
    assert (smaller.prefix_tokens, smaller.suffix_tokens, smaller.global_tokens) == (102, 25, 51)


def test_never_below_the_smallest_window_and_off_or_unmeasured_means_no_change():
    tiny = narrower(Config(cold_latency_ms=10), Runtime(to_read=5000, speed=100.0), [0])
    assert tiny is not None and tiny.prefix_tokens == MIN_PREFIX_TOKENS
    assert narrower(Config(cold_latency_ms=0), Runtime(5000, 100.0), [0]) is None
    assert narrower(Config(cold_latency_ms=1000), Runtime(5000, None), [0]) is None


def test_the_plan_is_made_again_with_the_smaller_settings():
    config = Config(cold_latency_ms=1000)
    seen = []
    planned, used, cold = plan_within_target(
        config,
        Runtime(to_read=1200, speed=120.0),
        "full plan",
        lambda p: [0] * 1200,
        lambda c: seen.append(c) or "small plan",
    )
    assert (planned, cold) == ("small plan", True) and seen == [used] and used != config
