"""The workshop's LiteLLM gateway: the real proxy follows the ConfigMap, Secrets and the reload Deployment.

These pin the facts the operator's LiteLLM adapter relies on, measured on the real proxy (version in
workshop/pyproject.toml's range): the split is the weights' (binomial tolerance, counted at the provider
simulators), the config is read only at start-up, a pod-template change rolls it, `/v1/model/info` lists what
the router created, `/metrics` needs the master key.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from conftest import unavailable
from pmo_devenv.binaries import BinariesMissing
from pmo_devenv.clients import ChatClients
from pmo_devenv.litellm_proxy import GatewayObjects, LiteLLMGateway, find_litellm, install_gateway_objects
from pmo_devenv.net import http_get
from pmo_devenv.prometheus import Prometheus
from pmo_devenv.simulators.providers import ProviderSimulator

pytestmark = pytest.mark.e2e

SOURCE_KEY, TARGET_KEY = "sk-src-e2e-0123456789", "sk-ant-e2e-0123456789"


def binomial_ok(hits: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    """`hits` of `n` is within `sigmas` standard deviations of a Binomial(n, p) mean (p in {0, 1}: exact)."""
    if p in (0.0, 1.0):
        return hits == round(n * p)
    return abs(hits - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def config(source_url: str, target_url: str, source_weight: int, target_weight: int | None) -> str:
    target_params: dict[str, Any] = {
        "model": "anthropic/claude-sonnet-4-5",
        "api_base": target_url,
        "api_key": "os.environ/ANTHROPIC_API_KEY",
    }
    if target_weight is not None:
        target_params["weight"] = target_weight
    return yaml.safe_dump(
        {
            "model_list": [
                {
                    "model_name": "chat",
                    "litellm_params": {
                        "model": "openai/gpt-4o",
                        "api_base": f"{source_url}/v1",
                        "api_key": "os.environ/OPENAI_API_KEY",
                        "weight": source_weight,
                    },
                    "model_info": {"id": "openai-gpt-4o"},
                },
                {"model_name": "chat", "litellm_params": target_params, "model_info": {"id": "anthropic-claude"}},
            ],
            "router_settings": {"routing_strategy": "simple-shuffle", "num_retries": 0},
            "litellm_settings": {"callbacks": ["prometheus"]},
        },
        sort_keys=False,
    )


@pytest.fixture
def providers() -> Iterator[tuple[ProviderSimulator, ProviderSimulator]]:
    source = ProviderSimulator("openai", api_key=SOURCE_KEY, backend="openai-gpt-4o", latency_ms=5).start()
    target = ProviderSimulator("anthropic", api_key=TARGET_KEY, backend="anthropic-claude", latency_ms=5).start()
    yield source, target
    source.stop()
    target.stop()


@pytest.fixture
def litellm_binary() -> Path:
    try:
        return find_litellm()
    except BinariesMissing as e:
        unavailable(str(e))
        raise


def send(gateway: LiteLLMGateway, n: int) -> dict[str, int]:
    assert gateway.master_key
    with ChatClients(gateway.url, "chat", [gateway.master_key], rps=200, max_in_flight=16) as clients:
        deadline = time.monotonic() + 120
        while clients.counts().get("sent", 0) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        clients.set_rps(0)
        while sum(v for k, v in clients.counts().items() if k in ("ok", "failed")) < clients.counts()["sent"]:
            time.sleep(0.05)
        return clients.counts()


def test_split_reload_model_info_and_metrics(
    kube: client.ApiClient,
    namespace: str,
    tmp_path: Path,
    providers: tuple[ProviderSimulator, ProviderSimulator],
    prometheus: Prometheus,
    litellm_binary: Path,
) -> None:
    source, target = providers
    objects: GatewayObjects = install_gateway_objects(
        kube,
        namespace,
        config(source.url, target.url, 90, 10),
        {"OPENAI_API_KEY": SOURCE_KEY, "ANTHROPIC_API_KEY": TARGET_KEY},
    )
    with LiteLLMGateway(kube, objects, tmp_path / "gw", binary=litellm_binary, poll_interval=0.2) as gateway:
        ids = {d["model_info"]["id"]: d["litellm_params"].get("weight") for d in gateway.model_info()}
        assert ids == {"openai-gpt-4o": 90, "anthropic-claude": 10}

        counts = send(gateway, 400)
        n = counts["ok"]
        assert counts.get("failed", 0) == 0, counts
        assert source.stats()["status_200"] + target.stats()["status_200"] == n
        assert binomial_ok(target.stats()["status_200"], n, 0.1), (target.stats(), n)
        # The proxy's own answer header names the deployment: it agrees with the simulators.
        assert counts.get("model_id:anthropic-claude", 0) == target.stats()["status_200"]

        # /metrics needs the master key; Prometheus scrapes it with the key as bearer token.
        assert http_get(gateway.url + "/metrics/")[0] == 401
        assert gateway.master_key
        prometheus.add_authorized_target("litellm-e2e", gateway.address, gateway.master_key, {"namespace": namespace})
        series = prometheus.wait_for_series(
            f'sum by (model_id) (litellm_deployment_total_requests_total{{namespace="{namespace}"}})', timeout=60
        )
        assert {s["metric"]["model_id"] for s in series} == {"openai-gpt-4o", "anthropic-claude"}

        # A new config alone changes nothing (read only at start-up) ...
        core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
        core.patch_namespaced_config_map(
            objects.config_map, namespace, {"data": {"config.yaml": config(source.url, target.url, 0, None)}}
        )
        time.sleep(1.5)
        assert len(gateway.rollouts) == 1
        # ... a pod-template change rolls it: and a deployment without a weight now counts as 0.
        assert objects.reload_deployment is not None
        apps.patch_namespaced_deployment(
            objects.reload_deployment,
            namespace,
            {"spec": {"template": {"metadata": {"annotations": {"example.com/config-hash": "2"}}}}},
        )
        gateway.wait_for_rollouts(2)
        assert gateway.rollouts[-1].error is None, gateway.rollouts[-1].error
        assert {d["model_info"]["id"]: d["litellm_params"].get("weight") for d in gateway.model_info()} == {
            "openai-gpt-4o": 0,
            "anthropic-claude": None,
        }
        before = source.stats().get("status_200", 0), target.stats().get("status_200", 0)
        counts = send(gateway, 100)
        # Every weight is 0 (max not > 0), so simple-shuffle falls through rpm and tpm to a uniform pick.
        got = source.stats()["status_200"] - before[0], target.stats()["status_200"] - before[1]
        assert sum(got) == counts["ok"] and binomial_ok(got[1], sum(got), 0.5), got
    prometheus.remove_target("litellm-e2e", gateway.address)


def test_preset_measurements_agree_with_the_simulators(
    kube: client.ApiClient,
    namespace: str,
    tmp_path: Path,
    prometheus: Prometheus,
    litellm_binary: Path,
) -> None:
    """The `litellm` preset's queries against the real proxy's metrics, judged by the providers' ground truth.

    Tolerances and why: the target's share of requests within 4 binomial standard deviations; the error rate
    within 0.05 absolute of the failures the target simulator answered (rate() misses what a series counted
    before its first scrape: the failure series is born with its first failure); input tokens per successful
    request within 15 % of the simulator's mean (it draws N(mean, 10 %)); the provider-call p50 inside the
    bucket range around each simulator's latency (LiteLLM's buckets 0.025/0.05/0.1/.../0.5/1: an estimate
    cannot be finer). `num_retries: 0`, so each client request reaches exactly one deployment.
    """
    from provider_migration.analysis.presets import LITELLM
    from provider_migration.analysis.queries import ArmLabels, render

    suffix = namespace[-6:]
    src_id, dst_id = f"src-{suffix}", f"dst-{suffix}"
    source = ProviderSimulator("openai", api_key=SOURCE_KEY, latency_ms=30, latency_jitter_ms=5, input_tokens=400)
    target = ProviderSimulator(
        "anthropic", api_key=TARGET_KEY, latency_ms=700, latency_jitter_ms=20, input_tokens=300, error_rate=0.2
    )
    source.start()
    target.start()
    text = config(source.url, target.url, 1, 1).replace("openai-gpt-4o", src_id).replace("anthropic-claude", dst_id)
    objects = install_gateway_objects(
        kube, namespace, text, {"OPENAI_API_KEY": SOURCE_KEY, "ANTHROPIC_API_KEY": TARGET_KEY}
    )
    try:
        with LiteLLMGateway(kube, objects, tmp_path / "gw", binary=litellm_binary) as gateway:
            assert gateway.master_key
            prometheus.add_authorized_target("litellm-conf", gateway.address, gateway.master_key, {})
            prometheus.wait_for_target("litellm-conf", timeout=60)
            # Two client identities (user agents): separate series, as two applications would make.
            with ChatClients(
                gateway.url, "chat", [gateway.master_key], rps=20, user_agents=("app-a", "app-b"), max_in_flight=32
            ) as clients:
                deadline = time.monotonic() + 120
                while clients.counts().get("sent", 0) < 400 and time.monotonic() < deadline:
                    time.sleep(0.1)
                clients.set_rps(0)
                while sum(clients.counts().get(k, 0) for k in ("ok", "failed")) < clients.counts()["sent"]:
                    time.sleep(0.1)
            time.sleep(6)  # three more scrapes see the final counts

            def q(name: str, backend: str, model: str) -> float:
                result = prometheus.query(render(LITELLM[name], ArmLabels(backend, model), "3m"))
                assert result, f"{name} of {backend}: no data"
                return float(result[0]["value"][1])

            def ratio(numerator: str, denominator: str) -> float:
                a = prometheus.query(numerator)
                b = prometheus.query(denominator)
                assert a and b, (numerator, denominator)
                return float(a[0]["value"][1]) / float(b[0]["value"][1])

            src, dst = source.stats(), target.stats()
            dst_failed = dst.get("total", 0) - dst.get("status_200", 0)
            total = src.get("total", 0) + dst.get("total", 0)
            assert binomial_ok(dst["total"], total, 0.5), (src, dst)

            assert abs(q("error_rate", dst_id, "claude-sonnet-4-5") - dst_failed / dst["total"]) <= 0.05
            assert q("error_rate", src_id, "gpt-4o") == 0.0

            successes = 'sum(rate(litellm_deployment_success_responses_total{model_id="%s"}[3m]))'
            tokens = render(LITELLM["input_tokens"], ArmLabels(dst_id, "claude-sonnet-4-5"), "3m")
            assert abs(ratio(tokens, successes % dst_id) - 300) <= 45
            tokens = render(LITELLM["input_tokens"], ArmLabels(src_id, "gpt-4o"), "3m")
            assert abs(ratio(tokens, successes % src_id) - 400) <= 60

            assert 0.025 <= q("latency_p50", src_id, "gpt-4o") <= 0.25
            assert 0.5 <= q("latency_p50", dst_id, "claude-sonnet-4-5") <= 1.0
            prometheus.remove_target("litellm-conf", gateway.address)
    finally:
        source.stop()
        target.stop()
