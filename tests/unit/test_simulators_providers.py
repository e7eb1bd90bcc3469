"""Provider simulators (test tooling): both APIs, auth, error rate, latency, run-time config."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from pmo_devenv.simulators.providers import QUALITY_HEADER, ProviderSimulator

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
HTTP = httpx.Client(trust_env=False)  # one client: per-call clients cost ~15 ms each


@pytest.fixture
def openai() -> Iterator[ProviderSimulator]:
    with ProviderSimulator("openai", api_key="sk-test", seed=7, latency_ms=0, latency_jitter_ms=0) as sim:
        yield sim


@pytest.fixture
def anthropic() -> Iterator[ProviderSimulator]:
    with ProviderSimulator("anthropic", api_key="ak-test", seed=7, latency_ms=0, latency_jitter_ms=0) as sim:
        yield sim


def chat(sim: ProviderSimulator, key: str | None = "sk-test", body: dict | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return HTTP.post(sim.url + "/v1/chat/completions", json=body or CHAT, headers=headers)


def messages(sim: ProviderSimulator, key: str | None = "ak-test") -> httpx.Response:
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"} if key else {}
    return HTTP.post(sim.url + "/v1/messages", json=MESSAGES, headers=headers)


def test_openai_chat_completion_has_choices_and_usage(openai: ProviderSimulator) -> None:
    resp = chat(openai)
    assert resp.status_code == 200
    body = resp.json()
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o"
    assert body["choices"][0]["message"]["role"] == "assistant"
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert float(resp.headers[QUALITY_HEADER]) == pytest.approx(0.9)


def test_anthropic_message_has_content_and_usage(anthropic: ProviderSimulator) -> None:
    resp = messages(anthropic)
    assert resp.status_code == 200
    body = resp.json()
    assert body["id"].startswith("msg_") and body["type"] == "message"
    assert body["content"][0]["type"] == "text"
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0


@pytest.mark.parametrize("key", ["wrong", None])
def test_wrong_or_missing_key_is_401(openai: ProviderSimulator, anthropic: ProviderSimulator, key: str | None) -> None:
    assert chat(openai, key).status_code == 401
    resp = messages(anthropic, key)
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "authentication_error"
    assert "sk-test" not in chat(openai, key).text  # the expected key is never echoed


def test_each_flavor_serves_only_its_own_api(openai: ProviderSimulator, anthropic: ProviderSimulator) -> None:
    assert HTTP.post(openai.url + "/v1/messages", json=MESSAGES).status_code == 404
    assert HTTP.post(anthropic.url + "/v1/chat/completions", json=CHAT).status_code == 404


def test_bad_request_body_is_400(openai: ProviderSimulator) -> None:
    assert chat(openai, body={"model": "gpt-4o"}).status_code == 400


def test_error_rate_is_honoured_statistically(openai: ProviderSimulator) -> None:
    openai.configure(error_rate=0.3)
    statuses = [chat(openai).status_code for _ in range(300)]
    failures = statuses.count(500)
    assert set(statuses) <= {200, 500}
    assert 0.22 <= failures / len(statuses) <= 0.38


def test_anthropic_errors_are_overloaded_529(anthropic: ProviderSimulator) -> None:
    anthropic.configure(error_rate=1.0)
    resp = messages(anthropic)
    assert resp.status_code == 529
    assert resp.json()["error"]["type"] == "overloaded_error"


def test_latency_follows_config(openai: ProviderSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    openai.configure(latency_ms=150, latency_jitter_ms=0)
    slept: list[float] = []
    real_sleep = openai.sleep

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(openai, "sleep", sleep)
    start = time.monotonic()
    chat(openai)
    # How long it waits is what it was told (in seconds); a busy machine can only make the answer later.
    assert slept == [0.15] and time.monotonic() - start >= 0.15


def test_token_means_follow_config(openai: ProviderSimulator) -> None:
    openai.configure(input_tokens=1000, output_tokens=50)
    usages = [chat(openai).json()["usage"] for _ in range(30)]
    mean_in = sum(u["prompt_tokens"] for u in usages) / len(usages)
    mean_out = sum(u["completion_tokens"] for u in usages) / len(usages)
    assert 900 <= mean_in <= 1100
    assert 40 <= mean_out <= 60


def test_admin_config_round_trip_and_validation(openai: ProviderSimulator) -> None:
    resp = HTTP.post(openai.url + "/admin/config", json={"error_rate": 0.5, "quality": 0.4})
    assert resp.status_code == 200
    view = HTTP.get(openai.url + "/admin/config").json()
    assert view["error_rate"] == 0.5 and view["quality"] == 0.4
    assert view["api_key_set"] is True and "sk-test" not in str(view)
    assert HTTP.post(openai.url + "/admin/config", json={"error_rate": 2}).status_code == 400
    assert HTTP.post(openai.url + "/admin/config", json={"nope": 1}).status_code == 400
    assert HTTP.get(openai.url + "/healthz").json()["status"] == "ok"


def test_key_rotation_at_run_time(openai: ProviderSimulator) -> None:
    openai.configure(api_key="sk-new")
    assert chat(openai).status_code == 401
    assert chat(openai, "sk-new").status_code == 200
    assert openai.stats() == {"total": 2, "status_401": 1, "status_200": 1}


def test_stop_does_not_wait_for_slow_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = ProviderSimulator("openai", api_key="sk-test", latency_ms=600_000, latency_jitter_ms=0).start()
    waiting = threading.Event()
    real_sleep = sim.sleep

    def sleep(seconds: float) -> None:
        waiting.set()
        real_sleep(seconds)

    monkeypatch.setattr(sim, "sleep", sleep)
    worker = threading.Thread(target=_chat_quietly, args=(sim,), daemon=True)
    worker.start()
    assert waiting.wait(timeout=60), "the request reached the simulated latency"
    sim.stop()
    # The client is released by stop(), not by the ten minutes of simulated latency.
    worker.join(timeout=60)
    assert not worker.is_alive()


def _chat_quietly(sim: ProviderSimulator) -> None:
    # A read timeout longer than the join above: only stop() can end this call in time.
    with httpx.Client(trust_env=False, timeout=300) as client, contextlib.suppress(httpx.HTTPError):
        client.post(sim.url + "/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer sk-test"})
