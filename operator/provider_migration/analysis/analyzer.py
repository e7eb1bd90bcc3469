"""One analysis of the TARGET arm over `spec.analysis.interval`, judged by the enabled criteria.

Queries per analysis, at most 5 + len(spec.analysis.custom) <= MAX_ANALYSIS_QUERIES (15): the request rate
(for the sample count), then one per criterion: errorRate, latencyP95, cost (spend per request in a single
query), quality (only with `rollbackOn.quality.query`), and one per custom criterion. Disabled criteria are
not queried. Once Prometheus proves unavailable no further query is sent, so an outage costs one timeout.
"""

from __future__ import annotations

from datetime import datetime

from provider_migration.api.durations import seconds
from provider_migration.api.spec import Analysis, ProviderMigrationSpec
from provider_migration.api.status import AnalysisStatus, CriterionResult, ProviderMigrationStatus

from . import criteria
from .measure import Measurer
from .presets import resolve_queries
from .queries import ArmLabels, spend_per_request
from .source import MetricSource

MAX_CUSTOM_CRITERIA = 10  # as limited by the spec
MAX_ANALYSIS_QUERIES = 5 + MAX_CUSTOM_CRITERIA


def require_analysis(spec: ProviderMigrationSpec) -> Analysis:
    if spec.analysis is None:
        raise ValueError("spec.analysis is not set: there is nothing to measure")
    return spec.analysis


def run_analysis(
    spec: ProviderMigrationSpec,
    status: ProviderMigrationStatus,
    source: MetricSource,
    now: datetime,
    *,
    namespace: str = "",
) -> AnalysisStatus:
    """Judge the target over the last interval. Blocking (synchronous source): run it in a worker thread."""
    analysis = require_analysis(spec)
    rules = analysis.rollback_on
    queries = resolve_queries(analysis)
    measure = Measurer(source, ArmLabels(spec.target.backend, spec.target.model, namespace), analysis.interval)
    traffic = measure.traffic(
        measure.read(queries.get("requests"), "requests"), seconds(analysis.interval), analysis.min_samples
    )
    baseline = status.baseline
    results: list[CriterionResult] = []
    if rules.error_rate.enabled:
        reading = measure.read(queries.get("error_rate"), "errorRate")
        results.append(criteria.error_rate(reading, traffic, rules.error_rate.above))
    if rules.latency_p95.enabled:
        reading = measure.read(queries.get("latency_p95"), "latencyP95")
        base_p95 = baseline.latency_p95 if baseline else None
        results.append(criteria.latency_p95(reading, traffic, base_p95, rules.latency_p95.ratio_to_baseline))
    cost_query = _cost_query(spec, queries)
    if rules.cost.enabled and cost_query is not None and spec.target.pricing is not None:
        reading = measure.read(cost_query, "cost")
        expected = status.forecast.target_cost_per_request if status.forecast else None
        currency = spec.target.pricing.currency
        results.append(criteria.cost(reading, traffic, expected, rules.cost.over_forecast, currency))
    if rules.quality.enabled and rules.quality.query:
        reading = measure.read(rules.quality.query, "quality")
        base_quality = baseline.quality if baseline else None
        results.append(criteria.quality(reading, traffic, base_quality, rules.quality.degradation))
    for custom in analysis.custom:
        reading = measure.read(custom.query, custom.name)
        results.append(criteria.custom(custom.name, reading, traffic, above=custom.above, below=custom.below))
    return AnalysisStatus(
        time=now,
        verdict=criteria.overall_verdict(results),
        step=status.current_step,
        weight=status.current_weight,
        criteria=results,
    )


def cost_evaluated(spec: ProviderMigrationSpec) -> bool:
    """The cost criterion runs only when both sides are priced and token queries exist (a configuration
    choice, not missing data: without pricing there is nothing to compare, so it is left out, not inconclusive)."""
    analysis = require_analysis(spec)
    return analysis.rollback_on.cost.enabled and _cost_query(spec, resolve_queries(analysis)) is not None


def _cost_query(spec: ProviderMigrationSpec, queries: dict[str, str]) -> str | None:
    src, tgt = spec.source.pricing, spec.target.pricing
    needed = [queries.get(name) for name in ("input_tokens", "output_tokens", "requests")]
    if src is None or tgt is None or None in needed:
        return None
    input_tokens, output_tokens, requests = (q for q in needed if q is not None)
    return spend_per_request(input_tokens, output_tokens, requests, tgt.input_per_million, tgt.output_per_million)
