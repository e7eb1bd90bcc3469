"""In a pod the operator talks to the API server where KUBERNETES_SERVICE_HOST/PORT say, not where DNS might."""

from __future__ import annotations

import pytest

from provider_migration.controller.handlers import in_cluster_server


@pytest.mark.parametrize(
    ("environ", "server"),
    [
        ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}, "https://10.96.0.1:443"),
        ({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"}, "https://[fd00::1]:6443"),
        ({"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, None),  # kopf's default (cluster DNS) then
        ({}, None),
    ],
)
def test_in_cluster_server_follows_the_service_environment(environ: dict[str, str], server: str | None) -> None:
    assert in_cluster_server(environ) == server
