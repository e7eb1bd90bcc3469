"""run_analysis: criteria of the TARGET arm over the interval, from measured values to an AnalysisStatus."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from analysis_fakes import FakeSource, spec_dict

from provider_migration.analysis import MAX_ANALYSIS_QUERIES, MetricsUnavailable, QueryFailed, run_analysis
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import BaselineStatus, ForecastStatus, Phase, ProviderMigrationStatus

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
QUALITY = 'avg_over_time(llm_quality_score{backend="{{backend}}"}[{{interval}}])'
HEALTHY = {
    "requests": 2.0,  # per second: 120 requests in the 1m window
    "error_rate": 0.01,
    "p95": 1.2,
    "spend_per_request": 0.0105,
    "quality": 0.88,
}


def make_spec(**analysis: Any) -> ProviderMigrationSpec:
    analysis.setdefault("rollbackOn", {"quality": {"query": QUALITY}})
    return ProviderMigrationSpec.model_validate(spec_dict(**analysis))


def make_status() -> ProviderMigrationStatus:
    return ProviderMigrationStatus(
        phase=Phase.PROGRESSING,
        current_step=1,
        current_weight=50,
        baseline=BaselineStatus(latency_p95=1.0, quality=0.9),
        forecast=ForecastStatus(target_cost_per_request=0.01),
    )


def analyse(values: dict[str, Any], spec: ProviderMigrationSpec | None = None, **kw: Any) -> tuple[Any, FakeSource]:
    source = FakeSource(values)
    result = run_analysis(spec or make_spec(), kw.get("status") or make_status(), source, NOW, namespace="support")
    return result, source


def by_name(result: Any) -> dict[str, Any]:
    return {c.name: c for c in result.criteria}


def test_healthy_target_passes_every_criterion() -> None:
    result, source = analyse(HEALTHY)
    assert (result.verdict, result.time, result.step, result.weight) == ("Pass", NOW, 1, 50)
    crit = by_name(result)
    assert list(crit) == ["errorRate", "latencyP95", "cost", "quality"]
    assert all(c.verdict == "Pass" and c.samples == 120 for c in crit.values())
    assert crit["latencyP95"].value == pytest.approx(1.2)
    assert crit["cost"].value == pytest.approx(0.05)
    assert crit["quality"].value == pytest.approx((0.9 - 0.88) / 0.9)
    # Every query is about the target arm over the interval; none about the source.
    assert len(source.asked) == 5
    assert all(("tgt-claude" in q or "claude-sonnet-4-5" in q) and "[1m]" in q for q in source.asked)
    assert not any("src-gpt" in q or "gpt-4o" in q for q in source.asked)
    assert crit["errorRate"].query in source.asked and crit["cost"].query in source.asked


def test_cost_query_prices_the_target_tokens() -> None:
    result, _ = analyse(HEALTHY)
    query = by_name(result)["cost"].query
    assert "* 3.0 + " in query and "* 15.0)" in query


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({"error_rate": 0.2}, "errorRate"),
        ({"p95": 2.5}, "latencyP95"),
        ({"spend_per_request": 0.0125}, "cost"),
        ({"quality": 0.7}, "quality"),
    ],
)
def test_one_breach_fails_the_analysis_with_that_criterion(change: dict[str, float], failing: str) -> None:
    result, _ = analyse({**HEALTHY, **change})
    assert result.verdict == "Fail"
    assert [c.name for c in result.criteria if c.verdict == "Fail"] == [failing]


def test_low_traffic_is_inconclusive_even_with_a_breach() -> None:
    result, _ = analyse({**HEALTHY, "requests": 0.1, "error_rate": 0.9})  # 6 requests < minSamples 10
    assert result.verdict == "Inconclusive"
    assert {c.verdict for c in result.criteria} == {"Inconclusive"}


def test_no_request_data_is_inconclusive() -> None:
    result, _ = analyse({**HEALTHY, "requests": None})
    assert result.verdict == "Inconclusive"
    assert all("no request data" in (c.message or "") for c in result.criteria)


def test_unreachable_prometheus_costs_one_query_and_is_inconclusive() -> None:
    down = MetricsUnavailable("Prometheus at http://prometheus.monitoring:9090 is unreachable: refused")
    source_values = dict.fromkeys(["requests", "error_rate", "p95", "spend_per_request", "quality"], down)
    result, source = analyse(source_values)
    assert result.verdict == "Inconclusive"
    assert len(source.asked) == 1
    assert all(c.verdict == "Inconclusive" and "unreachable" in (c.message or "") for c in result.criteria)
    assert all(c.query for c in result.criteria)  # the resolved query is still shown


def test_a_rejected_query_is_inconclusive_for_its_criterion_only() -> None:
    result, source = analyse({**HEALTHY, "p95": QueryFailed("Prometheus rejected the query: bad_data")})
    crit = by_name(result)
    assert crit["latencyP95"].verdict == "Inconclusive" and "rejected" in crit["latencyP95"].message
    assert result.verdict == "Inconclusive"
    assert len(source.asked) == 5
    assert [c.verdict for n, c in crit.items() if n != "latencyP95"] == ["Pass"] * 3


def test_missing_baseline_or_forecast_is_inconclusive() -> None:
    status = make_status().model_copy(update={"baseline": None, "forecast": None})
    result, _ = analyse(HEALTHY, status=status)
    crit = by_name(result)
    assert crit["errorRate"].verdict == "Pass"
    assert {crit[n].verdict for n in ("latencyP95", "cost", "quality")} == {"Inconclusive"}


def test_disabled_criteria_are_omitted_and_not_queried() -> None:
    spec = make_spec(rollbackOn={"errorRate": {"enabled": False}, "latencyP95": {"enabled": False}})
    result, source = analyse(HEALTHY, spec)
    assert [c.name for c in result.criteria] == ["cost"]  # no quality query: not evaluated
    assert len(source.asked) == 2  # requests + cost


def test_cost_is_left_out_without_pricing() -> None:
    data = spec_dict(rollbackOn={"quality": {"query": QUALITY}})
    del data["source"]["pricing"]
    result, _ = analyse(HEALTHY, ProviderMigrationSpec.model_validate(data))
    assert [c.name for c in result.criteria] == ["errorRate", "latencyP95", "quality"]


def test_custom_preset_renders_the_users_queries_with_placeholders() -> None:
    spec = make_spec(
        metrics="custom",
        queries={
            "requests": 'req{ns="{{namespace}}",b="{{backend}}"}',
            "errorRate": 'err{b="{{backend}}"}',
            "latencyP95": 'p95{m="{{model}}"}',
        },
        rollbackOn={},
        custom=[{"name": "ttft", "query": 'ttft{b="{{backend}}"}[{{interval}}]', "above": 0.5}],
    )
    values = {
        'req{ns="support",b="tgt-claude"}': 1.0,
        'err{b="tgt-claude"}': 0.0,
        'p95{m="claude-sonnet-4-5"}': 1.1,
        'ttft{b="tgt-claude"}[1m]': 0.7,
    }
    result, source = analyse(values, spec)
    assert sorted(source.asked) == sorted(values)
    # No token queries in the custom set: cost is not evaluated.
    assert [(c.name, c.verdict) for c in result.criteria] == [
        ("errorRate", "Pass"),
        ("latencyP95", "Pass"),
        ("ttft", "Fail"),
    ]


def test_unknown_placeholder_is_inconclusive_with_a_clear_message() -> None:
    spec = make_spec(custom=[{"name": "x", "query": 'x{b="{{backnd}}"}', "below": 1}])
    result, source = analyse(HEALTHY, spec)
    assert "backnd" in by_name(result)["x"].message
    assert len(source.asked) == 5


def test_queries_per_analysis_are_bounded() -> None:
    custom = [{"name": f"c{i}", "query": f"custom_{i}", "above": 1} for i in range(10)]
    result, source = analyse(HEALTHY, make_spec(custom=custom))
    assert len(result.criteria) == 14
    assert len(source.asked) == MAX_ANALYSIS_QUERIES == 15


def test_without_analysis_in_the_spec_there_is_nothing_to_run() -> None:
    data = spec_dict()
    del data["analysis"]
    with pytest.raises(ValueError, match=r"spec\.analysis"):
        run_analysis(ProviderMigrationSpec.model_validate(data), make_status(), FakeSource({}), NOW)
