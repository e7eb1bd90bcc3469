"""Analysis and baseline capture against the Prometheus a migration names (token from its Secret, if any)."""

from __future__ import annotations

import base64
from datetime import datetime

from kubernetes import client

from provider_migration.analysis.analyzer import run_analysis
from provider_migration.analysis.baseline import capture_baseline
from provider_migration.analysis.prometheus import PrometheusSource
from provider_migration.api.durations import seconds
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import AnalysisStatus, CriterionResult, ProviderMigrationStatus
from provider_migration.core.observations import BaselineObservation

from . import metrics


class PrometheusAnalysis:
    def __init__(self, api_client: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api_client)

    def _source(self, namespace: str, spec: ProviderMigrationSpec) -> PrometheusSource:
        assert spec.analysis is not None  # decide() asks for analysis only when it is configured
        prom = spec.analysis.prometheus
        token = None
        if prom.auth_secret is not None:
            secret = self._core.read_namespaced_secret(prom.auth_secret.name, namespace)
            raw = (secret.data or {}).get(prom.auth_secret.key)
            token = base64.b64decode(raw).decode().strip() if raw else None
        return PrometheusSource(prom.url, timeout_s=float(seconds(prom.timeout)), bearer_token=token)

    def baseline(self, namespace: str, spec: ProviderMigrationSpec, now: datetime) -> BaselineObservation:
        try:
            source = self._source(namespace, spec)
        except client.ApiException as e:
            return BaselineObservation(error=f"cannot read the Prometheus auth Secret (HTTP {e.status})")
        try:
            with metrics.time_analysis():
                return capture_baseline(spec, source, now, namespace=namespace)
        finally:
            source.close()

    def analyze(
        self, namespace: str, spec: ProviderMigrationSpec, status: ProviderMigrationStatus, now: datetime
    ) -> AnalysisStatus:
        try:
            source = self._source(namespace, spec)
        except client.ApiException as e:
            message = f"cannot read the Prometheus auth Secret (HTTP {e.status})"
            result = CriterionResult(name="prometheus", verdict="Inconclusive", message=message)
            return AnalysisStatus(time=now, verdict="Inconclusive", criteria=[result])
        try:
            with metrics.time_analysis():
                return run_analysis(spec, status, source, now, namespace=namespace)
        finally:
            source.close()
