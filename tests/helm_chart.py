"""Rendering charts/provider-migration-operator with the real helm binary (the one devenv builds).

Shared by the chart's unit tests (render and inspect) and e2e tests (render and apply to the API server).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from pmo_devenv import BinariesMissing, find_binaries

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "charts" / "provider-migration-operator"
RELEASE = "pmo"
RELEASE_NAMESPACE = "pmo-system"
FULLNAME = f"{RELEASE}-provider-migration-operator"

# The values modes the chart supports; each must lint, render and apply.
MODES: dict[str, dict[str, Any]] = {
    "cluster": {},
    "namespaced": {"rbac": {"scope": "namespaced"}, "watchNamespaces": ["team-a", "team-b"]},
    "ha-cluster": {"ha": {"enabled": True, "replicas": 3}},
    "ha-namespaced": {"ha": {"enabled": True}, "rbac": {"scope": "namespaced"}, "watchNamespaces": ["team-a"]},
    "monitoring": {
        "metrics": {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}},
        "grafanaDashboard": {"enabled": True},
    },
}

# Every API call the operator makes as itself, as (group, resource, verbs): the chart must grant exactly these
# (plus kopf peering in HA mode). tests/e2e/test_rbac.py proves they suffice for a whole migration.
OPERATOR_NEEDS: list[tuple[str, str, tuple[str, ...]]] = [
    ("migrations.llmops.dev", "providermigrations", ("get", "list", "watch", "patch")),
    ("migrations.llmops.dev", "providermigrations/status", ("get", "patch")),
    ("", "events", ("create", "patch")),  # kopf posts core/v1 Events
    ("", "serviceaccounts", ("impersonate",)),  # every tenant object is touched as the namespace's own account
    ("migrations.llmops.dev", "migrationtemplates", ("get",)),  # read once per migration start
]
# Cluster-scoped, so granted cluster-wide in both modes (a ClusterRole of its own in namespaced mode).
CLUSTER_TEMPLATES_NEED = ("migrations.llmops.dev", "clustermigrationtemplates", "get", "*")


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def helm() -> Path:
    """The helm binary; skips the test when it is not built (fails under CI, where it must be)."""
    try:
        return find_binaries().helm
    except BinariesMissing as e:
        if _ci():
            pytest.fail(str(e), pytrace=False)
        pytest.skip(str(e))
        raise


def run_helm(*args: str, values: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
    """helm <args> [--values <file with `values`>], not checked."""
    with tempfile.TemporaryDirectory(prefix="pmo-helm-") as tmp:
        extra: list[str] = []
        if values is not None:
            path = Path(tmp) / "values.yaml"
            path.write_text(yaml.safe_dump(values))
            extra = ["--values", str(path)]
        env = {
            **os.environ,
            "HELM_CACHE_HOME": f"{tmp}/cache",
            "HELM_CONFIG_HOME": f"{tmp}/config",
            "HELM_DATA_HOME": f"{tmp}/data",
        }
        return subprocess.run([str(helm()), *args, *extra], capture_output=True, text=True, timeout=120, env=env)


def render_text(
    values: dict[str, Any] | None = None,
    *,
    include_crds: bool = False,
    release: str = RELEASE,
    namespace: str = RELEASE_NAMESPACE,
) -> str:
    args = ["template", release, str(CHART), "--namespace", namespace]
    if include_crds:
        args.append("--include-crds")
    result = run_helm(*args, values=values or {})
    assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
    return result.stdout


def render(
    values: dict[str, Any] | None = None,
    *,
    include_crds: bool = False,
    release: str = RELEASE,
    namespace: str = RELEASE_NAMESPACE,
) -> list[dict[str, Any]]:
    """The chart's manifests for `values`, parsed."""
    text = render_text(values, include_crds=include_crds, release=release, namespace=namespace)
    return [d for d in yaml.safe_load_all(text) if d]


def render_error(values: dict[str, Any]) -> str:
    """helm template's error output for values the chart must refuse."""
    result = run_helm("template", RELEASE, str(CHART), "--namespace", RELEASE_NAMESPACE, values=values)
    assert result.returncode != 0, f"helm template accepted values it should refuse: {values}"
    return result.stderr


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


AGGREGATE_LABEL = "rbac.authorization.k8s.io/aggregate-to-"


def is_aggregated(doc: dict[str, Any]) -> bool:
    """A ClusterRole for the default view/edit/admin roles (it grants people, not the operator, anything)."""
    return any(key.startswith(AGGREGATE_LABEL) for key in (doc["metadata"].get("labels") or {}))


def operator_roles(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The Roles or ClusterRoles bound to the operator's ServiceAccount."""
    return [d for d in of_kind(docs, kind) if not is_aggregated(d)]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = of_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def operator_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    containers = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "operator")


def operator_bindings(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The (Cluster)RoleBindings to a ServiceAccount: the operator's (people's bindings name groups or users)."""
    return [
        d
        for d in of_kind(docs, "ClusterRoleBinding") + of_kind(docs, "RoleBinding")
        if any(s.get("kind") == "ServiceAccount" for s in d.get("subjects") or [])
    ]


def permissions(rules: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    """RBAC rules flattened to (apiGroup, resource, verb, resourceName or '*')."""
    return {
        (group, resource, verb, name)
        for rule in rules
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
        for name in rule.get("resourceNames") or ["*"]
    }
