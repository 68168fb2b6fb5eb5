"""The remote engine against a scripted llama-server stand-in on loopback (fast; the real
llama-server is in tests/e2e/test_remote_engine.py)."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from smalllsp.config import Config
from smalllsp.engine import ModelUnavailable
from smalllsp.engine.remote import (
    ModelMismatch,
    RemoteRuntime,
    RemoteUnavailable,
    llama_server_updates,
    openai_updates,
)
from smalllsp.engine.remote_http import (
    RemoteError,
    RemoteSetupError,
    parse_url,
    read_api_key,
    tls_context,
)
from smalllsp.engine.runtime import Sampling
from smalllsp.engine.worker import Cancelled
from tests.support.remote_engine import fake, runtime  # noqa: F401 - fake is a fixture

pytestmark = pytest.mark.timeout(60)


def prompt(rt: RemoteRuntime) -> list[int]:
    return rt.fim.layout(rt.tokenize("def f():\n"), rt.tokenize("\n"), rt.tokenize("    "))


def test_start_up_reads_the_server_and_its_fim_tokens(fake):
    rt = runtime(fake)
    assert rt.name == "fake-coder" and rt.n_ctx == 4096 and rt.max_n == 2
    assert (rt.fim.template.family, rt.fim.prefix, rt.fim.suffix, rt.fim.middle) == (
        "qwen",
        1,
        2,
        3,
    )
    assert rt.tokenize("ab") == [1097, 1098]
    calls = rt.vocab.calls
    assert rt.tokenize("ab") == [1097, 1098] and rt.vocab.calls == calls  # cached
    assert prompt(rt)[0] == 1 and "remote" in rt.device


def test_a_greedy_completion_streams_and_ends_at_the_end_token(fake):
    rt = runtime(fake)
    generation = rt.generate(prompt(rt), max_tokens=16)
    assert generation.text == "hello world\nmore" and generation.stop_reason == "eog"
    assert generation.tokens == [1000, 1001, 1002, 1003] and generation.logprobs == [-0.5] * 4
    assert (generation.n_reused, generation.n_evaluated) == (3, 7)
    body = fake.requests[-1]["body"]
    assert fake.requests[-1]["path"] == "/completion"
    assert (
        body["prompt"] == prompt(rt)
        and body["temperature"] == 0.0
        and body["cache_prompt"]
        and body["stream"]
    )
    assert body["n_predict"] == 16 and body["n_probs"] == 1


def test_the_openai_api_gives_the_same_completion(fake):
    rt = runtime(fake, remote_model="fake-coder")
    rt.api, rt.route = "openai", "/v1/completions"
    generation = rt.generate(prompt(rt), max_tokens=16)
    assert generation.text == "hello world\nmore" and generation.stop_reason == "eog"
    body = fake.requests[-1]["body"]
    assert (
        fake.requests[-1]["path"] == "/v1/completions"
        and body["model"] == "fake-coder"
        and body["logprobs"] == 1
    )


def test_an_end_token_the_client_cannot_name_is_not_part_of_the_answer(fake):
    fake.end_token = (
        99  # not one of the FIM stop tokens, and no vocabulary here to say it ends generation
    )
    rt = runtime(fake)
    generation = rt.generate(prompt(rt), max_tokens=16)
    assert generation.tokens == [1000, 1001, 1002, 1003] and generation.stop_reason == "eog"


def test_stop_at_closes_the_stream_and_the_server_stops(fake):
    fake.script = ["a"] * 200
    fake.delay_s = 0.01
    rt = runtime(fake)
    generation = rt.generate(
        prompt(rt), max_tokens=200, stop_at=lambda text: 3 if len(text) >= 5 else None
    )
    assert (
        generation.text == "aaa"
        and generation.stop_reason == "stop_rule"
        and len(generation.tokens) == 5
    )
    assert fake.stream_closed_early.wait(5), "the server kept writing to a stream nobody reads"


def test_max_tokens_and_the_time_budget(fake):
    fake.script = ["x"] * 10
    fake.end_token = None
    rt = runtime(fake)
    assert rt.generate(prompt(rt), max_tokens=4).stop_reason == "max_tokens"
    fake.script = ["a", "b\nc", "d\n", "e"]
    fake.delay_s = 0.05
    generation = rt.generate(prompt(rt), max_tokens=10, time_budget_s=0.0)
    assert (generation.text, generation.stop_reason) == ("ab", "time_budget")


def test_samples_use_the_api_n_within_the_server_slots(fake):
    fake.slots = 2
    rt = runtime(fake)
    drawn = rt.sample(
        prompt(rt),
        Sampling(n=3, temperature=0.6, top_p=0.9, seed=7, include_greedy=False),
        max_tokens=16,
    )
    assert [g.text for g in drawn] == ["hello world\nmore"] * 3
    bodies = [r["body"] for r in fake.requests if r["path"] == "/completion"]
    assert [(b["n_cmpl"], b["seed"]) for b in bodies] == [(2, 7), (1, 9)]
    assert bodies[0]["temperature"] == 0.6 and bodies[0]["top_p"] == 0.9 and bodies[0]["top_k"] == 0


def test_candidate_zero_is_the_greedy_answer_drawn_alongside(fake):
    fake.delay_s = 0.05
    rt = runtime(fake)
    started = time.monotonic()
    drawn = rt.sample(prompt(rt), Sampling(n=3, temperature=0.6, top_p=0.9, seed=7), max_tokens=16)
    elapsed = time.monotonic() - started
    assert len(drawn) == 3
    bodies = sorted(
        ([r["body"] for r in fake.requests if r["path"] == "/completion"]),
        key=lambda b: b["temperature"],
    )
    assert [(b["temperature"], b["n_cmpl"], b.get("seed")) for b in bodies] == [
        (0.0, 1, None),
        (0.6, 2, 8),
    ]
    assert (
        elapsed < 2 * 5 * 0.05 + 0.2
    )  # the two requests ran at the same time (each streams 5 events per candidate)


def test_one_failing_stream_stops_the_other(fake):
    rt = runtime(fake)
    asked = prompt(rt)
    fake.failures = [400]
    with pytest.raises(RemoteUnavailable, match="HTTP 400"):
        rt.sample(asked, Sampling(n=2, temperature=0.6, top_p=0.9), max_tokens=16)


def test_a_warm_up_reads_the_prompt_only(fake):
    rt = runtime(fake)
    generation = rt.generate(prompt(rt), max_tokens=0)
    assert (
        generation.stop_reason == "warmup"
        and generation.text == ""
        and fake.requests[-1]["body"]["n_predict"] == 0
    )


def test_cancelling_closes_the_stream_promptly(fake):
    fake.script = ["a"] * 1000
    fake.delay_s = 0.02
    rt = runtime(fake)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        rt.generate(prompt(rt), max_tokens=1000, cancelled=stop.is_set)
    assert time.monotonic() - started < 1.5
    assert fake.stream_closed_early.wait(5)


def test_cancelling_while_the_server_reads_the_prompt(fake):
    """No event has come yet (the server answers a stream's headers after the prompt): still prompt."""
    fake.first_delay_s = 3
    rt = runtime(fake)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        rt.generate(prompt(rt), max_tokens=8, cancelled=stop.is_set)
    assert time.monotonic() - started < 1.0


def test_a_slow_server_times_out_with_a_clear_message(fake):
    rt = runtime(fake, remote_timeout_ms=500)
    fake.first_delay_s = 3
    started = time.monotonic()
    with pytest.raises(RemoteUnavailable, match=r"did not answer within 0.5 s"):
        rt.generate(prompt(rt), max_tokens=8)
    assert time.monotonic() - started < 1.5


def test_a_stream_that_stalls_times_out(fake):
    rt = runtime(fake, remote_timeout_ms=600)
    fake.script = ["a"] * 100
    fake.delay_s = 0.2
    with pytest.raises(RemoteUnavailable, match=r"did not finish within 0.6 s"):
        rt.generate(prompt(rt), max_tokens=100)


def test_retries_back_off_then_succeed(fake):
    rt = runtime(fake)
    asked = prompt(rt)
    fake.failures = [503, 503]
    started = time.monotonic()
    assert rt.generate(asked, max_tokens=16).text == "hello world\nmore"
    assert 0.7 <= time.monotonic() - started < 3  # 0.25 s + 0.5 s of backoff
    fake.failures = [500, 500, 500]
    with pytest.raises(RemoteUnavailable, match=r"HTTP 500.*after 3 attempts"):
        rt.generate(asked, max_tokens=16)


def test_a_client_error_is_not_retried(fake):
    rt = runtime(fake)
    asked = prompt(rt)
    fake.failures = [400]
    with pytest.raises(RemoteUnavailable, match="HTTP 400"):
        rt.generate(asked, max_tokens=16)
    assert sum(r["path"] == "/completion" for r in fake.requests) == 1


def test_garbage_is_reported_not_hung_on(fake):
    rt = runtime(fake)
    fake.garbage_stream = b"<html>502 Bad Gateway</html>\n"
    with pytest.raises(RemoteUnavailable, match="not an HTTP/SSE answer"):
        rt.generate(prompt(rt), max_tokens=8)
    fake.garbage_stream = b'data: {"what": 1}\n\n'
    with pytest.raises(RemoteUnavailable, match="cannot read"):
        rt.generate(prompt(rt), max_tokens=8)
    fake.garbage_stream = b"data: {not json\n\n"
    with pytest.raises(RemoteUnavailable, match="not JSON"):
        rt.generate(prompt(rt), max_tokens=8)
    fake.garbage = b"<html>proxy login</html>"
    with pytest.raises(RemoteError, match="not JSON"):
        runtime(fake)


def test_failures_are_model_unavailable_and_told_once_until_the_server_is_back(fake):
    told: list[str] = []
    rt = RemoteRuntime(
        Config(engine="remote", remote_url=fake.url, remote_api="llama-server", remote_retries=0),
        notify=told.append,
        environ={},
    )
    asked = prompt(rt)
    fake.failures = [502, 502]
    for _ in range(2):
        with pytest.raises(ModelUnavailable):
            rt.generate(asked, max_tokens=8)
    rt.generate(asked, max_tokens=8)
    assert (
        len(told) == 2
        and "failed" in told[0]
        and "HTTP 502" in told[0]
        and "answers again" in told[1]
    )


def test_a_server_that_is_down(fake):
    url = fake.url
    fake.close()
    started = time.monotonic()
    with pytest.raises(RemoteError, match="connection refused.*after 3 attempts"):
        RemoteRuntime(Config(engine="remote", remote_url=url), environ={})
    assert time.monotonic() - started < 3


def test_the_configured_model_must_be_the_served_one(fake):
    with pytest.raises(
        ModelMismatch, match="remote_model is 'other-coder', but .* serves 'fake-coder'"
    ):
        runtime(fake, remote_model="other-coder")


def test_remote_api_llama_server_needs_a_llama_server(fake):
    original = fake._handle

    def without_props(handler, body):  # as vLLM: no /props
        if handler.path == "/props":
            fake.requests.append({"path": handler.path})
            fake._json(handler, 404, {"error": "not found"})
        else:
            original(handler, body)

    fake._handle = without_props
    with pytest.raises(ModelMismatch, match="not a llama-server"):
        runtime(fake)
    rt = runtime(fake, remote_api="openai")  # an OpenAI-compatible server without /props is fine
    assert rt.server_kind == "OpenAI-compatible server" and rt.max_n is None


def test_the_api_key_is_sent_and_never_shown(fake, caplog):
    caplog.set_level(logging.DEBUG)
    rt = RemoteRuntime(
        Config(engine="remote", remote_url=fake.url, remote_api_key_env="MY_KEY"),
        environ={"MY_KEY": "s3cret-key"},
    )
    assert all(r["headers"].get("Authorization") == "Bearer s3cret-key" for r in fake.requests)
    asked = prompt(rt)
    fake.failures = [401]
    with pytest.raises(RemoteUnavailable) as failure:
        rt.generate(asked, max_tokens=4)
    assert "s3cret-key" not in str(failure.value) and "s3cret-key" not in caplog.text


def test_api_key_sources(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    assert read_api_key("K", "", {"K": " from-env "}) == "from-env"
    assert read_api_key("K", str(key_file), {}) == "from-file"
    assert read_api_key("K", "", {}) is None
    with pytest.raises(RemoteSetupError, match="cannot be read"):
        read_api_key("K", str(tmp_path / "missing"), {})


def test_urls_and_tls_settings(tmp_path):
    assert parse_url("http://gpu-box:8080").origin == "http://gpu-box:8080"
    assert parse_url("https://vllm.internal/v1/").path("/v1/completions") == "/v1/completions"
    assert parse_url("https://h/proxy/v1").path("/v1/models") == "/proxy/v1/models"
    for bad in ("", "gpu-box:8080", "ftp://x", "http://user:pw@x"):
        with pytest.raises(RemoteSetupError):
            parse_url(bad)
    assert tls_context(True, "").verify_mode.name == "CERT_REQUIRED"
    with pytest.raises(RemoteSetupError, match="not a file"):
        tls_context(True, str(tmp_path / "ca.pem"))
    (tmp_path / "ca.pem").write_text("not a certificate")
    with pytest.raises(RemoteSetupError, match="not a usable PEM"):
        tls_context(True, str(tmp_path / "ca.pem"))
    with pytest.raises(RemoteSetupError, match="remote_url"):
        RemoteRuntime(Config(engine="remote"), environ={})


def test_vllm_logprobs_and_usage_are_read():
    chunk = {
        "choices": [
            {
                "index": 1,
                "text": "ab",
                "finish_reason": None,
                "logprobs": {
                    "tokens": ["token_id:10", "token_id:11"],
                    "token_logprobs": [-0.1, -0.2],
                },
            }
        ]
    }
    (update,) = openai_updates(chunk)
    assert update.index == 1 and [(p.token, p.text, p.logprob) for p in update.pieces] == [
        (10, "", -0.1),
        (11, "ab", -0.2),
    ]
    (usage,) = openai_updates(
        {
            "choices": [],
            "usage": {"prompt_tokens": 9, "prompt_tokens_details": {"cached_tokens": 4}},
        }
    )
    assert (usage.index, usage.n_cached, usage.n_evaluated) == (-1, 4, 5)
    (final,) = llama_server_updates(
        {"index": 0, "content": "", "tokens": [], "stop": True, "stop_type": "limit"}
    )
    assert final.finish == "max_tokens" and final.pieces == []
    with pytest.raises(ValueError):
        openai_updates({"object": "error"})
