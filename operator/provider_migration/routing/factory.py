"""Choose the RouteAdapter for a migration's `spec.route.kind`."""

from __future__ import annotations

from kubernetes import client

from provider_migration.api.spec import ProviderMigrationSpec

from .aigatewayroute import AIGatewayRouteAdapter
from .base import RouteAdapter
from .httproute import HTTPRouteAdapter
from .litellm import LiteLLMConfigMapRoute

ADAPTERS: dict[str, type[LiteLLMConfigMapRoute | HTTPRouteAdapter | AIGatewayRouteAdapter]] = {
    "ConfigMap": LiteLLMConfigMapRoute,
    "HTTPRoute": HTTPRouteAdapter,
    "AIGatewayRoute": AIGatewayRouteAdapter,
}


def route_adapter(api_client: client.ApiClient, namespace: str, spec: ProviderMigrationSpec) -> RouteAdapter:
    """The adapter bound to this migration's routing object (synchronous client: call it off the event loop)."""
    return ADAPTERS[spec.route.kind](api_client, namespace, spec)
