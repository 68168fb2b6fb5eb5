import dataclasses

from smalllsp.config import SETTINGS, Config, from_environment, settings_json, settings_table


def test_every_setting_has_a_field_with_the_same_default():
    fields = {f.name: f.default for f in dataclasses.fields(Config)}
    assert fields == {s.name: s.default for s in SETTINGS}


def test_merge_applies_known_settings_and_reports_the_rest():
    config, problems = Config().merged(
        {"max_lines": "3", "model": "/m.gguf", "nope": 1, "n_ctx": "big"}
    )
    assert config.max_lines == 3 and config.model == "/m.gguf"
    assert config.n_ctx == Config().n_ctx
    assert any("nope" in p for p in problems) and any("n_ctx" in p for p in problems)


def test_merge_accepts_a_nested_smalllsp_section():
    config, problems = Config().merged({"smalllsp": {"max_tokens": 7}})
    assert config.max_tokens == 7 and problems == []


def test_bool_settings_are_not_ints():
    _, problems = Config().merged({"n_ctx": True})
    assert problems


def test_environment_overrides_defaults():
    config, problems = from_environment({"SMALLLSP_MAX_LINES": "2", "SMALLLSP_MODEL": "x.gguf"})
    assert (config.max_lines, config.model, problems) == (2, "x.gguf", [])


def test_settings_table_lists_every_setting():
    table = settings_table()
    assert all(f"`{s.name}`" in table for s in SETTINGS)


def test_closed_choices_are_checked():
    config, problems = Config().merged({"log_level": "LOUD", "cache_type": "q8_0"})
    assert config.log_level == "INFO" and config.cache_type == "q8_0"
    assert len(problems) == 1 and "log_level" in problems[0]


def test_settings_json_carries_every_setting_with_its_type():
    rows = {row["name"]: row for row in settings_json()}
    assert list(rows) == [s.name for s in SETTINGS]
    assert rows["cross_file_policy"]["choices"] == ["allow", "flag", "withhold"]
    assert rows["n_ctx"]["type"] == "int" and rows["warmup"]["type"] == "bool"


def test_float_settings_take_numbers_and_numeric_strings_only():
    config, problems = Config().merged({"temperature": 1, "top_p": "0.5"})
    assert (config.temperature, config.top_p, problems) == (1.0, 0.5, [])
    for bad in ("warm", True, float("nan"), "inf", [0.2]):
        config, problems = Config().merged({"temperature": bad})
        assert config.temperature == Config().temperature and len(problems) == 1, bad


def test_bounded_settings_refuse_values_out_of_range():
    config, problems = Config().merged({"samples": 9, "temperature": -0.1, "top_p": 1.0})
    assert (config.samples, config.temperature, config.top_p) == (
        Config().samples,
        Config().temperature,
        1.0,
    )
    assert len(problems) == 2 and "samples" in problems[0] and "1 to 8" in problems[0]
