"""Each criterion's verdicts at its boundaries, the inconclusive cases, and the overall verdict."""

from __future__ import annotations

import math

import pytest

from provider_migration.analysis import criteria
from provider_migration.analysis.criteria import Reading, Traffic
from provider_migration.api.status import CriterionResult

Q = 'sum(rate(x{model_id="t"}[1m]))'
ENOUGH = Traffic(samples=100, min_samples=10)


def read(value: float | None) -> Reading:
    return Reading(Q, value)


@pytest.mark.parametrize(
    ("value", "verdict"),
    [(0.0, "Pass"), (0.049, "Pass"), (0.05, "Pass"), (0.0501, "Fail"), (1.0, "Fail")],
)
def test_error_rate_fails_only_above_the_fraction(value: float, verdict: str) -> None:
    result = criteria.error_rate(read(value), ENOUGH, above=0.05)
    assert (result.verdict, result.value, result.threshold, result.samples, result.query) == (
        verdict,
        value,
        0.05,
        100,
        Q,
    )


@pytest.mark.parametrize(
    ("p95", "verdict"), [(1.0, "Pass"), (1.99, "Pass"), (2.0, "Pass"), (2.01, "Fail"), (math.inf, "Fail")]
)
def test_latency_is_judged_as_a_ratio_to_the_baseline_p95(p95: float, verdict: str) -> None:
    result = criteria.latency_p95(read(p95), ENOUGH, baseline_p95=1.0, ratio=2.0)
    assert result.verdict == verdict
    assert result.value == (p95 if math.isfinite(p95) else None)  # +Inf is not storable in status
    assert result.threshold == 2.0


def test_latency_ratio_uses_the_baseline() -> None:
    result = criteria.latency_p95(read(3.0), ENOUGH, baseline_p95=2.0, ratio=2.0)
    assert (result.verdict, result.value) == ("Pass", 1.5)


@pytest.mark.parametrize("baseline", [None, 0.0, math.nan])
def test_latency_without_a_usable_baseline_is_inconclusive(baseline: float | None) -> None:
    result = criteria.latency_p95(read(5.0), ENOUGH, baseline_p95=baseline, ratio=2.0)
    assert result.verdict == "Inconclusive"
    assert "baseline" in (result.message or "")


@pytest.mark.parametrize(
    ("actual", "verdict"), [(0.010, "Pass"), (0.011, "Pass"), (0.0111, "Fail"), (0.005, "Pass"), (0.02, "Fail")]
)
def test_cost_fails_when_spend_per_request_exceeds_the_forecast_by_more_than_the_margin(
    actual: float, verdict: str
) -> None:
    result = criteria.cost(read(actual), ENOUGH, forecast_per_request=0.010, over_forecast=0.10)
    assert result.verdict == verdict
    assert result.value == pytest.approx(actual / 0.010 - 1)
    assert result.threshold == 0.10


def test_cost_exactly_at_the_margin_passes_despite_float_noise() -> None:
    assert 1.1 / 1.0 - 1 > 0.10  # the float noise the boundary must tolerate
    assert criteria.cost(read(1.1), ENOUGH, forecast_per_request=1.0, over_forecast=0.10).verdict == "Pass"


def test_cost_against_a_free_forecast() -> None:
    assert criteria.cost(read(0.0), ENOUGH, forecast_per_request=0.0, over_forecast=0.1).verdict == "Pass"
    assert criteria.cost(read(0.001), ENOUGH, forecast_per_request=0.0, over_forecast=0.1).verdict == "Fail"


def test_cost_without_a_forecast_is_inconclusive() -> None:
    result = criteria.cost(read(0.02), ENOUGH, forecast_per_request=None, over_forecast=0.1)
    assert result.verdict == "Inconclusive"
    assert "forecast" in (result.message or "")


@pytest.mark.parametrize(
    ("score", "verdict"), [(0.95, "Pass"), (0.9, "Pass"), (0.89, "Fail"), (1.2, "Pass"), (0.0, "Fail")]
)
def test_quality_fails_when_it_drops_more_than_the_degradation(score: float, verdict: str) -> None:
    result = criteria.quality(read(score), ENOUGH, baseline_quality=1.0, degradation=0.10)
    assert result.verdict == verdict
    assert result.value == pytest.approx(1.0 - score)


@pytest.mark.parametrize("baseline", [None, 0.0, -1.0])
def test_quality_without_a_positive_baseline_is_inconclusive(baseline: float | None) -> None:
    assert criteria.quality(read(0.5), ENOUGH, baseline_quality=baseline, degradation=0.1).verdict == "Inconclusive"


@pytest.mark.parametrize(
    ("value", "above", "below", "verdict"),
    [
        (5.0, 5.0, None, "Pass"),
        (5.1, 5.0, None, "Fail"),
        (4.0, 5.0, None, "Pass"),
        (5.0, None, 5.0, "Pass"),
        (4.9, None, 5.0, "Fail"),
        (6.0, None, 5.0, "Pass"),
    ],
)
def test_custom_criterion_above_and_below(value: float, above: float | None, below: float | None, verdict: str) -> None:
    result = criteria.custom("ttft", read(value), ENOUGH, above=above, below=below)
    assert (result.name, result.verdict, result.threshold) == ("ttft", verdict, above if above is not None else below)


def test_custom_criterion_needs_exactly_one_bound() -> None:
    with pytest.raises(ValueError):
        criteria.custom("x", read(1.0), ENOUGH)
    with pytest.raises(ValueError):
        criteria.custom("x", read(1.0), ENOUGH, above=1, below=2)


def _all_criteria(reading: Reading, traffic: Traffic) -> list[CriterionResult]:
    return [
        criteria.error_rate(reading, traffic, 0.05),
        criteria.latency_p95(reading, traffic, 1.0, 2.0),
        criteria.cost(reading, traffic, 0.01, 0.1),
        criteria.quality(reading, traffic, 1.0, 0.1),
        criteria.custom("c", reading, traffic, above=0.5),
    ]


@pytest.mark.parametrize(
    ("reading", "traffic", "why"),
    [
        (Reading(Q, None), ENOUGH, "no data"),
        (Reading(Q, math.nan), ENOUGH, "no data"),  # a NaN that slipped through is no data either
        (Reading(Q, error="Prometheus at http://p:9090 is unreachable"), ENOUGH, "unreachable"),
        (Reading(Q, 0.9), Traffic(samples=9.99, min_samples=10), "fewer than minSamples 10"),
        (Reading(Q, 0.9), Traffic(samples=0, min_samples=10), "fewer than minSamples"),
        (Reading(Q, 0.9), Traffic(samples=None, min_samples=10, error="no request data"), "no request data"),
    ],
)
def test_missing_evidence_is_inconclusive_never_a_pass_or_fail(reading: Reading, traffic: Traffic, why: str) -> None:
    for result in _all_criteria(reading, traffic):
        assert result.verdict == "Inconclusive", result
        assert why in (result.message or "")
        assert result.query == Q


def test_exactly_min_samples_is_enough() -> None:
    assert criteria.error_rate(read(0.5), Traffic(samples=10, min_samples=10), 0.05).verdict == "Fail"


def test_a_huge_query_is_clipped_to_fit_status() -> None:
    result = criteria.error_rate(Reading("x" * 5000, 0.0), ENOUGH, 0.05)
    assert result.query is not None and len(result.query) == criteria.TEXT_LIMIT


def _result(verdict: str) -> CriterionResult:
    return CriterionResult(name="x", verdict=verdict)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("verdicts", "overall"),
    [
        (["Pass", "Pass"], "Pass"),
        (["Pass", "Inconclusive"], "Inconclusive"),
        (["Inconclusive", "Fail", "Pass"], "Fail"),
        (["Fail"], "Fail"),
        ([], "Pass"),
    ],
)
def test_overall_verdict(verdicts: list[str], overall: str) -> None:
    assert criteria.overall_verdict(_result(v) for v in verdicts) == overall
