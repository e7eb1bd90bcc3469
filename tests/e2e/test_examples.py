"""The committed CRD on a real kube-apiserver with the upstream routing CRDs: every example is accepted by
`kubectl apply --server-side` (also on a fresh `pmo dev up`, exactly as examples/README.md says),
every examples/invalid manifest is rejected with its message and field path, `kubectl get pmig` shows the
printer columns, and route/source/target cannot change once a migration exists (transition rules)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from example_manifests import EXAMPLES, InvalidCase, load_documents, load_invalid, migrations_in
from pmo_devenv.thirdparty_crds import CrdsUnavailable, install_upstream_crds
from provider_migration.api import constants as c
from provider_migration.api.spec import ProviderMigrationSpec

pytestmark = pytest.mark.e2e

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
CRD_FILE = Path(__file__).resolve().parents[2] / "crds" / f"{c.CRD_NAME}.yaml"
VALID = sorted(EXAMPLES.glob("*.yaml"))
INVALID_CASES = load_invalid()


@pytest.fixture(scope="module")
def crds(kubectl: Kubectl, route_crds: list[str]) -> None:
    """Our CRD exactly as committed, plus the upstream routing CRDs the examples use, all Established."""
    kubectl("apply", "--server-side", "-f", str(CRD_FILE))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{c.CRD_NAME}")  # route_crds waited


@pytest.fixture(scope="module")
def route_crds(kube: client.ApiClient) -> list[str]:
    """The upstream CRDs `pmo dev up` installs (HTTPRoute, AIGatewayRoute and the rest), byte for byte."""
    try:
        return install_upstream_crds(kube)
    except CrdsUnavailable as e:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(str(e), pytrace=False)
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def shared_namespace(kube: client.ApiClient) -> Iterator[str]:
    """One namespace for the rejected manifests: none of them is ever stored."""
    name = "pmo-invalid-examples"
    core = client.CoreV1Api(kube)
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    except client.ApiException as e:
        if e.status != 409:  # an earlier run against PMO_KUBECONFIG
            raise
    yield name


def apply(kubectl: Kubectl, namespace: str, manifest: str | Path) -> subprocess.CompletedProcess[str]:
    if isinstance(manifest, Path):
        return kubectl("apply", "--server-side", "-n", namespace, "-f", str(manifest), check=False)
    return kubectl("apply", "--server-side", "-n", namespace, "-f", "-", check=False, input=manifest)


def stored_migration(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    out = kubectl("get", f"{c.PLURAL}.{c.GROUP}", name, "-n", namespace, "-o", "json").stdout
    return dict(json.loads(out))


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_example_is_accepted(path: Path, crds: None, kubectl: Kubectl, namespace: str) -> None:
    result = apply(kubectl, namespace, path)
    assert result.returncode == 0, result.stderr
    docs = load_documents(path)
    stored_objects = kubectl("get", "-n", namespace, "-f", str(path), "-o", "name").stdout.split()
    assert len(stored_objects) == len(docs)  # every object of the example, not only the migration
    (manifest,) = migrations_in(docs)
    stored = stored_migration(kubectl, namespace, manifest["metadata"]["name"])
    # The server's defaults and pydantic's agree: the stored spec means what the manifest meant.
    assert ProviderMigrationSpec.from_wire(stored["spec"]) == ProviderMigrationSpec.from_wire(manifest["spec"])


def test_every_example_applies_on_pmo_dev_up(binaries: Any, tmp_path: Path) -> None:
    """`pmo dev up`, then each example as examples/README.md says: `kubectl apply --server-side -n my-app -f`."""
    pmo = [sys.executable, "-m", "provider_migration.cli.main"]
    d = tmp_path / "dev"
    up = subprocess.run([*pmo, "dev", "up", "--dir", str(d)], capture_output=True, text=True, timeout=300)
    try:
        assert up.returncode == 0, up.stderr
        assert "CRDs:           ProviderMigration + " in up.stdout, up.stdout
        kubeconfig = json.loads((d / "state.json").read_text())["kubeconfig"]

        def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["kubectl", f"--kubeconfig={kubeconfig}", *args], capture_output=True, text=True, timeout=120
            )

        assert kubectl("create", "namespace", "my-app").returncode == 0
        for path in VALID:
            result = kubectl("apply", "--server-side", "-n", "my-app", "-f", str(path))
            assert result.returncode == 0, f"{path.name}: {result.stderr}"
        listed = kubectl("get", "pmig", "-n", "my-app", "-o", "name").stdout.split()
        assert len(listed) == len(VALID)
    finally:
        subprocess.run([*pmo, "dev", "down", "--dir", str(d)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", INVALID_CASES, ids=lambda case: case.name)
def test_invalid_manifest_is_rejected(case: InvalidCase, crds: None, kubectl: Kubectl, shared_namespace: str) -> None:
    result = apply(kubectl, shared_namespace, case.path)
    assert result.returncode != 0, f"accepted: {result.stdout}"
    assert case.expect in result.stderr, result.stderr
    assert case.field in result.stderr, f"the error does not name {case.field}: {result.stderr}"
    missing = kubectl("get", f"{c.PLURAL}.{c.GROUP}", case.name, "-n", shared_namespace, check=False)
    assert "NotFound" in missing.stderr


def test_get_pmig_prints_the_printer_columns(crds: None, kubectl: Kubectl, namespace: str) -> None:
    path = EXAMPLES / "gpt4o-to-claude-litellm.yaml"
    assert apply(kubectl, namespace, path).returncode == 0
    (manifest,) = migrations_in(load_documents(path))
    name = manifest["metadata"]["name"]
    # As the operator writes it: `step` (the STEP column) is currentStep + 1.
    status = {"status": {"phase": "Progressing", "currentStep": 1, "step": 2, "currentWeight": 50}}
    kubectl(
        "patch",
        f"{c.PLURAL}.{c.GROUP}",
        name,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
    )
    header, row = kubectl("get", "pmig", "-n", namespace).stdout.splitlines()
    assert header.split() == ["NAME", "PHASE", "STEP", "WEIGHT", "SOURCE", "TARGET", "AGE"]
    assert row.split()[:6] == [name, "Progressing", "2", "50", "gpt-4o", "claude-sonnet-4-5"]


def _changed(manifest: dict[str, Any], path: str, value: Any) -> str:
    changed = copy.deepcopy(manifest)
    node = changed["spec"]
    *parents, leaf = path.split(".")
    for key in parents:
        node = node[key]
    node[leaf] = value
    return yaml.safe_dump(changed)


IMMUTABLE_ENDPOINT = "provider, model and backend are immutable once the migration exists"
CHANGES = [
    ("source.model", "gpt-4.1", IMMUTABLE_ENDPOINT, "spec.source"),
    ("source.provider", "azure", IMMUTABLE_ENDPOINT, "spec.source"),
    ("target.backend", "anthropic-claude-v2", IMMUTABLE_ENDPOINT, "spec.target"),
    ("target.model", "claude-opus-4-5", IMMUTABLE_ENDPOINT, "spec.target"),
    ("route.name", "other-gateway", "route is immutable", "spec.route"),
    ("route.modelName", "chat-v2", "route is immutable", "spec.route"),
]


@pytest.fixture
def existing_migration(crds: None, kubectl: Kubectl, namespace: str) -> dict[str, Any]:
    path = EXAMPLES / "gpt4o-to-claude-litellm.yaml"
    assert apply(kubectl, namespace, path).returncode == 0
    (manifest,) = migrations_in(load_documents(path))
    return manifest


@pytest.mark.parametrize(("field", "value", "expect", "path"), CHANGES, ids=[c[0] for c in CHANGES])
def test_identity_of_an_existing_migration_cannot_change(
    field: str, value: str, expect: str, path: str, existing_migration: dict[str, Any], kubectl: Kubectl, namespace: str
) -> None:
    result = apply(kubectl, namespace, _changed(existing_migration, field, value))
    assert result.returncode != 0, f"accepted a change of spec.{field}"
    assert expect in result.stderr and path in result.stderr, result.stderr
    stored = stored_migration(kubectl, namespace, existing_migration["metadata"]["name"])
    parent, _, leaf = field.partition(".")
    assert stored["spec"][parent][leaf] == existing_migration["spec"][parent][leaf]


def test_mutable_fields_can_change(existing_migration: dict[str, Any], kubectl: Kubectl, namespace: str) -> None:
    """The transition rules pin the migration's identity only: pausing or re-planning stays possible."""
    result = apply(kubectl, namespace, _changed(existing_migration, "paused", True))
    assert result.returncode == 0, result.stderr
    steps = [{"weight": 20, "pause": "30m"}, {"weight": 100}]
    result = apply(kubectl, namespace, _changed(existing_migration, "strategy.steps", steps))
    assert result.returncode == 0, result.stderr
    stored = stored_migration(kubectl, namespace, existing_migration["metadata"]["name"])
    assert stored["spec"]["strategy"]["steps"] == steps
