"""When a request is planned small (the cold first hint), without a model."""

from smalllsp.cold_hint import MIN_PREFIX_TOKENS, hint_budget, narrower, plan_within_target
from smalllsp.config import Config


class Runtime:
    def __init__(self, to_read, speed):
        self.to_read, self.speed, self.regions = to_read, speed, []

    def tokens_to_read(self, prompt):
        return self.to_read

    def prompt_tokens_per_s(self):
        return self.speed

    def use_region(self, first_line):
        self.regions.append(first_line)


def test_a_prompt_that_fits_the_target_is_left_as_it_is():
    config = Config(cold_latency_ms=1000)
    assert narrower(config, Runtime(to_read=100, speed=120.0), [0] * 1500) is None


def test_a_cold_prompt_is_planned_within_a_power_of_two_of_what_the_target_reads():
    config = Config(cold_latency_ms=1000, prefix_tokens=1024, suffix_tokens=256, global_tokens=512)
    smaller = narrower(config, Runtime(to_read=1200, speed=600.0), [0] * 1200)
    assert smaller is not None  # 600 tokens affordable: a 512-token hint, 2/7 of the whole
    assert (smaller.prefix_tokens, smaller.suffix_tokens, smaller.global_tokens) == (292, 73, 146)


def test_the_hint_stays_put_while_the_measured_speed_wanders():
    config = Config(cold_latency_ms=1000)
    plans = {
        (c.prefix_tokens, c.suffix_tokens, c.global_tokens)
        for speed in (260.0, 275.0, 301.5, 340.0, 511.0)
        if (c := narrower(config, Runtime(to_read=1500, speed=speed), [0])) is not None
    }
    assert len(plans) == 1
    assert [hint_budget(a) for a in (1, 255.9, 256, 511, 512, 1000)] == [1, 128, 256, 256, 512, 512]


def test_never_below_the_smallest_hint_and_off_or_unmeasured_means_no_change():
    tiny = narrower(Config(cold_latency_ms=10), Runtime(to_read=5000, speed=100.0), [0])
    assert tiny is not None  # one token affordable: still a 256-token hint, 1/7 of the whole
    assert (tiny.prefix_tokens, tiny.suffix_tokens, tiny.global_tokens) == (146, 36, 73)
    lopsided = Config(cold_latency_ms=10, prefix_tokens=128, suffix_tokens=3000, global_tokens=0)
    assert narrower(lopsided, Runtime(5000, 100.0), [0]).prefix_tokens == MIN_PREFIX_TOKENS
    assert narrower(Config(cold_latency_ms=0), Runtime(5000, 100.0), [0]) is None
    assert narrower(Config(cold_latency_ms=1000), Runtime(5000, None), [0]) is None


def test_the_plan_is_made_again_with_the_smaller_settings_and_each_names_its_region():
    config = Config(cold_latency_ms=1000)
    seen = []
    runtime = Runtime(to_read=1200, speed=120.0)
    planned, used, cold = plan_within_target(
        config,
        runtime,
        "full plan",
        lambda p: [0] * 1200,
        lambda p: {"full plan": 64, "small plan": 96}[p],
        lambda c: seen.append(c) or "small plan",
    )
    assert (planned, cold) == ("small plan", True) and seen == [used] and used != config
    assert runtime.regions == [64, 96]  # asked about the full window's, then runs the hint's


def test_a_plan_that_fits_runs_in_its_own_region():
    runtime = Runtime(to_read=10, speed=120.0)
    planned, used, cold = plan_within_target(
        Config(cold_latency_ms=1000), runtime, "plan", lambda p: [0] * 10, lambda p: 7, None
    )
    assert (planned, cold, runtime.regions) == ("plan", False, [7])
