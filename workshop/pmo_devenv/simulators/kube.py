"""Read routing objects and Secrets from a real API server (test and demo tooling only).

The gateway simulator takes two plain callables, so unit tests inject dicts and need no cluster:
- RouteReader: () -> the routing object as a dict (None when it does not exist),
- SecretReader: (name) -> decoded Secret data (None when it does not exist).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from pmo_devenv.simulators.routing_readers import normalize_kind

RouteReader = Callable[[], dict[str, Any] | None]
SecretReader = Callable[[str], dict[str, str] | None]

# (group, version, plural) of the custom routing kinds.
CUSTOM_KINDS = {
    "HTTPRoute": ("gateway.networking.k8s.io", "v1", "httproutes"),
    "AIGatewayRoute": ("aigateway.envoyproxy.io", "v1beta1", "aigatewayroutes"),
}
REQUEST_TIMEOUT_S = 5


def kube_readers(kubeconfig: str | None, namespace: str, kind: str, name: str) -> tuple[RouteReader, SecretReader]:
    """Readers backed by the `kubernetes` client; a private ApiClient so no global config is touched."""
    from kubernetes import client, config  # lazy: unit tests never need it

    api = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)
    canonical = normalize_kind(kind)

    def read_route() -> dict[str, Any] | None:
        try:
            if canonical == "ConfigMap":
                cm = core.read_namespaced_config_map(name, namespace, _request_timeout=REQUEST_TIMEOUT_S)
                return {"data": cm.data or {}}
            group, version, plural = CUSTOM_KINDS[canonical]
            obj = custom.get_namespaced_custom_object(
                group, version, namespace, plural, name, _request_timeout=REQUEST_TIMEOUT_S
            )
            return obj if isinstance(obj, dict) else None
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def read_secret(secret_name: str) -> dict[str, str] | None:
        try:
            secret = core.read_namespaced_secret(secret_name, namespace, _request_timeout=REQUEST_TIMEOUT_S)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}

    return read_route, read_secret
