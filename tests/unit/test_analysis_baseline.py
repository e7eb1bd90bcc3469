"""capture_baseline: the SOURCE arm over baseline.window, or a clear error instead of a baseline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from analysis_fakes import FakeSource, spec_dict

from provider_migration.analysis import MAX_BASELINE_QUERIES, MetricsUnavailable, capture_baseline
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.core.forecast import forecast

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
QUALITY = 'avg_over_time(llm_quality_score{backend="{{backend}}"}[{{interval}}])'
SOURCE = {
    "requests": 0.5,  # per second over 1h: 1800 requests
    "error_rate": 0.004,
    "p50": 0.6,
    "p95": 1.4,
    "p99": 2.9,
    "input_per_request": 800.0,
    "output_per_request": 200.0,
    "quality": 0.91,
}


def make_spec(**analysis: Any) -> ProviderMigrationSpec:
    analysis.setdefault("baseline", {"window": "1h"})
    analysis.setdefault("rollbackOn", {"quality": {"query": QUALITY}})
    return ProviderMigrationSpec.model_validate(spec_dict(**analysis))


def test_captures_the_source_arm_over_the_baseline_window() -> None:
    source = FakeSource(SOURCE)
    obs = capture_baseline(make_spec(), source, NOW, namespace="support")
    assert obs.error is None and obs.baseline is not None
    b = obs.baseline
    assert (b.captured_at, b.window, b.request_rate, b.error_rate) == (NOW, "1h", 0.5, 0.004)
    assert (b.latency_p50, b.latency_p95, b.latency_p99, b.quality) == (0.6, 1.4, 2.9, 0.91)
    assert (b.input_tokens_per_request, b.output_tokens_per_request) == (800.0, 200.0)
    # Source pricing: 2.5 and 10 per million tokens.
    assert b.cost_per_request == pytest.approx((800 * 2.5 + 200 * 10) / 1e6)
    assert len(source.asked) == MAX_BASELINE_QUERIES == 8
    assert all(("src-gpt" in q or "gpt-4o" in q) and "[1h]" in q for q in source.asked)
    assert not any("tgt-claude" in q or "claude" in q for q in source.asked)


def test_forecast_from_the_captured_baseline_prices_the_source_token_mix_on_both_sides() -> None:
    obs = capture_baseline(make_spec(), FakeSource(SOURCE), NOW)
    assert obs.baseline is not None
    fc = forecast(make_spec(), obs.baseline)
    assert fc is not None
    assert fc.source_cost_per_request == pytest.approx(obs.baseline.cost_per_request)
    assert fc.target_cost_per_request == pytest.approx((800 * 3 + 200 * 15) / 1e6)


def test_too_few_source_requests_is_an_error_not_a_baseline() -> None:
    obs = capture_baseline(make_spec(minSamples=2000), FakeSource(SOURCE), NOW)
    assert obs.baseline is None
    assert obs.error is not None and "1800 requests" in obs.error and "minSamples 2000" in obs.error


def test_no_request_data_is_an_error() -> None:
    obs = capture_baseline(make_spec(), FakeSource({**SOURCE, "requests": None}), NOW)
    assert obs.baseline is None
    assert obs.error is not None and "no request data for source backend 'src-gpt'" in obs.error


def test_unreachable_prometheus_is_an_error_after_one_query() -> None:
    down = MetricsUnavailable("Prometheus at http://prometheus.monitoring:9090 did not answer within 10s")
    source = FakeSource(dict.fromkeys(SOURCE, down))
    obs = capture_baseline(make_spec(), source, NOW)
    assert (obs.baseline, obs.error) == (None, str(down))
    assert len(source.asked) == 1


def test_a_value_an_enabled_criterion_needs_must_be_there() -> None:
    obs = capture_baseline(make_spec(), FakeSource({**SOURCE, "p95": None}), NOW)
    assert obs.baseline is None
    assert obs.error is not None and "latencyP95" in obs.error


def test_values_no_enabled_criterion_needs_may_be_missing() -> None:
    spec = make_spec(rollbackOn={"latencyP95": {"enabled": False}, "cost": {"enabled": False}})
    values = {**SOURCE, "p95": None, "input_per_request": None, "output_per_request": None, "quality": 0.5}
    obs = capture_baseline(spec, FakeSource(values), NOW)
    assert obs.error is None and obs.baseline is not None
    assert (obs.baseline.latency_p95, obs.baseline.cost_per_request, obs.baseline.quality) == (None, None, None)


def test_missing_tokens_fail_the_capture_only_when_cost_is_evaluated() -> None:
    values = {**SOURCE, "output_per_request": None}
    assert "outputTokensPerRequest" in (capture_baseline(make_spec(), FakeSource(values), NOW).error or "")
    data = spec_dict(baseline={"window": "1h"})
    del data["target"]["pricing"]
    assert capture_baseline(ProviderMigrationSpec.model_validate(data), FakeSource(values), NOW).error is None


def test_infinite_p95_is_not_a_baseline() -> None:
    obs = capture_baseline(make_spec(), FakeSource({**SOURCE, "p95": float("inf")}), NOW)
    assert obs.baseline is None and "latencyP95" in (obs.error or "")
