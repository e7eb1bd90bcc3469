"""Third-party CRDs of the routing targets, for the local control plane (tests, `pmo dev`, the demo).

- Gateway API (HTTPRoute and friends): the real upstream CRDs, read from the `sigs.k8s.io/gateway-api`
  module as `go mod download` fetches it from the Go module proxy (config/crd/standard/*.yaml).
- Envoy AI Gateway (AIGatewayRoute): the Go module proxy does not serve `github.com/envoyproxy/ai-gateway`
  (403 for every version), so this installs a MINIMAL STAND-IN CRD written here. It models only what the
  operator and the gateway simulator use, with upstream's semantics for them: `spec.rules` and its
  `backendRefs` are atomic lists (upstream declares no list type), `weight` defaults to 1, `priority` to 0,
  header matches default to `Exact`; v1beta1 is the storage version and v1alpha1 is served with the same
  schema. Everything else in `spec` and in a rule is kept as unknown fields rather than validated.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

GATEWAY_API_MODULE = "sigs.k8s.io/gateway-api"
GATEWAY_API_VERSION = "v1.6.3"  # newest release whose go.mod this machine's Go toolchain accepts
GATEWAY_API_CRD_DIR = "config/crd/standard"
AIGATEWAY_MODULE = "github.com/envoyproxy/ai-gateway"
STANDIN_ANNOTATION = "migrations.llmops.dev/stand-in-crd"
DEVENV_FIELD_MANAGER = "pmo-devenv"


class CrdsUnavailable(RuntimeError):
    """The CRD source (the Go toolchain or the module proxy) is not reachable."""


def download_module(module: str, version: str) -> Path:
    """The module's zip in the Go module cache (downloaded through the configured GOPROXY if needed)."""
    go = shutil.which("go")
    if go is None:
        raise CrdsUnavailable("the Go toolchain (`go`) is not on PATH; it fetches the Gateway API CRDs")
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    with tempfile.TemporaryDirectory() as outside_any_module:
        run = subprocess.run(
            [go, "mod", "download", "-json", f"{module}@{version}"],
            cwd=outside_any_module,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    try:
        info = json.loads(run.stdout)
    except json.JSONDecodeError:
        raise CrdsUnavailable(f"go mod download {module}@{version} failed: {run.stderr.strip()[-500:]}") from None
    # A newer `go` directive than the local toolchain only stops extraction; the zip is still complete.
    zip_path = info.get("Zip")
    if not zip_path or not Path(zip_path).is_file():
        raise CrdsUnavailable(f"go mod download {module}@{version}: {info.get('Error') or run.stderr.strip()}")
    return Path(zip_path)


def gateway_api_crds(version: str = GATEWAY_API_VERSION) -> list[dict[str, Any]]:
    """The CustomResourceDefinitions of the Gateway API standard channel, as upstream publishes them."""
    prefix = f"{GATEWAY_API_MODULE}@{version}/{GATEWAY_API_CRD_DIR}/"
    crds = []
    with zipfile.ZipFile(download_module(GATEWAY_API_MODULE, version)) as archive:
        for name in sorted(archive.namelist()):
            if name.startswith(prefix) and name.endswith(".yaml"):
                for doc in yaml.safe_load_all(archive.read(name)):
                    if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                        crds.append(doc)
    if not crds:
        raise CrdsUnavailable(f"no CRDs under {GATEWAY_API_CRD_DIR} in {GATEWAY_API_MODULE}@{version}")
    return crds


def aigatewayroute_standin_crd() -> dict[str, Any]:
    """MINIMAL STAND-IN for Envoy AI Gateway's AIGatewayRoute CRD (see the module docstring)."""
    header_match = {
        "type": "object",
        "required": ["name", "value"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 256},
            "type": {"type": "string", "default": "Exact", "enum": ["Exact", "RegularExpression"]},
            "value": {"type": "string", "minLength": 1, "maxLength": 4096},
        },
    }
    backend_ref = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "namespace": {"type": "string", "maxLength": 63},
            "group": {"type": "string", "maxLength": 253},
            "kind": {"type": "string", "maxLength": 63},
            "modelNameOverride": {"type": "string"},
            "priority": {"type": "integer", "format": "int32", "minimum": 0, "default": 0},
            "weight": {"type": "integer", "format": "int32", "minimum": 0, "default": 1},
        },
        "x-kubernetes-preserve-unknown-fields": True,
    }
    rule = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 63},
            "backendRefs": {"type": "array", "maxItems": 128, "items": backend_ref},
            "matches": {
                "type": "array",
                "maxItems": 128,
                "items": {
                    "type": "object",
                    "properties": {
                        "headers": {
                            "type": "array",
                            "maxItems": 16,
                            "items": header_match,
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                        }
                    },
                    "x-kubernetes-preserve-unknown-fields": True,
                },
            },
        },
        "x-kubernetes-preserve-unknown-fields": True,
    }
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["rules"],
                "properties": {"rules": {"type": "array", "maxItems": 15, "items": rule}},
                "x-kubernetes-preserve-unknown-fields": True,
            },
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }

    def version(name: str, storage: bool) -> dict[str, Any]:
        return {
            "name": name,
            "served": True,
            "storage": storage,
            "schema": {"openAPIV3Schema": schema},
            "subresources": {"status": {}},
        }

    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": "aigatewayroutes.aigateway.envoyproxy.io",
            "annotations": {
                STANDIN_ANNOTATION: f"minimal stand-in: {AIGATEWAY_MODULE} is not served by the Go module proxy"
            },
        },
        "spec": {
            "group": "aigateway.envoyproxy.io",
            "scope": "Namespaced",
            "names": {
                "kind": "AIGatewayRoute",
                "listKind": "AIGatewayRouteList",
                "plural": "aigatewayroutes",
                "singular": "aigatewayroute",
            },
            "versions": [version("v1alpha1", False), version("v1beta1", True)],
        },
    }


def gateway_crds() -> list[dict[str, Any]]:
    """Every CRD `install_gateway_crds` installs: upstream Gateway API, then the AIGatewayRoute stand-in."""
    return [*gateway_api_crds(), aigatewayroute_standin_crd()]


def install_gateway_crds(api_client: client.ApiClient, timeout: float = 60.0) -> list[str]:
    """Server-side apply the CRDs and wait until each is Established; returns their names. Idempotent."""
    ext = client.ApiextensionsV1Api(api_client)
    names = []
    for crd in gateway_crds():
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
