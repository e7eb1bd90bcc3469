"""The golden-set gate as the operator runs it: a good target passes and traffic moves; a degraded one is
Blocked before any traffic moves. Providers are the simulators (test tooling), the cluster is real."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from kubernetes import client
from operator_support import (
    SOURCE_KEY,
    TARGET_KEY,
    WeightRecorder,
    create_litellm_world,
    get_migration,
    migration,
    phase_of,
    wait_for,
)
from test_controller import create

from pmo_devenv.simulators.providers import ProviderSimulator

ITEMS = 8


@pytest.fixture
def providers() -> Iterator[tuple[ProviderSimulator, ProviderSimulator]]:
    source = ProviderSimulator("openai", api_key=SOURCE_KEY, seed=1, latency_ms=20, latency_jitter_ms=2).start()
    target = ProviderSimulator("anthropic", api_key=TARGET_KEY, seed=2, latency_ms=20, latency_jitter_ms=2).start()
    yield source, target
    source.stop()
    target.stop()


def golden_set(kube: client.ApiClient, namespace: str) -> None:
    items = [
        json.dumps({"messages": [{"role": "user", "content": f"Question {i}?"}], "expected": "simulated answer"})
        for i in range(ITEMS)
    ]
    golden = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="golden-set"), data={"dataset.jsonl": "\n".join(items)}
    )
    client.CoreV1Api(kube).create_namespaced_config_map(namespace, golden)


def gated(source_url: str, target_url: str) -> dict:  # type: ignore[type-arg]
    body = migration("gated-by-eval", evaluation={"dataset": {"configMap": "golden-set"}, "timeout": "10s"})
    body["spec"]["source"]["apiBase"] = source_url
    body["spec"]["target"]["apiBase"] = target_url
    return body


def test_good_target_passes_the_gate_and_traffic_moves(kube, namespace, operator, providers) -> None:  # type: ignore[no-untyped-def]
    source, target = providers
    create_litellm_world(kube, namespace)
    golden_set(kube, namespace)
    with WeightRecorder(kube, namespace) as recorder:
        create(kube, namespace, gated(source.url, target.url))
        wait_for(lambda: phase_of(kube, namespace, "gated-by-eval") == "Succeeded", 120, "Succeeded")
    status = get_migration(kube, namespace, "gated-by-eval")["status"]
    assert status["evaluation"]["verdict"] == "Pass"
    assert status["evaluation"]["target"]["passRate"] == 1.0
    assert recorder.weights == [0, 10, 50, 100]
    results = client.CoreV1Api(kube).read_namespaced_config_map(status["evaluation"]["resultsConfigMap"], namespace)
    assert results.data, "the per-item table is kept in a ConfigMap"
    assert TARGET_KEY not in json.dumps(results.data) and SOURCE_KEY not in json.dumps(status)


def test_degraded_target_is_blocked_before_any_traffic_moves(kube, namespace, operator, providers) -> None:  # type: ignore[no-untyped-def]
    source, target = providers
    target.configure(error_rate=0.6)
    create_litellm_world(kube, namespace)
    golden_set(kube, namespace)
    with WeightRecorder(kube, namespace) as recorder:
        create(kube, namespace, gated(source.url, target.url))
        wait_for(lambda: phase_of(kube, namespace, "gated-by-eval") == "Blocked", 120, "Blocked")
    status = get_migration(kube, namespace, "gated-by-eval")["status"]
    assert status["reason"] == "EvaluationFailed" and status["evaluation"]["verdict"] == "Fail"
    assert recorder.weights == [0], "no traffic may move before the gate passes"
