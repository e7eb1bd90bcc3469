"""The evaluation gate against the provider simulators running as processes: a good target passes, a degraded
one (failing requests, slow answers, a rejected key) fails, and no key ever reaches the output. First from a
laptop (`pmo eval`), then as the operator runs it (golden set and keys read from the real API server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from provider_migration.api import constants as c
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.evaluation.operator_gate import run_gate

SOURCE_KEY = "sk-source-EVAL-5d2a91"
TARGET_KEY = "sk-ant-target-EVAL-e40c77"
ITEMS = 20
# Generous, equal latencies on both sides: a loaded CI box adds jitter, never a 2x gap between identical servers.
LATENCY = ["--latency-ms", "100", "--latency-jitter-ms", "5"]

Start = Callable[..., str]


@pytest.fixture
def provider() -> Iterator[Start]:
    """Start `python -m ...simulators.providers` processes; returns each one's URL."""
    procs: list[subprocess.Popen[str]] = []

    def start(flavor: str, key: str, *flags: str) -> str:
        env = dict(os.environ, SIM_KEY=key)
        cmd = [sys.executable, "-m", "pmo_devenv.simulators.providers", "--flavor", flavor,
               "--api-key-env", "SIM_KEY", *flags]  # fmt: skip
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"provider simulator did not start: {proc.stderr.read() if proc.stderr else ''}")
        return str(json.loads(line)["url"])

    yield start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """The migration and its golden-set ConfigMap in one file, as a team would keep them in Git."""
    items = [
        json.dumps({"id": f"q{i}", "messages": [{"role": "user", "content": f"Question {i}?"}],
                    "expected": "simulated answer", "assertions": [{"type": "length", "max": 200}]})
        for i in range(ITEMS)
    ]  # fmt: skip
    migration: dict[str, Any] = {
        "apiVersion": "migrations.llmops.dev/v1alpha1",
        "kind": "ProviderMigration",
        "metadata": {"name": "support-bot", "namespace": "support"},
        "spec": {
            "route": {"kind": "ConfigMap", "name": "llm-gateway", "modelName": "chat"},
            "source": {"provider": "openai", "model": "gpt-4o", "backend": "openai-gpt-4o"},
            "target": {"provider": "anthropic", "model": "claude-haiku-4-5", "backend": "anthropic-haiku"},
            "evaluation": {"dataset": {"configMap": "golden-set"}, "concurrency": 4, "maxRequests": 2 * ITEMS,
                           "timeout": "10s"},
        },
    }  # fmt: skip
    golden = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "golden-set", "namespace": "support"},
              "data": {"dataset.jsonl": "\n".join(items) + "\n"}}  # fmt: skip
    path = tmp_path / "migration.yaml"
    path.write_text(yaml.safe_dump_all([golden, migration]))
    return path


def pmo_eval(manifest: Path, source_url: str, target_url: str, target_key: str = TARGET_KEY) -> dict[str, Any]:
    env = dict(os.environ, EVAL_SOURCE_KEY=SOURCE_KEY, EVAL_TARGET_KEY=target_key)
    keys = ["--source-key-env", "EVAL_SOURCE_KEY", "--target-key-env", "EVAL_TARGET_KEY"]
    urls = ["--source-url", source_url, "--target-url", target_url]
    cmd = [
        sys.executable,
        "-m",
        "provider_migration.cli.main",
        "eval",
        "-f",
        str(manifest),
        *urls,
        *keys,
        "--format",
        "json",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    for secret in (SOURCE_KEY, TARGET_KEY, target_key):
        assert secret not in done.stdout and secret not in done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert done.returncode == (0 if result["status"]["verdict"] == "Pass" else 1), done.stderr
    return result


def checks(result: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["verdict"] for c in result["checks"]}


def test_a_good_target_passes(provider: Start, manifest: Path) -> None:
    source = provider("openai", SOURCE_KEY, "--seed", "1", *LATENCY)
    target = provider("anthropic", TARGET_KEY, "--seed", "2", *LATENCY)
    result = pmo_eval(manifest, source, target)
    status = result["status"]
    assert status["verdict"] == "Pass", status["message"]
    assert checks(result) == {"quality": "Pass", "errorRate": "Pass", "latencyP95": "Pass", "cost": "Pass"}
    assert status["source"]["items"] == status["target"]["items"] == ITEMS
    assert status["source"]["passRate"] == status["target"]["passRate"] == 1.0
    assert status["target"]["inputTokens"] > 0 and status["target"]["cost"] > 0  # priced from the catalog
    assert len(result["items"]) == 2 * ITEMS


def test_a_target_failing_requests_fails_the_gate(provider: Start, manifest: Path) -> None:
    source = provider("openai", SOURCE_KEY, "--seed", "1", *LATENCY)
    target = provider("anthropic", TARGET_KEY, "--seed", "2", *LATENCY, "--error-rate", "0.5")
    result = pmo_eval(manifest, source, target)
    assert result["status"]["verdict"] == "Fail"
    assert checks(result)["errorRate"] == "Fail" and checks(result)["quality"] == "Fail"
    assert "errorRate: target error rate" in result["status"]["message"]
    failed = [i for i in result["items"] if i["side"] == "target" and i["error"]]
    assert failed and all(i["error"].startswith("HTTP 529") for i in failed)  # Anthropic's "overloaded"


def test_a_slow_target_fails_on_latency(provider: Start, manifest: Path) -> None:
    source = provider("openai", SOURCE_KEY, "--seed", "1", *LATENCY)
    target = provider("anthropic", TARGET_KEY, "--seed", "2", "--latency-ms", "600", "--latency-jitter-ms", "5")
    result = pmo_eval(manifest, source, target)
    assert result["status"]["verdict"] == "Fail"
    assert checks(result) == {"quality": "Pass", "errorRate": "Pass", "latencyP95": "Fail", "cost": "Pass"}


def test_a_target_rejecting_the_key_fails_without_showing_it(provider: Start, manifest: Path) -> None:
    source = provider("openai", SOURCE_KEY, "--seed", "1", *LATENCY)
    target = provider("anthropic", TARGET_KEY, "--seed", "2", *LATENCY)
    result = pmo_eval(manifest, source, target, target_key="sk-ant-WRONG-key-123456")
    assert result["status"]["verdict"] == "Fail"
    # The provider's error type only: its message is never repeated (providers may echo the key they saw).
    assert {i["error"] for i in result["items"] if i["side"] == "target"} == {"HTTP 401: authentication_error"}


# --- the operator's side: run_gate reads the golden set and keys from the real API server ---

CRD_FILE = Path(__file__).resolve().parents[2] / "crds" / f"{c.CRD_NAME}.yaml"


@pytest.fixture(scope="module")
def crd(kubectl: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    kubectl("apply", "--server-side", "-f", str(CRD_FILE))
    kubectl("wait", "--for=condition=Established", "--timeout=30s", f"crd/{c.CRD_NAME}")


def _in_cluster(kube: client.ApiClient, namespace: str, manifest: Path, source_url: str, target_url: str) -> str:
    """The manifest's ConfigMap and migration (endpoints at the simulators, keys in Secrets) in `namespace`."""
    golden, migration = yaml.safe_load_all(manifest.read_text())
    core = client.CoreV1Api(kube)
    golden["metadata"]["namespace"] = namespace
    core.create_namespaced_config_map(namespace, golden)
    for name, value in (("openai-key", SOURCE_KEY), ("anthropic-key", TARGET_KEY)):
        secret = client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={"api-key": value})
        core.create_namespaced_secret(namespace, secret)
    spec = migration["spec"]
    spec["source"] |= {"apiBase": source_url, "credentials": {"secretName": "openai-key"}}
    spec["target"] |= {"apiBase": target_url, "credentials": {"secretName": "anthropic-key"}}
    spec["gatewaySecret"] = "llm-gateway-keys"
    migration["metadata"]["namespace"] = namespace
    client.CustomObjectsApi(kube).create_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, migration)
    return str(migration["metadata"]["name"])


def _spec(kube: client.ApiClient, namespace: str, name: str) -> ProviderMigrationSpec:
    body = client.CustomObjectsApi(kube).get_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, name)
    return ProviderMigrationSpec.from_wire(body["spec"])  # type: ignore[index]


@pytest.mark.usefixtures("crd")
def test_operator_gate_passes_a_good_target_and_stores_the_table(
    provider: Start, manifest: Path, kube: client.ApiClient, namespace: str
) -> None:
    source = provider("openai", SOURCE_KEY, "--seed", "1", *LATENCY)
    target = provider("anthropic", TARGET_KEY, "--seed", "2", *LATENCY)
    name = _in_cluster(kube, namespace, manifest, source, target)
    status = run_gate(kube, namespace, name, _spec(kube, namespace, name), datetime.now(UTC))
    assert status.verdict == "Pass", status.message
    assert status.results_config_map == "support-bot-evaluation"
    table = client.CoreV1Api(kube).read_namespaced_config_map(status.results_config_map, namespace)
    assert table.data is not None and table.metadata is not None
    rows = [json.loads(x) for x in table.data["results.jsonl"].splitlines()]
    assert len(rows) == 2 * ITEMS and all(r["passed"] for r in rows)
    assert [o.kind for o in table.metadata.owner_references or []] == ["ProviderMigration"]
    exposed = status.model_dump_json() + json.dumps(table.data)
    assert SOURCE_KEY not in exposed and TARGET_KEY not in exposed


@pytest.mark.usefixtures("crd")
def test_operator_gate_fails_a_degraded_target_and_reports_a_missing_secret(
    provider: Start, manifest: Path, kube: client.ApiClient, namespace: str
) -> None:
    source = provider("openai", SOURCE_KEY, "--seed", "1", *LATENCY)
    target = provider("anthropic", TARGET_KEY, "--seed", "2", *LATENCY, "--error-rate", "0.5")
    name = _in_cluster(kube, namespace, manifest, source, target)
    spec = _spec(kube, namespace, name)
    status = run_gate(kube, namespace, name, spec, datetime.now(UTC))
    assert status.verdict == "Fail" and "errorRate" in status.message

    client.CoreV1Api(kube).delete_namespaced_secret("anthropic-key", namespace)
    status = run_gate(kube, namespace, name, spec, datetime.now(UTC))
    assert status.verdict == "Error"
    assert status.message == f"cannot evaluate: Secret {namespace}/anthropic-key not found"


@pytest.mark.usefixtures("crd")
def test_operator_gate_never_adopts_a_config_map_it_did_not_create(
    provider: Start, manifest: Path, kube: client.ApiClient, namespace: str
) -> None:
    """A team's ConfigMap that happens to be called <migration>-evaluation: the gate refuses before any call,
    and the ConfigMap keeps its data and gets no owner (a garbage collector would delete it with the migration)."""
    source = provider("openai", SOURCE_KEY, "--seed", "1", *LATENCY)
    target = provider("anthropic", TARGET_KEY, "--seed", "2", *LATENCY)
    name = _in_cluster(kube, namespace, manifest, source, target)
    core = client.CoreV1Api(kube)
    core.create_namespaced_config_map(
        namespace, {"metadata": {"name": f"{name}-evaluation"}, "data": {"team.yaml": "keep: me\n"}}
    )
    before = core.read_namespaced_config_map(f"{name}-evaluation", namespace)
    status = run_gate(kube, namespace, name, _spec(kube, namespace, name), datetime.now(UTC))
    assert status.verdict == "Error"
    assert "exists and was not created by the operator for this migration" in (status.message or "")
    after = core.read_namespaced_config_map(f"{name}-evaluation", namespace)
    assert after.metadata.resource_version == before.metadata.resource_version
    assert after.data == {"team.yaml": "keep: me\n"} and not after.metadata.owner_references
