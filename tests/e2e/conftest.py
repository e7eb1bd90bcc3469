"""Session fixtures over pmo_devenv: a real kube-apiserver + etcd and Prometheus.

Set PMO_KUBECONFIG=<file> to run against an existing cluster instead (Prometheus still runs locally).
Under CI=true anything missing fails the run; elsewhere the e2e tests skip with a hint how to enable them.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from kubernetes import client

from pmo_devenv import (
    Binaries,
    BinariesMissing,
    ControlPlane,
    ExistingCluster,
    Prometheus,
    find_binaries,
    find_prometheus,
)

if TYPE_CHECKING:
    from operator_support import OperatorProcess

E2E_DIR = Path(__file__).parent


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(message: str) -> None:
    """Fail under CI (e2e tests must never skip there), skip elsewhere."""
    if _ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def binaries() -> Binaries:
    """Paths of the built kube-apiserver, etcd and helm."""
    try:
        return find_binaries()
    except BinariesMissing as e:
        unavailable(str(e))
        raise


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane | ExistingCluster]:
    """The cluster: `.kubeconfig` (admin), `.api_client()`, `.kubeconfig_for_token(token, path)`."""
    external = os.environ.get("PMO_KUBECONFIG")
    if external:
        yield ExistingCluster(Path(external))
        return
    try:
        found = find_binaries()
    except BinariesMissing as e:
        unavailable(str(e))
        raise
    with ControlPlane(tmp_path_factory.mktemp("controlplane"), found) as cp:
        yield cp


@pytest.fixture(scope="session")
def kube(control_plane: ControlPlane | ExistingCluster) -> Iterator[client.ApiClient]:
    """An admin kubernetes ApiClient (pass it to CoreV1Api(kube), CustomObjectsApi(kube), ...)."""
    api = control_plane.api_client()
    yield api
    api.close()


@pytest.fixture(scope="session")
def kubectl(control_plane: ControlPlane | ExistingCluster) -> Callable[..., subprocess.CompletedProcess[str]]:
    """kubectl("get", "ns", check=True) with the admin kubeconfig; returns the CompletedProcess."""

    def run(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", f"--kubeconfig={control_plane.kubeconfig}", *args],
            check=check,
            capture_output=True,
            text=True,
            input=input,
            timeout=60,
        )

    return run


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A local Prometheus: `.url`, `.add_target(job, "127.0.0.1:PORT", labels)`, `.wait_for_target(job)`."""
    try:
        binary = find_prometheus()
    except BinariesMissing as e:
        unavailable(str(e))
        raise
    with Prometheus(tmp_path_factory.mktemp("prometheus"), binary) as prom:
        yield prom


@pytest.fixture
def namespace(kube: client.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace per test. Deleted afterwards; on the local control plane (no
    controller-manager) it then stays Terminating forever, which is harmless."""
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{base}-{secrets.token_hex(3)}"
    core = client.CoreV1Api(kube)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"pmo-test": "e2e"})))
    yield name
    with contextlib.suppress(client.ApiException):
        core.delete_namespace(name)


@pytest.fixture(scope="session")
def product_crd(kubectl: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """The CRDs from crds/ (ProviderMigration and both templates), installed and Established."""
    from operator_support import CRD_FILES

    from provider_migration.api import constants as c

    for path in CRD_FILES:
        kubectl("apply", "--server-side", f"--field-manager={c.FIELD_MANAGER}", "-f", str(path))
    for path in CRD_FILES:
        kubectl("wait", "--for=condition=Established", f"crd/{path.stem}", "--timeout=30s")


@pytest.fixture
def operator(
    control_plane: ControlPlane | ExistingCluster, namespace: str, tmp_path: Path, product_crd: None
) -> Iterator[OperatorProcess]:
    """The operator (`pmo run`, a real process) watching the test's namespace; its log tail is printed on exit."""
    from operator_support import OperatorProcess

    proc = OperatorProcess(str(control_plane.kubeconfig), namespace, tmp_path)
    proc.start()
    yield proc
    proc.stop()
    print("---- operator log (tail) ----\n" + "\n".join(proc.log().splitlines()[-80:]))  # shown on failure


@pytest.fixture(scope="session")
def command_authors(
    kube: client.ApiClient, kubectl: Callable[..., subprocess.CompletedProcess[str]], product_crd: None
) -> None:
    """The chart's MutatingAdmissionPolicy that stamps who sent each command, applied and in effect."""
    import time

    from operator_support import migration

    from provider_migration.api import constants as c

    policy = E2E_DIR.parents[1] / "charts" / "provider-migration-operator" / "files" / "command-authors.yaml"
    kubectl("apply", "-f", str(policy))
    api = client.CustomObjectsApi(kube)
    probe = migration(f"policy-probe-{secrets.token_hex(3)}")
    probe["metadata"]["annotations"] = {c.author_annotation("approve"): "nobody"}
    deadline = time.monotonic() + 60
    while True:  # a new policy takes a moment to be enforced: until then a client's own -by value would stay
        with contextlib.suppress(client.ApiException):
            made = cast(
                dict[str, Any], api.create_namespaced_custom_object(c.GROUP, c.VERSION, "default", c.PLURAL, probe)
            )
            api.delete_namespaced_custom_object(c.GROUP, c.VERSION, "default", c.PLURAL, probe["metadata"]["name"])
            if c.author_annotation("approve") not in (made["metadata"].get("annotations") or {}):
                return
        if time.monotonic() > deadline:
            pytest.fail("the command-authors MutatingAdmissionPolicy never took effect")
        time.sleep(0.5)
