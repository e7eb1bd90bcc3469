"""The operator's own Prometheus metrics (served on /metrics; the chart's PrometheusRule is built on these names).

Labels stay low-cardinality: namespace and name of the migration, a phase, a criterion name (four built-in
plus at most ten custom per migration), a verdict, a short rollback reason. Never a query, message or value
from a Secret. `forget` drops a deleted migration's series.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from provider_migration.api.status import AnalysisStatus, Phase, ProviderMigrationStatus

REASON_LIMIT = 63  # keeps a free-text reason from becoming a new series per message
_DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class OperatorMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        migration = ["namespace", "name"]
        self.target_weight = Gauge(
            "pmo_migration_target_weight",
            "Percent of traffic on the target, as confirmed in the routing object",
            migration,
            registry=registry,
        )
        self.phase = Gauge(
            "pmo_migration_phase",
            "1 for the migration's current phase, 0 for the others",
            [*migration, "phase"],
            registry=registry,
        )
        self.analyses = Counter(
            "pmo_analysis_total",
            "Criterion results by verdict (Pass, Fail, Inconclusive)",
            [*migration, "criterion", "verdict"],
            registry=registry,
        )
        self.analysis_value = Gauge(
            "pmo_analysis_value",
            "Last measured value per criterion, as in status.lastAnalysis (errorRate: fraction, latencyP95: "
            "ratio to the baseline, cost: fraction over forecast, quality: fraction below the baseline); "
            "absent while the criterion has no value",
            [*migration, "criterion"],
            registry=registry,
        )
        self.phase_since = Gauge(
            "pmo_migration_phase_since_timestamp_seconds",
            "Unix time the migration entered its current phase (from status.history, so restarts keep it): "
            "time() minus it is how long it has been waiting at a gate, paused or blocked",
            migration,
            registry=registry,
        )
        self.baseline_error_rate = Gauge(
            "pmo_baseline_error_rate", "Error rate of the source in the captured baseline", migration, registry=registry
        )
        self.analysis_runs = Counter(
            "pmo_analysis_runs_total", "Analyses by overall verdict", [*migration, "verdict"], registry=registry
        )
        self.rollbacks = Counter(
            "pmo_rollbacks_total", "Rollbacks started, by reason", [*migration, "reason"], registry=registry
        )
        self.analysis_duration = Histogram(
            "pmo_analysis_duration_seconds",
            "Time to run one analysis or baseline capture (all its Prometheus queries)",
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.reconcile_duration = Histogram(
            "pmo_reconcile_duration_seconds", "Time of one reconcile tick", buckets=_DURATION_BUCKETS, registry=registry
        )
        self.reconcile_errors = Counter(
            "pmo_reconcile_errors_total", "Reconcile ticks that raised (retried)", migration, registry=registry
        )
        self.last_tick = Gauge(
            "pmo_last_tick_timestamp_seconds", "Unix time the last reconcile tick ended", registry=registry
        )
        self._counted: dict[tuple[str, str], datetime] = {}
        self._valued: dict[tuple[str, str], set[str]] = {}  # criteria with a pmo_analysis_value series

    def record_status(self, namespace: str, name: str, status: ProviderMigrationStatus) -> None:
        """Everything status tells: weight, phase, baseline error rate and the last analysis (counted once)."""
        self.target_weight.labels(namespace, name).set(status.current_weight)
        for phase in Phase:
            self.phase.labels(namespace, name, phase.value).set(1 if phase == status.phase else 0)
        since = phase_entered(status)
        if since is None:
            _remove(self.phase_since, namespace, name)
        else:
            self.phase_since.labels(namespace, name).set(since.timestamp())
        baseline = status.baseline.error_rate if status.baseline else None
        if baseline is None:
            _remove(self.baseline_error_rate, namespace, name)
        else:
            self.baseline_error_rate.labels(namespace, name).set(baseline)
        if status.last_analysis is not None:
            self.record_analysis(namespace, name, status.last_analysis)

    def record_analysis(self, namespace: str, name: str, analysis: AnalysisStatus) -> None:
        """Idempotent per analysis (keyed by its time), so calling it on every status write counts it once."""
        if self._counted.get((namespace, name)) == analysis.time:
            return
        self._counted[(namespace, name)] = analysis.time
        for result in analysis.criteria:
            self.analyses.labels(namespace, name, result.name, result.verdict).inc()
        self.analysis_runs.labels(namespace, name, analysis.verdict).inc()
        # A stale value must not keep an alert firing: criteria without a value now lose their series.
        # Remembering which criteria had a value keeps this O(criteria): scanning every migration's series
        # here was O(N) per analysis, on the event loop (bench/scale.py found it).
        valued = {r.name: r.value for r in analysis.criteria if r.value is not None}
        for criterion in self._valued.get((namespace, name), set()) - valued.keys():
            _remove(self.analysis_value, namespace, name, criterion)
        for criterion, value in valued.items():
            self.analysis_value.labels(namespace, name, criterion).set(value)
        self._valued[(namespace, name)] = set(valued)

    def record_rollback(self, namespace: str, name: str, reason: str) -> None:
        self.rollbacks.labels(namespace, name, (reason or "Unknown")[:REASON_LIMIT]).inc()

    def record_error(self, namespace: str, name: str) -> None:
        self.reconcile_errors.labels(namespace, name).inc()

    @contextmanager
    def time_analysis(self) -> Iterator[None]:
        with self.analysis_duration.time():
            yield

    @contextmanager
    def time_reconcile(self) -> Iterator[None]:
        """Times the tick and stamps its end, also when it raised (the liveness view: ticks keep coming)."""
        try:
            with self.reconcile_duration.time():
                yield
        finally:
            self.last_tick.set(time.time())

    def forget(self, namespace: str, name: str) -> None:
        """Remove a deleted migration's series (counters included: their history lives in Prometheus)."""
        for metric in (
            self.target_weight,
            self.phase,
            self.phase_since,
            self.analyses,
            self.analysis_value,
            self.analysis_runs,
            self.baseline_error_rate,
            self.rollbacks,
            self.reconcile_errors,
        ):
            for labels in _label_sets(metric):
                if labels[:2] == (namespace, name):
                    metric.remove(*labels)
        self._counted.pop((namespace, name), None)
        self._valued.pop((namespace, name), None)


def _remove(metric: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)


def _label_sets(metric: Gauge | Counter) -> list[tuple[str, ...]]:
    # prometheus_client has no public "list children"; collect() yields every sample with its labels, as a
    # dict in declared order (the order remove() expects).
    return list(dict.fromkeys(tuple(s.labels.values()) for f in metric.collect() for s in f.samples))


# The operator's metrics on the default registry, which `prometheus_client.start_http_server` serves.
DEFAULT = OperatorMetrics()
record_status = DEFAULT.record_status
record_rollback = DEFAULT.record_rollback
time_analysis = DEFAULT.time_analysis


def phase_entered(status: ProviderMigrationStatus) -> datetime | None:
    """When the current phase began: the first of the history entries at the end that are in this phase (a
    Blocked migration whose cause changes stays blocked since the first)."""
    since = None
    for entry in reversed(status.history):
        if entry.phase != status.phase:
            break
        since = entry.time
    return since
