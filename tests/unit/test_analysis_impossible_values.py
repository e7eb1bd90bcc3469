"""Values that cannot be true are inconclusive: never a Pass that promotes (or decommissions the source), nor
a Fail that rolls back."""

from __future__ import annotations

import math

import pytest

from provider_migration.analysis import criteria
from provider_migration.analysis.criteria import Reading, Traffic

ENOUGH = Traffic(samples=100, min_samples=10)


@pytest.mark.parametrize("value", [-0.5, -math.inf, 1.5, math.inf])
def test_an_error_rate_outside_0_to_1_is_inconclusive(value: float) -> None:
    result = criteria.error_rate(Reading("q", value), ENOUGH, 0.05)
    assert result.verdict == "Inconclusive" and "impossible value" in (result.message or "")


@pytest.mark.parametrize("value", [0.0, -3.0, -math.inf])
def test_a_latency_that_is_not_positive_is_inconclusive(value: float) -> None:
    result = criteria.latency_p95(Reading("q", value), ENOUGH, 1.0, 2.0)
    assert result.verdict == "Inconclusive" and "impossible value" in (result.message or "")


def test_an_infinite_latency_is_still_a_fail() -> None:
    assert criteria.latency_p95(Reading("q", math.inf), ENOUGH, 1.0, 2.0).verdict == "Fail"


@pytest.mark.parametrize("value", [-0.01, math.inf, -math.inf])
def test_a_negative_or_infinite_cost_is_inconclusive(value: float) -> None:
    assert criteria.cost(Reading("q", value), ENOUGH, 0.01, 0.2).verdict == "Inconclusive"


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_an_infinite_quality_is_inconclusive(value: float) -> None:
    assert criteria.quality(Reading("q", value), ENOUGH, 0.9, 0.05).verdict == "Inconclusive"


@pytest.mark.parametrize("samples", [-5.0, math.inf, math.nan])
def test_an_impossible_request_count_is_inconclusive(samples: float) -> None:
    result = criteria.error_rate(Reading("q", 0.01), Traffic(samples=samples, min_samples=10), 0.05)
    assert result.verdict == "Inconclusive" and result.samples in (None, -5.0)


def test_possible_values_are_still_judged() -> None:
    assert criteria.error_rate(Reading("q", 0.0), ENOUGH, 0.05).verdict == "Pass"
    assert criteria.error_rate(Reading("q", 1.0), ENOUGH, 0.05).verdict == "Fail"
    assert criteria.latency_p95(Reading("q", 0.2), ENOUGH, 1.0, 2.0).verdict == "Pass"
    assert criteria.cost(Reading("q", 0.0), ENOUGH, 0.01, 0.2).verdict == "Pass"


@pytest.mark.parametrize(
    ("timeout", "ok"), [("10s", True), ("30s", True), ("31s", False), ("1m", False), ("0s", False)]
)
def test_prometheus_timeout_is_capped_in_the_schema(timeout: str, ok: bool) -> None:
    from pydantic import ValidationError

    from provider_migration.api.spec import PrometheusSource

    if ok:
        PrometheusSource.model_validate({"url": "http://p:9090", "timeout": timeout})
    else:
        with pytest.raises(ValidationError, match="timeout"):
            PrometheusSource.model_validate({"url": "http://p:9090", "timeout": timeout})
