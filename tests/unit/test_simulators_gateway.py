"""Gateway simulator (test tooling): weighted split, metric names and labels per preset, keys, mirrors.

The Kubernetes readers are injected, so no cluster is needed; provider simulators run on loopback.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from pmo_devenv.simulators.gateway import GatewaySimulator, parse_backend_flag
from pmo_devenv.simulators.load import is_loopback, pick_arm
from pmo_devenv.simulators.providers import ProviderSimulator
from pmo_devenv.simulators.routing_readers import Arm

KEYS = {"OPENAI_API_KEY": "sk-oa", "ANTHROPIC_API_KEY": "sk-an"}
HTTP = httpx.Client(trust_env=False)


@pytest.fixture
def providers() -> Iterator[tuple[ProviderSimulator, ProviderSimulator]]:
    fast: dict[str, Any] = {"latency_ms": 2, "latency_jitter_ms": 1}
    oa = ProviderSimulator("openai", api_key="sk-oa", seed=1, quality=0.9, **fast).start()
    an = ProviderSimulator("anthropic", api_key="sk-an", seed=2, quality=0.6, **fast).start()
    yield oa, an
    oa.stop()
    an.stop()


def litellm_route(oa: ProviderSimulator, an: ProviderSimulator, src: float, dst: float) -> dict[str, Any]:
    config = {
        "model_list": [
            {
                "model_name": "chat",
                "litellm_params": {
                    "model": "openai/gpt-4o",
                    "api_base": oa.url + "/v1",
                    "api_key": "os.environ/OPENAI_API_KEY",
                    "weight": src,
                },
                "model_info": {"id": "openai-gpt-4o"},
            },
            {
                "model_name": "chat",
                "litellm_params": {
                    "model": "anthropic/claude-sonnet-4-5",
                    "api_base": an.url,
                    "api_key": "os.environ/ANTHROPIC_API_KEY",
                    "weight": dst,
                },
                "model_info": {"id": "claude-sonnet"},
            },
        ]
    }
    return {"data": {"config.yaml": yaml.safe_dump(config)}}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.01)


def run(sim: GatewaySimulator, requests: int = 200) -> dict[str, Any]:
    """Let the load send `requests` requests (or find no route as often), then stop sending and wait until all
    of them, mirrors too, are answered: the counts then follow from the seeded picks alone, never from how
    busy the machine was."""
    sim.start()
    try:
        counts = sim.load.counts
        wait_for(lambda: counts().get("sent", 0) + counts().get("no_route", 0) >= requests, f"{requests} requests")
        sim.load.set_rps(0)
        wait_for(sim.load.settled, "every request answered")
        assert sim.load.stop()  # freeze the counters so /metrics and /weights agree
        text = HTTP.get(sim.metrics_url).text
        status = HTTP.get(sim.url + "/weights").json()
    finally:
        sim.stop()
    return {"metrics": {f.name: f for f in text_string_to_metric_families(text)}, "status": status}


def samples(families: dict[str, Any], name: str, suffix: str = "") -> list[Any]:
    return [s for s in families[name].samples if s.name == name + suffix]


def test_pick_arm_splits_by_weight() -> None:
    arms = [Arm("src", 90, None, "openai", "m", "m"), Arm("dst", 10, None, "openai", "m", "m")]
    rng = random.Random(5)
    picks = [pick_arm(arms, rng).backend for _ in range(20_000)]  # type: ignore[union-attr]
    assert picks.count("dst") / len(picks) == pytest.approx(0.10, abs=0.01)
    assert pick_arm([Arm("a", 0, None, "openai", "m", "m")], rng) is None


def test_loopback_only() -> None:
    assert is_loopback("http://127.0.0.1:80") and is_loopback("http://localhost:1") and is_loopback("http://[::1]:2")
    assert not is_loopback("https://api.openai.com") and not is_loopback("http://10.0.0.1:80")


def test_litellm_preset_split_and_metric_names(providers: tuple[ProviderSimulator, ProviderSimulator]) -> None:
    oa, an = providers
    route = litellm_route(oa, an, 70, 30)
    sim = GatewaySimulator(
        None, "ns", "ConfigMap", "llm-gateway", "chat", "litellm", gateway_secret="gw-keys", rps=400, seed=11,
        route_reader=lambda: route, secret_reader=lambda name: KEYS if name == "gw-keys" else None,
    )  # fmt: skip
    out = run(sim, 300)
    status, fams = out["status"], out["metrics"]
    reqs = status["requests"]
    total = reqs["openai-gpt-4o"]["success"] + reqs["claude-sonnet"]["success"]
    assert total == status["sent"] >= 300 and status["error"] is None
    assert reqs["claude-sonnet"]["success"] / total == pytest.approx(0.30, abs=0.07)
    assert status["weights"] == {"openai-gpt-4o": 70, "claude-sonnet": 30}
    assert status["keys_present"] == {"openai-gpt-4o": True, "claude-sonnet": True}
    assert "sk-oa" not in str(status)

    (dst,) = [
        s
        for s in samples(fams, "litellm_deployment_total_requests", "_total")
        if s.labels["model_id"] == "claude-sonnet"
    ]
    assert dst.labels == {
        "requested_model": "chat",
        "litellm_model_name": "anthropic/claude-sonnet-4-5",
        "model_id": "claude-sonnet",
        "api_base": an.url,
        "api_provider": "anthropic",
    }
    assert dst.value == reqs["claude-sonnet"]["success"]
    assert samples(fams, "litellm_deployment_success_responses", "_total")
    buckets = samples(fams, "litellm_request_total_latency_metric", "_bucket")
    assert {k for k in buckets[0].labels if k != "le"} == {"requested_model", "model", "model_id"}
    assert {s.labels["le"] for s in buckets} >= {"0.005", "300.0", "+Inf"}
    for name in ("litellm_input_tokens_metric", "litellm_output_tokens_metric"):
        tok = {s.labels["model"]: s for s in samples(fams, name, "_total")}
        assert set(tok) == {"openai/gpt-4o", "anthropic/claude-sonnet-4-5"}
        assert set(tok["openai/gpt-4o"].labels) == {"model", "model_id", "requested_model"}
        assert tok["openai/gpt-4o"].value > 0
    quality = {s.labels["model_id"]: s.value for s in samples(fams, "llm_quality_score")}
    assert quality == pytest.approx({"openai-gpt-4o": 0.9, "claude-sonnet": 0.6})


def test_missing_key_fails_that_arm_with_401(providers: tuple[ProviderSimulator, ProviderSimulator]) -> None:
    oa, an = providers
    route = litellm_route(oa, an, 50, 50)
    sim = GatewaySimulator(
        None, "ns", "ConfigMap", "llm-gateway", "chat", "litellm", gateway_secret="gw-keys", rps=200, seed=3,
        route_reader=lambda: route, secret_reader=lambda name: {"OPENAI_API_KEY": "sk-oa"},
    )  # fmt: skip
    out = run(sim)
    fails = samples(out["metrics"], "litellm_deployment_failure_responses", "_total")
    assert {s.labels["model_id"] for s in fails} == {"claude-sonnet"}
    assert {(s.labels["exception_status"], s.labels["exception_class"]) for s in fails} == {
        ("401", "AuthenticationError")
    }
    assert out["status"]["requests"]["openai-gpt-4o"]["failure"] == 0
    assert out["status"]["keys_present"]["claude-sonnet"] is False


def aigw(refs: list[dict[str, Any]]) -> dict[str, Any]:
    match = [{"headers": [{"type": "Exact", "name": "x-ai-eg-model", "value": "chat"}]}]
    return {"spec": {"rules": [{"matches": match, "backendRefs": refs}]}}


def test_otel_preset_labels_and_error_type(providers: tuple[ProviderSimulator, ProviderSimulator]) -> None:
    oa, an = providers
    an.configure(error_rate=1.0)
    backends = {
        "oa": {"url": oa.url, "model": "gpt-4o", "secret_name": "oa-key"},
        "an": {"url": an.url, "model": "claude-sonnet-4-5", "secret_name": "an-key"},
    }
    secrets = {"oa-key": {"apiKey": "sk-oa"}, "an-key": {"apiKey": "sk-an"}}
    route = aigw([{"name": "oa", "weight": 50}, {"name": "an", "weight": 50}])
    sim = GatewaySimulator(
        None, "ns", "AIGatewayRoute", "chat-route", "chat", "otel-genai", backends, rps=200, seed=5,
        route_reader=lambda: route, secret_reader=secrets.get,
    )  # fmt: skip
    fams = run(sim)["metrics"]
    counts = samples(fams, "gen_ai_server_request_duration_seconds", "_count")
    by_model = {(s.labels["gen_ai_request_model"], s.labels["error_type"]): s for s in counts}
    assert set(by_model) == {("gpt-4o", ""), ("claude-sonnet-4-5", "_OTHER")}
    assert by_model[("gpt-4o", "")].labels == {
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": "openai",
        "gen_ai_original_model": "chat",
        "gen_ai_request_model": "gpt-4o",
        "error_type": "",
    }
    tokens = samples(fams, "gen_ai_client_token_usage", "_sum")
    assert {(s.labels["gen_ai_request_model"], s.labels["gen_ai_token_type"]) for s in tokens} == {
        ("gpt-4o", "input"),
        ("gpt-4o", "output"),
    }
    bounds = {float(s.labels["le"]) for s in samples(fams, "gen_ai_client_token_usage", "_bucket")}
    assert bounds >= {1.0, 67108864.0, float("inf")}
    quality = samples(fams, "llm_quality_score")
    assert [(s.labels["backend"], s.labels["gen_ai_request_model"]) for s in quality] == [("oa", "gpt-4o")]


def test_httproute_mirror_reaches_backend_without_metrics(
    providers: tuple[ProviderSimulator, ProviderSimulator],
) -> None:
    oa, an = providers
    backends = {
        "oa": {"url": oa.url, "model": "gpt-4o", "api_key": "sk-oa"},
        "an": {"url": an.url, "model": "claude-sonnet-4-5", "api_key": "sk-an"},
    }
    mirror = {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "an"}, "percent": 50}}
    route = {"spec": {"rules": [{"backendRefs": [{"name": "oa"}], "filters": [mirror]}]}}
    sim = GatewaySimulator(
        None, "ns", "HTTPRoute", "chat", "chat", "litellm", backends, rps=200, seed=9,
        route_reader=lambda: route, secret_reader=lambda _: None,
    )  # fmt: skip
    out = run(sim)
    reqs = out["status"]["requests"]
    assert reqs["oa"]["success"] == out["status"]["sent"] >= 200
    assert reqs["an"]["mirrored"] / reqs["oa"]["success"] == pytest.approx(0.5, abs=0.1)
    assert an.stats()["status_200"] == reqs["an"]["mirrored"], "every mirrored request reached the backend"
    ids = {s.labels["model_id"] for s in samples(out["metrics"], "litellm_deployment_total_requests", "_total")}
    assert ids == {"oa"}
    assert out["status"]["mirrors"] == {"an": 50}


def test_weights_follow_route_changes_and_api_outages(providers: tuple[ProviderSimulator, ProviderSimulator]) -> None:
    oa, an = providers
    state: dict[str, Any] = {"obj": litellm_route(oa, an, 100, 0), "fail": False}

    def reader() -> dict[str, Any] | None:
        if state["fail"]:
            raise ConnectionError("api down")
        return state["obj"]

    sim = GatewaySimulator(
        None, "ns", "ConfigMap", "llm-gateway", "chat", "litellm", gateway_secret="k", rps=0,
        route_reader=reader, secret_reader=lambda _: KEYS,
    )  # fmt: skip
    assert sim.refresh().plan.shares() == {"openai-gpt-4o": 1.0, "claude-sonnet": 0.0}  # type: ignore[union-attr]
    state["obj"] = litellm_route(oa, an, 0, 100)
    assert sim.refresh().plan.shares()["claude-sonnet"] == 1.0  # type: ignore[union-attr]
    state["fail"] = True
    live = sim.refresh()
    assert live.error == "read failed: ConnectionError" and live.plan.weights()["claude-sonnet"] == 100  # type: ignore[union-attr]
    state.update(fail=False, obj=None)
    live = sim.refresh()
    assert live.plan is None and "not found" in (live.error or "")


def test_no_route_sends_nothing_and_stop_is_prompt(providers: tuple[ProviderSimulator, ProviderSimulator]) -> None:
    oa, _ = providers
    oa.configure(latency_ms=10_000, latency_jitter_ms=0)
    route = {"spec": {"rules": [{"backendRefs": [{"name": "oa"}]}]}}
    backends = {"oa": {"url": oa.url, "model": "gpt-4o", "api_key": "sk-oa"}}
    sim = GatewaySimulator(
        None, "ns", "HTTPRoute", "r", "chat", "otel-genai", backends, rps=50, max_in_flight=4,
        route_reader=lambda: route, secret_reader=lambda _: None,
    )  # fmt: skip
    sim.start()
    # Every request hangs on the slow provider: in-flight stays bounded, further ticks are dropped.
    wait_for(lambda: sim.load.counts().get("dropped", 0) > 0, "a dropped tick")
    assert sim.load.stop(), "stop() cancels the hanging requests instead of waiting for them"
    sim.stop()
    status = sim.status()
    assert status["sent"] == 4

    empty = GatewaySimulator(
        None, "ns", "HTTPRoute", "r", "chat", "otel-genai", backends, rps=100,
        route_reader=lambda: None, secret_reader=lambda _: None,
    )  # fmt: skip
    out = run(empty, 20)
    assert out["status"]["sent"] == 0 and out["status"]["no_route"] > 0


def test_admin_rps_and_backend_flag() -> None:
    sim = GatewaySimulator(
        None, "ns", "HTTPRoute", "r", "chat", "litellm", rps=0, route_reader=lambda: None, secret_reader=lambda _: None
    )
    sim.start()
    try:
        assert HTTP.post(sim.url + "/admin/config", json={"rps": 5}).json() == {"rps": 5.0}
        assert HTTP.post(sim.url + "/admin/config", json={"rps": 10**6}).status_code == 400
    finally:
        sim.stop()
    assert parse_backend_flag("a=http://127.0.0.1:1,model=gpt-4o,secret=s,secret-key=k") == (
        "a",
        {"url": "http://127.0.0.1:1", "model": "gpt-4o", "secret_name": "s", "secret_key": "k"},
    )
