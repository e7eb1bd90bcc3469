"""The Helm chart with the real helm and the real API server: `helm lint --strict` is clean and every values
mode renders to manifests the API server accepts (`kubectl apply --dry-run=server`, strict field validation:
an unknown or misspelt field is an error, not a silently pruned field).

The Prometheus Operator CRDs (ServiceMonitor, PrometheusRule) are not part of the local control plane, so the
monitoring mode is checked against MINIMAL STAND-IN CRDs written below (annotated as such): they declare
only the upstream fields the chart uses, with upstream's names and types.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from helm_chart import CHART, MODES, render_text, run_helm
from pmo_devenv.thirdparty_crds import STANDIN_ANNOTATION

pytestmark = pytest.mark.e2e

Kubectl = Callable[..., Any]
FIELD_MANAGER = "pmo-chart-test"
CHART_CRDS = ("providermigrations.migrations.llmops.dev", "kopfpeerings.kopf.dev", "clusterkopfpeerings.kopf.dev")


def _standin(plural: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.monitoring.coreos.com",
            "annotations": {
                STANDIN_ANNOTATION: "minimal stand-in for the Prometheus Operator CRD, for chart tests only"
            },
        },
        "spec": {
            "group": "monitoring.coreos.com",
            "scope": "Namespaced",
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": spec}}},
                }
            ],
        },
    }


def monitoring_standin_crds() -> list[dict[str, Any]]:
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}
    duration = {
        "type": "string",
        "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
    }
    label_selector = {
        "type": "object",
        "properties": {
            "matchLabels": string_map,
            "matchExpressions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {"type": "string"},
                        "operator": {"type": "string"},
                        "values": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    }
    service_monitor = {
        "type": "object",
        "required": ["selector"],
        "properties": {
            "selector": label_selector,
            "namespaceSelector": {
                "type": "object",
                "properties": {
                    "any": {"type": "boolean"},
                    "matchNames": {"type": "array", "items": {"type": "string"}},
                },
            },
            "endpoints": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "port": {"type": "string"},
                        "path": {"type": "string"},
                        "scheme": {"type": "string"},
                        "interval": duration,
                        "scrapeTimeout": duration,
                        "honorLabels": {"type": "boolean"},
                    },
                },
            },
        },
    }
    prometheus_rule = {
        "type": "object",
        "properties": {
            "groups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "interval": duration,
                        "rules": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["expr"],
                                "properties": {
                                    "alert": {"type": "string"},
                                    "record": {"type": "string"},
                                    "expr": {"x-kubernetes-int-or-string": True},
                                    "for": duration,
                                    "labels": string_map,
                                    "annotations": string_map,
                                },
                            },
                        },
                    },
                },
            }
        },
    }
    return [
        _standin("servicemonitors", "ServiceMonitor", service_monitor),
        _standin("prometheusrules", "PrometheusRule", prometheus_rule),
    ]


@pytest.fixture(scope="module")
def chart_crds(kubectl: Kubectl) -> None:
    """The chart's crds/ installed for real (what `helm install` does first)."""
    kubectl(
        "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", str(CHART / "crds")
    )
    kubectl("wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{n}" for n in CHART_CRDS))


@pytest.fixture(scope="module")
def monitoring_crds(kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("standin") / "monitoring-crds.yaml"
    crds = monitoring_standin_crds()
    path.write_text(yaml.safe_dump_all(crds))
    kubectl("apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", str(path))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{c['metadata']['name']}" for c in crds))


@pytest.fixture
def watched(kube: client.ApiClient, namespace: str) -> Iterator[list[str]]:
    """Two more fresh namespaces for the operator to watch (the `namespace` fixture is the release's)."""
    core = client.CoreV1Api(kube)
    names = [f"{namespace[:55]}-w{i}" for i in (1, 2)]
    for name in names:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"pmo-test": "e2e"})))
    yield names
    for name in names:
        with contextlib.suppress(client.ApiException):
            core.delete_namespace(name)


def _with_namespaces(values: dict[str, Any], watched: list[str]) -> dict[str, Any]:
    if "watchNamespaces" not in values:
        return values
    return {**values, "watchNamespaces": watched[: len(values["watchNamespaces"])]}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_helm_lint_strict_is_clean(mode: str) -> None:
    result = run_helm("lint", "--strict", str(CHART), values=MODES[mode])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout, result.stdout


def test_helm_lint_reports_bad_values() -> None:
    """The lint above can fail: the same command refuses a chart the schema rejects."""
    result = run_helm("lint", "--strict", str(CHART), values={"rbac": {"scope": "namespaced"}})
    assert result.returncode != 0
    assert "watchNamespaces" in result.stdout + result.stderr


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_applies_with_server_side_dry_run(
    mode: str,
    namespace: str,
    watched: list[str],
    kubectl: Kubectl,
    chart_crds: None,
    monitoring_crds: None,
    tmp_path: Path,
) -> None:
    manifest = tmp_path / "chart.yaml"
    manifest.write_text(render_text(_with_namespaces(MODES[mode], watched), release=f"pmo-{mode}", namespace=namespace))
    docs = [d for d in yaml.safe_load_all(manifest.read_text()) if d]
    result = kubectl("apply", "--dry-run=server", "--validate=strict", "-f", str(manifest), check=False)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    accepted = re.findall(r"^(\S+) (?:created|configured|unchanged) \(server dry run\)$", result.stdout, flags=re.M)
    assert len(accepted) == len(docs), result.stdout


def test_server_dry_run_catches_what_the_chart_must_not_render(
    namespace: str, kubectl: Kubectl, chart_crds: None, monitoring_crds: None, tmp_path: Path
) -> None:
    """The dry run is a real check: a misspelt field in a stand-in-backed kind and a bad pod spec are refused."""
    docs = [d for d in yaml.safe_load_all(render_text(MODES["monitoring"], namespace=namespace)) if d]
    monitor = next(d for d in docs if d["kind"] == "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["honourLabels"] = True
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsUser"] = -1
    for doc in (monitor, deployment):
        path = tmp_path / f"{doc['kind']}.yaml"
        path.write_text(yaml.safe_dump(doc))
        result = kubectl("apply", "--dry-run=server", "--validate=strict", "-f", str(path), check=False)
        assert result.returncode != 0, f"{doc['kind']} with a bad field was accepted"
