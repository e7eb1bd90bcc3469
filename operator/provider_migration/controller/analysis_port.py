"""Analysis and baseline capture against the Prometheus a migration names (token from its Secret, if any)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from kubernetes import client

from provider_migration.analysis.analyzer import run_analysis
from provider_migration.analysis.baseline import capture_baseline
from provider_migration.analysis.prometheus import PrometheusSource
from provider_migration.api import spec as api
from provider_migration.api.durations import seconds
from provider_migration.api.keys import secret_text
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import AnalysisStatus, CriterionResult, ProviderMigrationStatus
from provider_migration.core.observations import BaselineObservation

from . import metrics


class TokenUnavailable(Exception):
    """The bearer token the spec names cannot be read (the message names the Secret and key, never a value)."""


def prometheus_token(core: client.CoreV1Api, namespace: str, prom: api.PrometheusSource) -> str | None:
    """The bearer token of spec.analysis.prometheus.authSecret, None when it names no Secret."""
    ref = prom.auth_secret
    if ref is None:
        return None
    try:
        secret = core.read_namespaced_secret(ref.name, namespace)
    except client.ApiException as e:
        raise TokenUnavailable(f"cannot read the Prometheus auth Secret {ref.name} (HTTP {e.status})") from None
    token = secret_text(secret.data, ref.key)
    if token is None:
        raise TokenUnavailable(f"the Prometheus auth Secret {ref.name} has no usable key {ref.key!r}")
    return token


SOURCES_KEPT = 64  # Prometheus clients (one HTTP session each) kept open, the least recently used closed first


class PrometheusAnalysis:
    def __init__(self, api_for: Callable[[str, ProviderMigrationSpec], client.ApiClient]) -> None:
        self._api_for = api_for  # the migration's own ServiceAccount reads its auth Secret
        # One client per (URL, timeout, token) for all migrations: its connections are reused across ticks
        # instead of a new session (and TCP/TLS handshake) per analysis. The token is read every time (a
        # rotated one gets its own client); the key holds only its digest.
        self._sources: OrderedDict[tuple[str, float, str], PrometheusSource] = OrderedDict()
        self._lock = threading.Lock()

    def _source(self, namespace: str, spec: ProviderMigrationSpec) -> PrometheusSource:
        assert spec.analysis is not None  # decide() asks for analysis only when it is configured
        prom = spec.analysis.prometheus
        token = prometheus_token(client.CoreV1Api(self._api_for(namespace, spec)), namespace, prom)
        timeout = float(seconds(prom.timeout))
        key = (prom.url, timeout, hashlib.sha256((token or "").encode()).hexdigest() if token else "")
        with self._lock:
            source = self._sources.get(key)
            if source is not None:
                self._sources.move_to_end(key)
                return source
            source = self._sources[key] = PrometheusSource(prom.url, timeout_s=timeout, bearer_token=token)
            if len(self._sources) > SOURCES_KEPT:
                self._sources.popitem(last=False)[1].close()  # a tick still using it reconnects on its next call
            return source

    def baseline(self, namespace: str, spec: ProviderMigrationSpec, now: datetime) -> BaselineObservation:
        try:
            source = self._source(namespace, spec)
        except TokenUnavailable as e:
            return BaselineObservation(error=str(e))
        with metrics.time_analysis():
            return capture_baseline(spec, source, now, namespace=namespace)

    def analyze(
        self, namespace: str, spec: ProviderMigrationSpec, status: ProviderMigrationStatus, now: datetime
    ) -> AnalysisStatus:
        try:
            source = self._source(namespace, spec)
        except TokenUnavailable as e:
            result = CriterionResult(name="prometheus", verdict="Inconclusive", message=str(e))
            return AnalysisStatus(time=now, verdict="Inconclusive", criteria=[result])
        with metrics.time_analysis():
            return run_analysis(spec, status, source, now, namespace=namespace)
