"""Raw reads and server-side applies of the few kinds the adapters touch, with the synchronous client.

Objects travel as plain JSON dicts (camelCase, exactly as stored) so the adapters can compare and rebuild
them without the typed models dropping or renaming fields.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from provider_migration.api.constants import APPLY_PATCH, FIELD_MANAGER

from .errors import KindNotServed, RouteConflict, RouteError


@dataclass(frozen=True)
class Kind:
    api_version: str
    kind: str
    plural: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]


CONFIG_MAP = Kind("v1", "ConfigMap", "configmaps")
DEPLOYMENT = Kind("apps/v1", "Deployment", "deployments")
HTTP_ROUTE = Kind("gateway.networking.k8s.io/v1", "HTTPRoute", "httproutes")
AI_GATEWAY_ROUTE = Kind("aigateway.envoyproxy.io/v1beta1", "AIGatewayRoute", "aigatewayroutes")


class Kube:
    """get/apply for one namespace. `apply` is SSA under FIELD_MANAGER with force: the body names exactly
    the fields the operator means to own."""

    def __init__(self, api_client: client.ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self._core = client.CoreV1Api(api_client)
        self._apps = client.AppsV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)

    def get(self, kind: Kind, name: str) -> dict[str, Any] | None:
        """The stored object, or None when it does not exist."""
        try:
            if kind == CONFIG_MAP:
                return _json(self._core.read_namespaced_config_map(name, self.namespace, _preload_content=False))
            if kind == DEPLOYMENT:
                return _json(self._apps.read_namespaced_deployment(name, self.namespace, _preload_content=False))
            return _json(
                self._custom.get_namespaced_custom_object(
                    kind.group, kind.version, self.namespace, kind.plural, name, _preload_content=False
                )
            )
        except client.ApiException as e:
            if e.status == 404 and not _is_status(e.body):
                # A missing object is a 404 Status; an unknown resource is the server's plain "404 page not found".
                served = f"{kind.plural}.{kind.group}/{kind.version}"
                raise KindNotServed(
                    f"the API server does not serve {served}: is the {kind.kind} CRD installed?"
                ) from None
            if e.status == 404:
                return None
            raise

    def secret_value(self, name: str, key: str) -> str | None:
        """One decoded key of a Secret (None when the Secret or key is absent). API errors keep only their
        status: their body may quote the Secret."""
        try:
            secret = _json(self._core.read_namespaced_secret(name, self.namespace, _preload_content=False))
        except client.ApiException as e:
            if e.status == 404:
                return None
            raise RouteError(f"could not read Secret {self.namespace}/{name}: HTTP {e.status}") from None
        raw = (secret.get("data") or {}).get(key)
        try:
            return base64.b64decode(raw, validate=True).decode() if raw else None
        except (ValueError, UnicodeDecodeError):
            return None

    def apply(self, kind: Kind, name: str, fields: dict[str, Any], resource_version: str | None = None) -> None:
        """Server-side apply `fields` (everything but apiVersion/kind/metadata.name). With resource_version the
        apply is a compare-and-swap: a concurrent writer makes it fail with 409 instead of being overwritten."""
        metadata: dict[str, Any] = {"name": name, "namespace": self.namespace}
        if resource_version:
            metadata["resourceVersion"] = resource_version
        body = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": metadata, **fields}
        try:
            self._apply(kind, name, body)
        except client.ApiException as e:
            if e.status == 409 and resource_version:
                raise RouteConflict(f"{kind.kind} {self.namespace}/{name} changed while being edited") from None
            raise

    def _apply(self, kind: Kind, name: str, body: dict[str, Any]) -> None:
        options: dict[str, Any] = {"field_manager": FIELD_MANAGER, "force": True, "_content_type": APPLY_PATCH}
        if kind == CONFIG_MAP:
            self._core.patch_namespaced_config_map(name, self.namespace, body, _preload_content=False, **options)
        elif kind == DEPLOYMENT:
            self._apps.patch_namespaced_deployment(name, self.namespace, body, _preload_content=False, **options)
        else:
            self._custom.patch_namespaced_custom_object(
                kind.group, kind.version, self.namespace, kind.plural, name, body, **options
            )


def _is_status(body: Any) -> bool:
    try:
        decoded = json.loads(body or "")
    except (TypeError, ValueError):
        return False
    return isinstance(decoded, dict) and decoded.get("kind") == "Status"


def _json(response: Any) -> dict[str, Any]:
    return dict(json.loads(response.data))
