"""Production adapters behind the controller's ports, all on one synchronous kubernetes ApiClient."""

from __future__ import annotations

from kubernetes import client, config

from provider_migration.credentials.secrets import SecretCredentialManager
from provider_migration.routing.factory import route_adapter

from .analysis_port import PrometheusAnalysis
from .evaluation_port import GoldenSetEvaluation
from .ports import Ports
from .store import KubeMigrationStore


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


def production_ports(kubeconfig: str | None = None) -> Ports:
    api = api_client(kubeconfig)
    return Ports(
        migrations=KubeMigrationStore(api),
        routes=lambda namespace, spec: route_adapter(api, namespace, spec),
        credentials=lambda namespace, spec: SecretCredentialManager(api, namespace, spec),
        analysis=PrometheusAnalysis(api),
        evaluation=GoldenSetEvaluation(api),
    )
