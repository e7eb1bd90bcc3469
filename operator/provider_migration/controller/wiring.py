"""Production adapters behind the controller's ports. Every tenant object is read and written as the migration's
ServiceAccount (controller/authority.py); only ProviderMigrations and templates use the operator's own identity."""

from __future__ import annotations

from collections.abc import Sequence

from kubernetes import client, config

from provider_migration.credentials.secrets import SecretCredentialManager
from provider_migration.routing.factory import route_adapter

from .analysis_port import PrometheusAnalysis
from .authority import DEFAULT_SERVICE_ACCOUNT, Authority, CredentialURLPolicy, Impersonation
from .evaluation_port import GoldenSetEvaluation
from .ports import Ports
from .store import KubeMigrationStore
from .templates import KubeTemplateStore


def api_client(kubeconfig: str | None = None) -> client.ApiClient:
    if kubeconfig is None:
        try:
            config.load_incluster_config()
            return client.ApiClient()
        except config.ConfigException:
            pass
    api = config.new_client_from_config(config_file=kubeconfig)
    api.configuration.connection_pool_maxsize = 32  # one per tick worker thread
    return api


def production_ports(
    kubeconfig: str | None = None,
    service_account: str | None = DEFAULT_SERVICE_ACCOUNT,
    credential_urls: Sequence[str] = (),
) -> Ports:
    """`service_account`: the default ServiceAccount migrations act as (None: the operator's own identity, for
    single-tenant development clusters only). `credential_urls`: where credentials may be sent."""
    api = api_client(kubeconfig)
    tenants = Impersonation(api.configuration, service_account)
    authority = Authority(tenants, CredentialURLPolicy(tuple(credential_urls)))
    return Ports(
        migrations=KubeMigrationStore(api),
        routes=lambda namespace, spec: route_adapter(tenants.client_for(namespace, spec), namespace, spec),
        credentials=lambda namespace, spec: SecretCredentialManager(
            tenants.client_for(namespace, spec), namespace, spec
        ),
        analysis=PrometheusAnalysis(tenants.client_for),
        evaluation=GoldenSetEvaluation(api, tenants.client_for),
        authority=authority.refusal,
        templates=KubeTemplateStore(api),  # the operator's own `get`: templates are shared policy
    )
