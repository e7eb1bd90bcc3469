"""The Helm chart with the real helm and the real API server: `helm lint --strict` is clean and every values
mode renders to manifests the API server accepts (`kubectl apply --dry-run=server`, strict field validation:
an unknown or misspelt field is an error, not a silently pruned field).

The monitoring mode is checked against the Prometheus Operator's own CRDs (ServiceMonitor, PrometheusRule
v0.93.0, from the upstream CRD directory `pmo dev up` installs). The chart is also installed, upgraded with a
changed CRD and uninstalled for real.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from operator_support import wait_for

from helm_chart import CHART, MODES, render_text, run_helm
from pmo_devenv.thirdparty_crds import CrdsUnavailable, install_upstream_crds

pytestmark = pytest.mark.e2e

Kubectl = Callable[..., Any]
FIELD_MANAGER = "pmo-chart-test"
CHART_CRDS = ("providermigrations.migrations.llmops.dev", "kopfpeerings.kopf.dev", "clusterkopfpeerings.kopf.dev")


@pytest.fixture(scope="module")
def chart_crds(kubectl: Kubectl) -> None:
    """The chart's CRDs installed for real: kopf's from crds/ (what `helm install` does first) and the
    ProviderMigration CRD its template renders (files/crds)."""
    for directory in (CHART / "crds", CHART / "files" / "crds"):
        kubectl("apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", str(directory))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{n}" for n in CHART_CRDS))


@pytest.fixture(scope="module")
def monitoring_crds(kube: client.ApiClient) -> None:
    """The Prometheus Operator's own ServiceMonitor and PrometheusRule CRDs (with the other upstream ones)."""
    try:
        install_upstream_crds(kube)
    except CrdsUnavailable as e:
        pytest.skip(str(e))  # tests/conftest.py makes an e2e skip a failure under CI


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
    # Server-side apply, as Helm's three-way merge ends up on the server: the CRD already exists (the fixture's
    # copy), and a client-side apply would only warn about its missing last-applied annotation.
    result = kubectl(
        "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}-dry-run",
        "--dry-run=server", "--validate=strict", "-f", str(manifest), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    accepted = re.findall(r"^(\S+) serverside-applied \(server dry run\)$", result.stdout, flags=re.M)
    assert len(accepted) == len(docs), result.stdout


def test_server_dry_run_catches_what_the_chart_must_not_render(
    namespace: str, kubectl: Kubectl, chart_crds: None, monitoring_crds: None, tmp_path: Path
) -> None:
    """The dry run is a real check: a misspelt field in an upstream kind and a bad pod spec are refused."""
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


def _crd(kube: client.ApiClient, name: str) -> dict[str, Any] | None:
    try:
        return dict(
            kube.sanitize_for_serialization(client.ApiextensionsV1Api(kube).read_custom_resource_definition(name))
        )
    except client.ApiException as e:
        if e.status == 404:
            return None
        raise


def test_install_upgrade_updates_the_crd_and_uninstall_keeps_it_when_asked(
    control_plane: Any, kube: client.ApiClient, kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    """`helm install`, `helm upgrade` with a changed CRD, `helm uninstall`, on the real API server.

    The chart is copied with the CRD moved to a group of its own, so the release owns a CRD no other test uses
    (the session's ProviderMigration CRD stays as it is)."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    group = f"t{secrets.token_hex(3)}.chart-e2e.llmops.dev"
    # Every CRD the chart renders moves (the templates' too): uninstalling must never touch the session's CRDs.
    renamed = []
    for path in sorted((chart / "files" / "crds").glob("*.yaml")):
        path.write_text(re.sub(r"\bmigrations\.llmops\.dev\b", group, path.read_text()))
        renamed.append(f"{path.name.split('.', 1)[0]}.{group}")
    crd_file = chart / "files" / "crds" / "providermigrations.migrations.llmops.dev.yaml"
    crd_name = f"providermigrations.{group}"
    assert crd_name in renamed
    release = f"crd-{secrets.token_hex(3)}"
    helm_args = ("--namespace", namespace, f"--kubeconfig={control_plane.kubeconfig}")

    def helm(*args: str, values: dict[str, Any] | None = None) -> None:
        result = run_helm(*args, *helm_args, values=values)
        assert result.returncode == 0, result.stdout + result.stderr

    def columns() -> list[str]:
        crd = _crd(kube, crd_name)
        assert crd is not None, f"{crd_name} is not installed"
        (version,) = crd["spec"]["versions"]
        return [col["name"] for col in version["additionalPrinterColumns"]]

    try:
        # crds.keep false: uninstalling removes the CRD (and would remove every ProviderMigration with it).
        helm("install", release, str(chart), values={"crds": {"keep": False}})
        kubectl("wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{n}" for n in renamed))
        unkept = _crd(kube, crd_name)
        assert unkept is not None and "helm.sh/resource-policy" not in unkept["metadata"]["annotations"]
        helm("uninstall", release, "--wait")
        wait_for(lambda: all(_crd(kube, n) is None for n in renamed), 60, "the CRDs to be deleted with the release")

        helm("install", release, str(chart))
        kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd_name}")
        installed = _crd(kube, crd_name)
        assert installed is not None
        assert installed["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert installed["metadata"]["annotations"]["meta.helm.sh/release-name"] == release
        assert "Upgraded" not in columns()

        # The next chart version changes the CRD (a new printer column): the upgrade must apply it.
        crd = yaml.safe_load(crd_file.read_text())
        crd["spec"]["versions"][0]["additionalPrinterColumns"].append(
            {"name": "Upgraded", "type": "string", "jsonPath": ".spec.route.kind", "priority": 1}
        )
        crd_file.write_text(yaml.safe_dump(crd, sort_keys=False))
        chart_yaml = yaml.safe_load((chart / "Chart.yaml").read_text())
        (chart / "Chart.yaml").write_text(yaml.safe_dump({**chart_yaml, "version": "0.1.1-e2e"}, sort_keys=False))
        helm("upgrade", release, str(chart))
        assert "Upgraded" in columns()

        # Kept on uninstall (the default), while what the release deployed is gone.
        helm("uninstall", release, "--wait")
        assert "Upgraded" in columns()
        assert not client.AppsV1Api(kube).list_namespaced_deployment(namespace).items
    finally:
        run_helm("uninstall", release, *helm_args)
        for name in renamed:
            with contextlib.suppress(client.ApiException):
                client.ApiextensionsV1Api(kube).delete_custom_resource_definition(name)
