"""Upstream CRDs for the local control plane (tests, `pmo dev up`, the demo): the routing kinds (Gateway API
HTTPRoute, Envoy AI Gateway AIGatewayRoute and its backends), the Prometheus Operator's ServiceMonitor and
PrometheusRule, Argo CD's Application and the Inference Extension's InferencePool, each the upstream
project's own file, byte for byte (provenance in SOURCES.md next to them).

They are read from a directory, not fetched: $PMO_UPSTREAM_CRDS when set, otherwise `shared/upstream-crds`
beside the repository (`<repo>/../shared/upstream-crds`, as CI lays it out) or beside one of its parent
directories (a worktree under the same parent).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

UPSTREAM_CRDS_ENV = "PMO_UPSTREAM_CRDS"
UPSTREAM_CRDS_SUBDIR = Path("shared") / "upstream-crds"
REPO = Path(__file__).resolve().parents[2]
DEVENV_FIELD_MANAGER = "pmo-devenv"


class CrdsUnavailable(RuntimeError):
    """The upstream CRD directory is not there."""


def upstream_crds_dir() -> Path:
    """Where the upstream CRD files are; CrdsUnavailable says where it looked."""
    override = os.environ.get(UPSTREAM_CRDS_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_dir():
            raise CrdsUnavailable(f"{UPSTREAM_CRDS_ENV}={override} is not a directory")
        return path
    candidates = [parent / UPSTREAM_CRDS_SUBDIR for parent in REPO.parents]
    for path in candidates:
        if any(path.glob("*.yaml")):
            return path
    raise CrdsUnavailable(
        f"no upstream CRDs in {candidates[0]} (nor beside a parent directory); set {UPSTREAM_CRDS_ENV}=<dir>"
    )


def upstream_crds(directory: Path | None = None) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in the directory's YAML files, as published upstream."""
    directory = directory or upstream_crds_dir()
    crds = []
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):  # some files open with a licence comment and `---`
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                crds.append(doc)
    if not crds:
        raise CrdsUnavailable(f"no CustomResourceDefinition in {directory}")
    return crds


def install_upstream_crds(api_client: client.ApiClient, timeout: float = 120.0) -> list[str]:
    """Server-side apply every upstream CRD and wait until each is Established; returns their names. Idempotent."""
    ext = client.ApiextensionsV1Api(api_client)
    names = []
    for crd in upstream_crds():
        name = crd["metadata"]["name"]
        ext.patch_custom_resource_definition(
            name,
            crd,
            field_manager=DEVENV_FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
            _preload_content=False,
        )
        names.append(name)
    deadline = time.monotonic() + timeout
    for name in names:
        while not _established(ext.read_custom_resource_definition(name)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {name} not Established after {timeout:.0f}s")
            time.sleep(0.1)
    return names


def _established(crd: client.V1CustomResourceDefinition) -> bool:
    conditions = (crd.status.conditions if crd.status else None) or []
    return any(c.type == "Established" and c.status == "True" for c in conditions)
