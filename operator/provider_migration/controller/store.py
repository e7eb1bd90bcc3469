"""ProviderMigration reads and compare-and-swap status writes with the synchronous client."""

from __future__ import annotations

from typing import Any, cast

from kubernetes import client

from provider_migration.api import constants as c


class KubeMigrationStore:
    def __init__(self, api_client: client.ApiClient) -> None:
        self._api = client.CustomObjectsApi(api_client)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return cast(
                dict[str, Any], self._api.get_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, name)
            )
        except client.ApiException as e:
            if e.status == 404:
                return None
            raise

    def write_status(self, namespace: str, name: str, resource_version: str, status: dict[str, Any]) -> bool:
        # A JSON patch whose `test` makes the write conditional: two writers never both advance a step.
        body: list[dict[str, Any]] = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": resource_version},
            {"op": "add", "path": "/status", "value": status},
        ]
        try:
            self._api.patch_namespaced_custom_object_status(
                c.GROUP, c.VERSION, namespace, c.PLURAL, name, body, _content_type="application/json-patch+json"
            )
        except client.ApiException as e:
            if e.status in (404, 409, 422):
                return False
            raise
        return True
