"""A namespace delegating to migrations: the `pmo-migrator` ServiceAccount the operator acts as, with a Role
granting what a migration touches (docs/helm.md, "Authority"). Tests, the demo and the benchmarks call it for
their namespaces, as a tenant would apply the same objects."""

from __future__ import annotations

import contextlib
from typing import Any

from kubernetes import client

MIGRATOR = "pmo-migrator"
# Credentials may go to loopback servers only (local Prometheus, provider simulators).
LOOPBACK_CREDENTIAL_URLS = r"regex:^https?://(127\.0\.0\.1|localhost)(:\d+)?(/.*)?$"

MIGRATOR_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "patch"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]},
    {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["httproutes"], "verbs": ["get", "patch"]},
    {"apiGroups": ["aigateway.envoyproxy.io"], "resources": ["aigatewayroutes"], "verbs": ["get", "patch"]},
]


def delegate_to_migrations(
    api: client.ApiClient,
    namespace: str,
    service_account: str = MIGRATOR,
    rules: list[dict[str, Any]] | None = None,
) -> None:
    """Create (idempotently) the ServiceAccount, a Role with `rules` (default: everything a migration may
    need, on every object of the namespace) and their RoleBinding."""
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    name = f"{service_account}-delegation"
    with contextlib.suppress(client.ApiException):
        core.create_namespaced_service_account(
            namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=service_account))
        )
    with contextlib.suppress(client.ApiException):
        rbac.create_namespaced_role(
            namespace,
            client.V1Role(
                metadata=client.V1ObjectMeta(name=name),
                rules=[
                    client.V1PolicyRule(api_groups=r["apiGroups"], resources=r["resources"], verbs=r["verbs"])
                    for r in rules or MIGRATOR_RULES
                ],
            ),
        )
    with contextlib.suppress(client.ApiException):
        rbac.create_namespaced_role_binding(
            namespace,
            client.V1RoleBinding(
                metadata=client.V1ObjectMeta(name=name),
                role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=name),
                subjects=[client.RbacV1Subject(kind="ServiceAccount", name=service_account, namespace=namespace)],
            ),
        )
