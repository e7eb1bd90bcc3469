"""Reading templates (least privilege: `get` on migrationtemplates and clustermigrationtemplates, nothing else),
and giving the tick its effective spec."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, cast

from kubernetes import client

from provider_migration.api import constants as c
from provider_migration.api.status import ProviderMigrationStatus
from provider_migration.core.templates import Refusal, Resolved, resolve


class TemplateStore(Protocol):
    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A MigrationTemplate in `namespace` or a ClusterMigrationTemplate; None when there is none."""
        ...


class NoTemplates:
    """For wirings without templates: every reference is missing (the migration is Blocked, never guessed)."""

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return None


class KubeTemplateStore:
    def __init__(self, api_client: client.ApiClient) -> None:
        self._api = client.CustomObjectsApi(api_client)

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            if kind == c.CLUSTER_TEMPLATE_KIND:
                obj = self._api.get_cluster_custom_object(c.GROUP, c.VERSION, c.CLUSTER_TEMPLATE_PLURAL, name)
            elif kind == c.TEMPLATE_KIND:
                obj = self._api.get_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.TEMPLATE_PLURAL, name)
            else:
                return None
        except client.ApiException as e:
            if e.status == 404:
                return None
            raise
        return cast(dict[str, Any], obj)


def effective_spec(
    templates: TemplateStore, namespace: str, spec: dict[str, Any], status: ProviderMigrationStatus, now: datetime
) -> tuple[Resolved | Refusal, ProviderMigrationStatus]:
    """The migration's effective spec and its status with the template recorded. The template is read only
    while none is recorded (before the migration starts); afterwards status.template is used to the end."""
    ref = spec.get("templateRef") or {}
    template = None
    if status.template is None:
        template = templates.get(str(ref.get("kind", "")), namespace, str(ref.get("name", "")))
    result = resolve(spec, template, status.template, now)
    if isinstance(result, Resolved):
        status = status.model_copy(update={"template": result.template, "effective_spec": result.wire})
    return result, status
