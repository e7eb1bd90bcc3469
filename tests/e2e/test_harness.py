"""Proof that the e2e harness is real: a genuine kube-apiserver (RBAC, CRDs, watches, server-side apply,
status subresource, TokenRequest) and a genuine Prometheus scraping a live target."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from kubernetes import client, watch
from prometheus_api_client import PrometheusConnect
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from pmo_devenv import Binaries, ControlPlane, ExistingCluster, Prometheus, api_client
from pmo_devenv.binaries import K8S_VERSION
from pmo_devenv.net import free_port
from pmo_devenv.processes import pid_matches
from provider_migration.api.constants import FIELD_MANAGER

pytestmark = pytest.mark.e2e

GROUP, VERSION, PLURAL, KIND = "harness.test.dev", "v1", "widgets", "Widget"


def _widget(name: str, size: int = 1) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": {"name": name}, "spec": {"size": size}}


def _established(crd: client.V1CustomResourceDefinition) -> bool:
    conds = (crd.status.conditions if crd.status else None) or []
    return any(c.type == "Established" and c.status == "True" for c in conds)


@pytest.fixture(scope="module")
def widget_crd(kube: client.ApiClient) -> Iterator[str]:
    """A test-only CRD (independent of the product's CRD), waited on until Established."""
    ext = client.ApiextensionsV1Api(kube)
    name = f"{PLURAL}.{GROUP}"
    schema = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"size": {"type": "integer"}, "color": {"type": "string"}}},
            "status": {
                "type": "object",
                "properties": {"phase": {"type": "string"}, "observedSize": {"type": "integer"}},
            },
        },
    }
    body: Any = {  # the client accepts plain manifests as well as its models
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": PLURAL, "singular": "widget", "kind": KIND},
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                }
            ],
        },
    }
    try:
        ext.create_custom_resource_definition(body)
    except client.ApiException as e:
        if e.status != 409:  # left over by an earlier run against PMO_KUBECONFIG
            raise
    deadline = time.monotonic() + 30
    while not _established(ext.read_custom_resource_definition(name)):
        assert time.monotonic() < deadline, f"CRD {name} not Established after 30s"
        time.sleep(0.2)
    yield name
    with contextlib.suppress(client.ApiException):
        ext.delete_custom_resource_definition(name)


def test_server_version_is_the_built_version(
    kube: client.ApiClient, control_plane: ControlPlane | ExistingCluster
) -> None:
    if isinstance(control_plane, ExistingCluster):
        pytest.skip("PMO_KUBECONFIG: an existing cluster runs its own version")
    info = client.VersionApi(kube).get_code()
    assert info.git_version == K8S_VERSION
    assert (info.major, info.minor) == ("1", K8S_VERSION.split(".")[1])


def test_crd_becomes_established(kube: client.ApiClient, widget_crd: str) -> None:
    crd = client.ApiextensionsV1Api(kube).read_custom_resource_definition(widget_crd)
    assert _established(crd)
    subresources = crd.spec.versions[0].subresources
    assert subresources is not None and subresources.status is not None


def test_watch_receives_added_event(kube: client.ApiClient, widget_crd: str, namespace: str) -> None:
    api = client.CustomObjectsApi(kube)
    listed = cast(dict[str, Any], api.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL))
    rv = listed["metadata"]["resourceVersion"]
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _widget("w1"))
    events = []
    for event in watch.Watch().stream(
        api.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, resource_version=rv, timeout_seconds=10
    ):
        events.append((event["type"], event["object"]["metadata"]["name"]))
        break
    assert events == [("ADDED", "w1")]


def test_server_side_apply_records_our_field_manager(kube: client.ApiClient, widget_crd: str, namespace: str) -> None:
    api = client.CustomObjectsApi(kube)
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _widget("w2", size=1))
    applied = cast(
        dict[str, Any],
        api.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            "w2",
            {**_widget("w2"), "spec": {"color": "blue"}},
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
        ),
    )
    assert applied["spec"] == {"size": 1, "color": "blue"}
    managers = {(m["manager"], m["operation"]) for m in applied["metadata"]["managedFields"]}
    assert (FIELD_MANAGER, "Apply") in managers
    ours = next(m for m in applied["metadata"]["managedFields"] if m["manager"] == FIELD_MANAGER)
    assert "f:color" in ours["fieldsV1"]["f:spec"] and "f:size" not in ours["fieldsV1"]["f:spec"]


def test_status_subresource_is_patched(kube: client.ApiClient, widget_crd: str, namespace: str) -> None:
    api = client.CustomObjectsApi(kube)
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, _widget("w3", size=3))
    # Through the main resource, status is ignored: that is what makes the subresource real.
    api.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        "w3",
        {"status": {"phase": "Nope"}},
        _content_type="application/merge-patch+json",
    )
    assert "status" not in cast(
        dict[str, Any], api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "w3")
    )
    patched = cast(
        dict[str, Any],
        api.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            "w3",
            {"status": {"phase": "Ready", "observedSize": 3}},
            _content_type="application/merge-patch+json",
        ),
    )
    assert patched["status"] == {"phase": "Ready", "observedSize": 3}
    assert patched["spec"] == {"size": 3}


def test_service_account_token_without_permission_is_forbidden(
    kube: client.ApiClient,
    control_plane: ControlPlane | ExistingCluster,
    namespace: str,
    kubectl: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    core = client.CoreV1Api(kube)
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="nobody"))
    )
    token = kubectl("create", "token", "nobody", "-n", namespace, "--duration=10m").stdout.strip()
    assert token.count(".") == 2  # a JWT from the TokenRequest API
    sa_client = api_client(control_plane.kubeconfig_for_token(token, tmp_path / "sa.kubeconfig"))
    try:
        # Authenticated as the ServiceAccount...
        review = client.AuthenticationV1Api(sa_client).create_self_subject_review(
            client.V1SelfSubjectReview(api_version="authentication.k8s.io/v1", kind="SelfSubjectReview")
        )
        assert review.status and review.status.user_info
        assert review.status.user_info.username == f"system:serviceaccount:{namespace}:nobody"
        # ...but RBAC grants it nothing.
        with pytest.raises(client.ApiException) as denied:
            client.CoreV1Api(sa_client).list_namespaced_config_map(namespace)
        assert denied.value.status == 403
        # Grant exactly one verb and the same call goes through: RBAC is really enforced.
        rbac = client.RbacAuthorizationV1Api(kube)
        rbac.create_namespaced_role(
            namespace,
            client.V1Role(
                metadata=client.V1ObjectMeta(name="read-configmaps"),
                rules=[client.V1PolicyRule(api_groups=[""], resources=["configmaps"], verbs=["list"])],
            ),
        )
        rbac.create_namespaced_role_binding(
            namespace,
            client.V1RoleBinding(
                metadata=client.V1ObjectMeta(name="nobody-reads-configmaps"),
                role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="read-configmaps"),
                subjects=[client.RbacV1Subject(kind="ServiceAccount", name="nobody", namespace=namespace)],
            ),
        )
        deadline = time.monotonic() + 10
        while True:  # the RBAC authorizer reads from an informer: allow it a moment
            try:
                client.CoreV1Api(sa_client).list_namespaced_config_map(namespace)
                break
            except client.ApiException as e:
                assert e.status == 403 and time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        sa_client.close()


def test_prometheus_scrapes_a_target(prometheus: Prometheus) -> None:
    registry = CollectorRegistry()
    Gauge("pmo_harness_value", "A known value for the harness test", registry=registry).set(42.5)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    target = f"127.0.0.1:{port}"
    try:
        prometheus.add_target("harness", target, {"suite": "e2e"})
        prometheus.wait_for_target("harness", target)
        prom = PrometheusConnect(url=prometheus.url, disable_ssl=True)
        deadline = time.monotonic() + 30
        while not (result := prom.custom_query('pmo_harness_value{job="harness",suite="e2e"}')):
            assert time.monotonic() < deadline, "no sample of pmo_harness_value after 30s"
            time.sleep(0.25)
        assert float(result[0]["value"][1]) == 42.5
    finally:
        prometheus.remove_target("harness", target)
        server.shutdown()
        thread.join(5)


def _pmo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provider_migration.cli.main", *args], capture_output=True, text=True, timeout=180
    )


def test_pmo_dev_up_status_down_leaves_no_processes(binaries: Binaries, tmp_path: Path) -> None:
    d = tmp_path / "dev"
    up = _pmo("dev", "up", "--dir", str(d))
    try:
        assert up.returncode == 0, up.stderr
        state = json.loads((d / "state.json").read_text())
        assert f"kubeconfig:     {d / 'kubeconfig'}" in up.stdout and state["prometheus_url"] in up.stdout
        version = subprocess.run(
            ["kubectl", "--kubeconfig", state["kubeconfig"], "version", "-o", "json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert json.loads(version.stdout)["serverVersion"]["gitVersion"] == K8S_VERSION
        assert _pmo("dev", "status", "--dir", str(d)).returncode == 0
        assert _pmo("dev", "up", "--dir", str(d)).returncode == 0  # idempotent: already running
        assert json.loads((d / "state.json").read_text())["processes"] == state["processes"]
    finally:
        down = _pmo("dev", "down", "--dir", str(d))
    assert down.returncode == 0 and "stopped: kube-apiserver, etcd, prometheus" in down.stdout
    assert not [p for p in state["processes"] if pid_matches(p["pid"], p["executable"])]
    assert _pmo("dev", "status", "--dir", str(d)).returncode == 3


_OWNER = """
import sys, time
from pathlib import Path
from pmo_devenv import ControlPlane
cp = ControlPlane(Path(sys.argv[1])).start()
print(" ".join(f"{p.pid}:{p.argv[0]}" for p in cp.processes), flush=True)
time.sleep(300)
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_no_orphans_when_the_owner_dies(binaries: Binaries, tmp_path: Path, sig: signal.Signals) -> None:
    owner = subprocess.Popen([sys.executable, "-c", _OWNER, str(tmp_path / "cp")], stdout=subprocess.PIPE, text=True)
    try:
        line = owner.stdout.readline() if owner.stdout else ""
        children = [(int(pid), exe) for pid, exe in (w.split(":", 1) for w in line.split())]
        assert len(children) == 2 and all(pid_matches(pid, exe) for pid, exe in children), line
        os.kill(owner.pid, sig)
        owner.wait(15)
        deadline = time.monotonic() + 15
        while any(pid_matches(pid, exe) for pid, exe in children):
            assert time.monotonic() < deadline, f"orphans left after {sig.name}: {children}"
            time.sleep(0.1)
    finally:
        owner.kill()
        owner.wait()
