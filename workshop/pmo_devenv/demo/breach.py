"""The PromQL that shows a scenario's breach, and its value as the criterion judges it.

The queries are the metric preset's templates rendered for the target arm (the same PromQL the operator
records in `status.lastAnalysis.criteria[].query`); the comparison against the baseline, the forecast and
the threshold is redone here, so the demo times the operator against its own reading of Prometheus.
"""

from __future__ import annotations

from collections.abc import Callable

from pmo_devenv.prometheus import Prometheus
from provider_migration.analysis.presets import resolve_queries
from provider_migration.analysis.queries import ArmLabels, render, spend_per_request
from provider_migration.api.durations import seconds
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import ProviderMigrationStatus

from .watchers import scalar

Measure = Callable[[], tuple[float | None, float | None]]


def breach_measure(
    criterion: str,
    spec: ProviderMigrationSpec,
    status: ProviderMigrationStatus,
    prometheus: Prometheus,
    namespace: str,
) -> tuple[Measure, float]:
    """(measure, threshold): measure() gives (criterion value, requests in the window); value None when
    Prometheus has no answer or the window holds fewer requests than minSamples."""
    analysis = spec.analysis
    assert analysis is not None, "the demo migration always has analysis"
    rules, interval = analysis.rollback_on, analysis.interval
    queries = resolve_queries(analysis)
    arm = ArmLabels(spec.target.backend, spec.target.model, namespace)

    def q(template: str) -> float | None:
        return scalar(prometheus.query(render(template, arm, interval)))

    baseline, forecast = status.baseline, status.forecast
    if criterion == "errorRate":
        value, threshold = (lambda: q(queries["error_rate"])), rules.error_rate.above
    elif criterion == "latencyP95":
        assert baseline is not None and baseline.latency_p95, "no baseline p95 in status"
        base_p95 = baseline.latency_p95
        value, threshold = (lambda: _ratio(q(queries["latency_p95"]), base_p95)), rules.latency_p95.ratio_to_baseline
    elif criterion == "cost":
        pricing = spec.target.pricing
        assert pricing is not None and forecast is not None and forecast.target_cost_per_request, "no forecast"
        expected = forecast.target_cost_per_request
        spend = spend_per_request(
            queries["input_tokens"],
            queries["output_tokens"],
            queries["requests"],
            pricing.input_per_million,
            pricing.output_per_million,
        )
        value, threshold = (lambda: _minus_one(_ratio(q(spend), expected))), rules.cost.over_forecast
    elif criterion == "quality":
        assert baseline is not None and baseline.quality and rules.quality.query, "no baseline quality in status"
        base_quality, query = baseline.quality, rules.quality.query
        value, threshold = (lambda: _drop(q(query), base_quality)), rules.quality.degradation
    else:
        raise ValueError(f"no breach query for criterion {criterion!r}")

    window = seconds(interval)

    def measure() -> tuple[float | None, float | None]:
        rate = q(queries["requests"])
        samples = None if rate is None else rate * window
        if samples is None or samples < analysis.min_samples:
            return None, samples
        return value(), samples

    return measure, threshold


def _ratio(value: float | None, base: float) -> float | None:
    return None if value is None else value / base


def _minus_one(value: float | None) -> float | None:
    return None if value is None else value - 1


def _drop(value: float | None, base: float) -> float | None:
    return None if value is None else (base - value) / base
