"""GitOps: an Argo CD sync in the middle of a migration.

With `ServerSideApply=true` Argo CD syncs by server-side apply with `--force-conflicts` under its own field
manager, taking every field in Git, the routing weights included. The test re-applies the user's original
manifests exactly that way while a migration holds at 50 %, and checks that the sync really put Git's weights
back (100 % source), that the migration itself is not disturbed (same generation, step, pause start, no
failure, no rollback), that the operator restores the step's weights on its next tick, and that the
migration then finishes normally.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from operator_support import (
    CRD_FILE,
    SOURCE_KEY,
    TARGET_KEY,
    OperatorProcess,
    WeightRecorder,
    annotate,
    event_reasons,
    get_migration,
    litellm_config,
    litellm_deployment,
    migration,
    phase_of,
    target_weight_in,
    wait_for,
)

from provider_migration.api import constants as c

pytestmark = pytest.mark.e2e

ARGOCD_MANAGER = "argocd-controller"  # the field manager Argo CD applies with
NAME = "gitops-sync"


def _secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def git_manifests() -> list[dict[str, Any]]:
    """What the user keeps in Git: the gateway at 100 % source, its keys, and the migration (holding at 50 %)."""
    steps = [{"weight": 10, "pause": "1s"}, {"weight": 50, "pause": "30m"}, {"weight": 100}]
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "llm-gateway"},
            "data": {"config.yaml": litellm_config()},
        },
        _secret("openai-api-key", {"api-key": SOURCE_KEY}),
        _secret("anthropic-api-key", {"api-key": TARGET_KEY}),
        _secret("llm-gateway-keys", {"OPENAI_API_KEY": SOURCE_KEY}),
        litellm_deployment(),
        migration(NAME, strategy={"type": "Phased", "steps": steps}),
    ]


@pytest.fixture(scope="module")
def product_crd(kubectl) -> None:  # type: ignore[no-untyped-def]
    kubectl("apply", "--server-side", f"--field-manager={c.FIELD_MANAGER}", "-f", str(CRD_FILE))
    kubectl("wait", "--for=condition=Established", f"crd/{c.CRD_NAME}", "--timeout=30s")


@pytest.fixture
def operator(control_plane, namespace: str, tmp_path: Path, product_crd: None) -> Iterator[OperatorProcess]:  # type: ignore[no-untyped-def]
    proc = OperatorProcess(str(control_plane.kubeconfig), namespace, tmp_path)
    proc.start()
    yield proc
    proc.stop()
    print("---- operator log (tail) ----\n" + "\n".join(proc.log().splitlines()[-60:]))  # shown on failure


def argocd_sync(kubectl, namespace: str, manifests: Path) -> None:  # type: ignore[no-untyped-def]
    """What `argocd app sync` runs with ServerSideApply=true."""
    kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        f"--field-manager={ARGOCD_MANAGER}",
        f"--namespace={namespace}",
        "-f",
        str(manifests),
    )


def _route_weight(kube: client.ApiClient, namespace: str) -> int | None:
    cm = client.CoreV1Api(kube).read_namespaced_config_map("llm-gateway", namespace)
    return target_weight_in((cm.data or {}).get("config.yaml", ""))


def test_a_sync_mid_migration_does_not_disturb_it_and_the_operator_restores_its_weights(
    kube: client.ApiClient,
    kubectl,
    namespace: str,
    operator: OperatorProcess,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    manifests = tmp_path / "git.yaml"
    manifests.write_text(yaml.safe_dump_all(git_manifests()))
    argocd_sync(kubectl, namespace, manifests)  # the first sync creates everything
    wait_for(
        lambda: _route_weight(kube, namespace) == 50 and phase_of(kube, namespace, NAME) == "Progressing",
        90,
        "the migration holding at 50 %",
    )
    before = get_migration(kube, namespace, NAME)
    assert before["status"]["currentStep"] == 1

    with WeightRecorder(kube, namespace) as recorder:
        argocd_sync(kubectl, namespace, manifests)
        wait_for(lambda: recorder.weights[-1:] == [0], 10, "the sync to put Git's weights back")
        wait_for(lambda: recorder.weights[-1:] == [50], 90, "the operator to restore 50 %")
    assert recorder.weights == [50, 0, 50]

    after = get_migration(kube, namespace, NAME)
    assert after["metadata"]["generation"] == before["metadata"]["generation"], "the sync changed no spec"
    for field in ("phase", "currentStep", "currentWeight", "stepStartedAt", "startedAt", "failures", "rollbackReason"):
        assert after["status"].get(field) == before["status"].get(field), field
    assert "WeightsRestored" in event_reasons(kube, namespace)
    assert "RolledBack" not in event_reasons(kube, namespace)
    # Fields the operator added with its own field manager survive Argo CD's apply.
    keys = client.CoreV1Api(kube).read_namespaced_secret("llm-gateway-keys", namespace).data or {}
    assert "ANTHROPIC_API_KEY" in keys

    annotate(kube, namespace, NAME, "promote", "after-sync")
    wait_for(lambda: phase_of(kube, namespace, NAME) == "Succeeded", 60, "the migration to finish")
    assert _route_weight(kube, namespace) == 100
