"""Rollback criteria as pure functions over measured values: each yields Pass, Fail or Inconclusive.

Inconclusive whenever the evidence is missing or cannot be true (an error rate outside 0..1, a latency that
is not positive, a negative cost or request count, -Inf): the query failed or returned nothing/NaN, the baseline value
to compare against is unknown, or fewer requests than `minSamples` were seen. Low traffic is never a pass
(nor a fail). A value exactly at its threshold passes; only going beyond it fails.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from provider_migration.api.status import CriterionResult, Verdict

ERROR_RATE, LATENCY_P95, COST, QUALITY = "errorRate", "latencyP95", "cost", "quality"
TEXT_LIMIT = 4096


@dataclass(frozen=True)
class Reading:
    """One query's outcome: a value, or why there is none."""

    query: str | None
    value: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Traffic:
    """Requests the target arm served in the window, against the minimum that makes a verdict meaningful."""

    samples: float | None
    min_samples: int
    error: str | None = None  # why the count is unknown


def exceeds(value: float, limit: float) -> bool:
    """Strictly beyond the limit; float noise at the boundary (1.1 / 1.0 - 1) does not count."""
    return value > limit and not math.isclose(value, limit, rel_tol=1e-9, abs_tol=1e-12)


def error_rate(reading: Reading, traffic: Traffic, above: float) -> CriterionResult:
    if (blocked := _missing(ERROR_RATE, reading, traffic, above)) is not None:
        return blocked
    if not 0 <= _value(reading) <= 1:  # also -Inf/+Inf: a broken query, never evidence either way
        return _impossible(ERROR_RATE, reading, traffic, above, "an error rate outside 0..1")
    value = _value(reading)
    failed = exceeds(value, above)
    relation = "above" if failed else "within"
    return _result(ERROR_RATE, failed, value, above, reading, traffic, f"error rate {value:.2%} {relation} {above:.2%}")


def latency_p95(reading: Reading, traffic: Traffic, baseline_p95: float | None, ratio: float) -> CriterionResult:
    if (blocked := _missing(LATENCY_P95, reading, traffic, ratio)) is not None:
        return blocked
    if not _value(reading) > 0:  # +Inf stays: histogram_quantile's answer beyond the last bucket (a Fail)
        return _impossible(LATENCY_P95, reading, traffic, ratio, "a latency that is not positive")
    if baseline_p95 is None or baseline_p95 <= 0 or not math.isfinite(baseline_p95):
        return _inconclusive(LATENCY_P95, reading, traffic, ratio, "no usable baseline p95 of the source")
    value = _value(reading) / baseline_p95
    failed = exceeds(value, ratio)
    message = f"p95 {_value(reading):.3g}s is {value:.2f}x the source's {baseline_p95:.3g}s (limit {ratio:g}x)"
    return _result(LATENCY_P95, failed, value, ratio, reading, traffic, message)


def cost(
    reading: Reading, traffic: Traffic, forecast_per_request: float | None, over_forecast: float, currency: str = "USD"
) -> CriterionResult:
    """`reading` is the target's actual spend per request; value is the fraction over the forecast."""
    if (blocked := _missing(COST, reading, traffic, over_forecast)) is not None:
        return blocked
    if not 0 <= _value(reading) < math.inf:
        return _impossible(COST, reading, traffic, over_forecast, "a negative or infinite cost per request")
    if forecast_per_request is None or forecast_per_request < 0 or not math.isfinite(forecast_per_request):
        return _inconclusive(COST, reading, traffic, over_forecast, "no cost forecast for the target")
    actual = _value(reading)
    value = _overage(actual, forecast_per_request)
    failed = exceeds(value, over_forecast)
    message = (
        f"{actual:.6g} {currency}/request against a forecast of {forecast_per_request:.6g} "
        f"({_signed_percent(value)}, limit +{over_forecast:.0%})"
    )
    return _result(COST, failed, value, over_forecast, reading, traffic, message)


def quality(reading: Reading, traffic: Traffic, baseline_quality: float | None, degradation: float) -> CriterionResult:
    """Value is the relative drop from the source's quality (negative when the target does better)."""
    if (blocked := _missing(QUALITY, reading, traffic, degradation)) is not None:
        return blocked
    if not math.isfinite(_value(reading)):
        return _impossible(QUALITY, reading, traffic, degradation, "an infinite quality score")
    if baseline_quality is None or baseline_quality <= 0 or not math.isfinite(baseline_quality):
        return _inconclusive(QUALITY, reading, traffic, degradation, "no positive baseline quality of the source")
    score = _value(reading)
    value = (baseline_quality - score) / baseline_quality
    failed = exceeds(value, degradation)
    message = (
        f"quality {score:.4g} against the source's {baseline_quality:.4g} "
        f"({_signed_percent(-value)}, limit -{degradation:.0%})"
    )
    return _result(QUALITY, failed, value, degradation, reading, traffic, message)


def custom(
    name: str, reading: Reading, traffic: Traffic, above: float | None = None, below: float | None = None
) -> CriterionResult:
    if (above is None) == (below is None):
        raise ValueError("a custom criterion sets exactly one of above or below")
    threshold = above if above is not None else below
    assert threshold is not None
    if (blocked := _missing(name, reading, traffic, threshold)) is not None:
        return blocked
    value = _value(reading)
    failed = exceeds(value, threshold) if above is not None else exceeds(-value, -threshold)
    side = "above" if above is not None else "below"
    verb = "is" if failed else "is not"
    return _result(name, failed, value, threshold, reading, traffic, f"{value:.6g} {verb} {side} {threshold:g}")


def overall_verdict(results: Iterable[CriterionResult]) -> Verdict:
    """Any Fail fails; else any Inconclusive is inconclusive; else Pass (also when every criterion is disabled)."""
    verdicts = {r.verdict for r in results}
    if "Fail" in verdicts:
        return "Fail"
    return "Inconclusive" if "Inconclusive" in verdicts else "Pass"


def _missing(name: str, reading: Reading, traffic: Traffic, threshold: float) -> CriterionResult | None:
    if reading.error is not None:
        return _inconclusive(name, reading, traffic, threshold, reading.error)
    if reading.value is None or math.isnan(reading.value):
        return _inconclusive(name, reading, traffic, threshold, "no data: the query returned nothing or NaN")
    if traffic.samples is None:
        return _inconclusive(name, reading, traffic, threshold, traffic.error or "request count unknown")
    if not 0 <= traffic.samples < math.inf:  # NaN too
        message = f"impossible request count {traffic.samples:g}: the requests query is broken"
        return _inconclusive(name, reading, traffic, threshold, message)
    if traffic.samples < traffic.min_samples:
        message = f"{traffic.samples:.0f} requests in the window, fewer than minSamples {traffic.min_samples}"
        return _inconclusive(name, reading, traffic, threshold, message)
    return None


def _impossible(name: str, reading: Reading, traffic: Traffic, threshold: float, what: str) -> CriterionResult:
    """A value that cannot be true (a broken query or exporter): inconclusive, never a pass nor a fail."""
    return _inconclusive(name, reading, traffic, threshold, f"impossible value {_value(reading):g}: {what}")


def _value(reading: Reading) -> float:
    assert reading.value is not None
    return reading.value


def _inconclusive(name: str, reading: Reading, traffic: Traffic, threshold: float, message: str) -> CriterionResult:
    return CriterionResult(
        name=name,
        verdict="Inconclusive",
        value=_finite(reading.value),
        threshold=threshold,
        samples=_samples(traffic),
        query=_clip(reading.query),
        message=_clip(message),
    )


def _result(
    name: str, failed: bool, value: float, threshold: float, reading: Reading, traffic: Traffic, message: str
) -> CriterionResult:
    return CriterionResult(
        name=name,
        verdict="Fail" if failed else "Pass",
        value=_finite(value),  # +Inf (beyond the last histogram bucket) is not JSON: the message still says it
        threshold=threshold,
        samples=_samples(traffic),
        query=_clip(reading.query),
        message=_clip(message),
    )


def _clip(text: str | None) -> str | None:
    # Status fields hold at most 4096 characters; a long user query must not make the result invalid.
    return text if text is None or len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 3] + "..."


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _samples(traffic: Traffic) -> float | None:
    return None if traffic.samples is None or not math.isfinite(traffic.samples) else round(traffic.samples, 2)


def _overage(actual: float, expected: float) -> float:
    if expected == 0:  # a free target stays within any forecast only while it stays free
        return 0.0 if actual <= 0 else math.inf
    return actual / expected - 1


def _signed_percent(fraction: float) -> str:
    return "+inf%" if math.isinf(fraction) else f"{fraction:+.1%}"
