"""The SOURCE arm's baseline over `spec.analysis.baseline.window`, captured once in Initializing.

Queries, at most MAX_BASELINE_QUERIES (8): request rate, error rate, p50, p95, p99, input and output tokens
per request, quality (only with `rollbackOn.quality.query`). The capture fails (an error, no baseline) when
Prometheus is unavailable, the source served fewer than `minSamples` requests in the window, or a value an
enabled criterion compares against is missing: better to say so now than to be inconclusive at every step.
"""

from __future__ import annotations

import math
from datetime import datetime

from provider_migration.api.durations import seconds
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import BaselineStatus
from provider_migration.core.observations import BaselineObservation

from .analyzer import cost_evaluated, require_analysis
from .criteria import Reading
from .measure import Measurer
from .presets import resolve_queries
from .queries import ArmLabels, per_request
from .source import MetricSource

MAX_BASELINE_QUERIES = 8


def capture_baseline(
    spec: ProviderMigrationSpec, source: MetricSource, now: datetime, *, namespace: str = ""
) -> BaselineObservation:
    """Blocking (synchronous source): run it in a worker thread."""
    analysis = require_analysis(spec)
    window = analysis.baseline.window
    queries = resolve_queries(analysis)
    arm = ArmLabels(spec.source.backend, spec.source.model, namespace)
    measure = Measurer(source, arm, window)
    requests = measure.read(queries.get("requests"), "requests")
    traffic = measure.traffic(requests, seconds(window), analysis.min_samples)
    if requests.error is not None:
        return BaselineObservation(error=requests.error)
    if traffic.samples is None:
        return BaselineObservation(
            error=f"no request data for source backend {arm.backend!r} over the last {window} ({requests.query})"
        )
    if traffic.samples < analysis.min_samples:
        return BaselineObservation(
            error=f"source backend {arm.backend!r} served {traffic.samples:.0f} requests in the last {window}, "
            f"fewer than minSamples {analysis.min_samples}"
        )

    def per_req(name: str) -> str | None:
        amount, total = queries.get(name), queries.get("requests")
        return per_request(amount, total) if amount and total else None

    rules = analysis.rollback_on
    readings = {
        "errorRate": measure.read(queries.get("error_rate"), "errorRate"),
        "latencyP50": measure.read(queries.get("latency_p50"), "latencyP50"),
        "latencyP95": measure.read(queries.get("latency_p95"), "latencyP95"),
        "latencyP99": measure.read(queries.get("latency_p99"), "latencyP99"),
        "inputTokensPerRequest": measure.read(per_req("input_tokens"), "input tokens"),
        "outputTokensPerRequest": measure.read(per_req("output_tokens"), "output tokens"),
    }
    quality_wanted = rules.quality.enabled and bool(rules.quality.query)
    if quality_wanted:
        readings["quality"] = measure.read(rules.quality.query, "quality")
    if measure.unavailable is not None:
        return BaselineObservation(error=measure.unavailable)

    needed = [
        name
        for name, wanted in (
            ("latencyP95", rules.latency_p95.enabled),
            ("inputTokensPerRequest", cost_evaluated(spec)),
            ("outputTokensPerRequest", cost_evaluated(spec)),
            ("quality", quality_wanted),
        )
        if wanted
    ]
    missing = [name for name in needed if _finite(readings[name]) is None]
    if missing:
        first = readings[missing[0]]
        why = first.error or f"no data for {first.query}"
        return BaselineObservation(error=f"no source value for {', '.join(missing)} over the last {window}: {why}")

    tokens_in, tokens_out = _finite(readings["inputTokensPerRequest"]), _finite(readings["outputTokensPerRequest"])
    pricing = spec.source.pricing
    spend = (
        pricing.cost(tokens_in, tokens_out)
        if pricing is not None and tokens_in is not None and tokens_out is not None
        else None
    )
    return BaselineObservation(
        baseline=BaselineStatus(
            captured_at=now,
            window=window,
            request_rate=requests.value,
            error_rate=_finite(readings["errorRate"]),
            latency_p50=_finite(readings["latencyP50"]),
            latency_p95=_finite(readings["latencyP95"]),
            latency_p99=_finite(readings["latencyP99"]),
            cost_per_request=spend,
            input_tokens_per_request=tokens_in,
            output_tokens_per_request=tokens_out,
            quality=_finite(readings["quality"]) if quality_wanted else None,
        )
    )


def _finite(reading: Reading) -> float | None:
    # +Inf (beyond the last histogram bucket) cannot be stored in status (JSON) nor compared against.
    value = reading.value
    return value if reading.error is None and value is not None and math.isfinite(value) else None
