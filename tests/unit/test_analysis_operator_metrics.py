"""The operator's own metrics (controller/metrics.py) on a private registry."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from provider_migration.analysis import overall_verdict
from provider_migration.api.status import (
    AnalysisStatus,
    BaselineStatus,
    CriterionResult,
    Phase,
    ProviderMigrationStatus,
)
from provider_migration.controller import metrics as module
from provider_migration.controller.metrics import OperatorMetrics


def fresh() -> tuple[OperatorMetrics, CollectorRegistry]:
    registry = CollectorRegistry()
    return OperatorMetrics(registry), registry


def test_status_sets_weight_and_exactly_one_current_phase() -> None:
    m, reg = fresh()
    m.record_status("support", "bot", ProviderMigrationStatus(phase=Phase.PROGRESSING, current_weight=10))
    m.record_status("support", "bot", ProviderMigrationStatus(phase=Phase.PAUSED, current_weight=50))
    labels = {"namespace": "support", "name": "bot"}
    assert reg.get_sample_value("pmo_migration_target_weight", labels) == 50
    phases = {p.value: reg.get_sample_value("pmo_migration_phase", {**labels, "phase": p.value}) for p in Phase}
    assert phases.pop("Paused") == 1
    assert set(phases.values()) == {0}


def analysis_at(minute: int, *results: CriterionResult) -> AnalysisStatus:
    time = datetime(2026, 11, 26, 12, minute, tzinfo=UTC)
    return AnalysisStatus(time=time, verdict=overall_verdict(results), criteria=list(results))


def test_analysis_counts_criteria_and_runs_by_verdict_once_per_analysis() -> None:
    m, reg = fresh()
    first = analysis_at(
        0,
        CriterionResult(name="errorRate", verdict="Fail", value=0.2),
        CriterionResult(name="cost", verdict="Pass", value=0.01),
    )
    m.record_analysis("support", "bot", first)
    m.record_analysis("support", "bot", first)  # the same analysis again: not counted twice
    m.record_analysis("support", "bot", analysis_at(1, CriterionResult(name="errorRate", verdict="Fail", value=0.3)))
    base = {"namespace": "support", "name": "bot"}
    assert reg.get_sample_value("pmo_analysis_total", {**base, "criterion": "errorRate", "verdict": "Fail"}) == 2
    assert reg.get_sample_value("pmo_analysis_total", {**base, "criterion": "cost", "verdict": "Pass"}) == 1
    assert reg.get_sample_value("pmo_analysis_runs_total", {**base, "verdict": "Fail"}) == 2


def test_analysis_values_follow_the_last_analysis_and_vanish_without_a_value() -> None:
    m, reg = fresh()
    base = {"namespace": "support", "name": "bot"}
    m.record_analysis(
        "support",
        "bot",
        analysis_at(
            0,
            CriterionResult(name="errorRate", verdict="Pass", value=0.01),
            CriterionResult(name="latencyP95", verdict="Pass", value=1.3),
        ),
    )
    assert reg.get_sample_value("pmo_analysis_value", {**base, "criterion": "latencyP95"}) == 1.3
    m.record_analysis(
        "support",
        "bot",
        analysis_at(
            1,
            CriterionResult(name="errorRate", verdict="Fail", value=0.2),
            CriterionResult(name="latencyP95", verdict="Inconclusive"),
        ),
    )
    assert reg.get_sample_value("pmo_analysis_value", {**base, "criterion": "errorRate"}) == 0.2
    assert reg.get_sample_value("pmo_analysis_value", {**base, "criterion": "latencyP95"}) is None


def test_status_records_baseline_error_rate_and_its_last_analysis() -> None:
    m, reg = fresh()
    base = {"namespace": "support", "name": "bot"}
    status = ProviderMigrationStatus(
        phase=Phase.STABILIZING,
        current_weight=100,
        baseline=BaselineStatus(error_rate=0.02),
        last_analysis=analysis_at(0, CriterionResult(name="errorRate", verdict="Pass", value=0.03)),
    )
    for _ in range(3):  # the controller records status after every tick
        m.record_status("support", "bot", status)
    assert reg.get_sample_value("pmo_baseline_error_rate", base) == 0.02
    assert reg.get_sample_value("pmo_analysis_value", {**base, "criterion": "errorRate"}) == 0.03
    assert reg.get_sample_value("pmo_analysis_runs_total", {**base, "verdict": "Pass"}) == 1
    m.record_status("support", "bot", status.model_copy(update={"baseline": None}))
    assert reg.get_sample_value("pmo_baseline_error_rate", base) is None


def test_rollbacks_by_short_reason() -> None:
    m, reg = fresh()
    m.record_rollback("support", "bot", "ErrorRate")
    m.record_rollback("support", "bot", "x" * 500)
    assert reg.get_sample_value("pmo_rollbacks_total", {"namespace": "support", "name": "bot", "reason": "ErrorRate"})
    assert reg.get_sample_value("pmo_rollbacks_total", {"namespace": "support", "name": "bot", "reason": "x" * 63})


def test_reconcile_timing_stamps_the_last_tick_even_when_it_raises() -> None:
    m, reg = fresh()
    try:
        with m.time_reconcile():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    m.record_error("support", "bot")
    assert reg.get_sample_value("pmo_reconcile_duration_seconds_count") == 1
    assert (reg.get_sample_value("pmo_last_tick_timestamp_seconds") or 0) > 1.7e9
    assert reg.get_sample_value("pmo_reconcile_errors_total", {"namespace": "support", "name": "bot"}) == 1
    with m.time_analysis():
        pass
    assert reg.get_sample_value("pmo_analysis_duration_seconds_count") == 1


def test_forget_drops_only_that_migrations_series() -> None:
    m, reg = fresh()
    for name in ("a", "b"):
        m.record_status("ns", name, ProviderMigrationStatus(phase=Phase.PROGRESSING, current_weight=10))
        m.record_rollback("ns", name, "Latency")
    m.forget("ns", "a")
    assert reg.get_sample_value("pmo_migration_target_weight", {"namespace": "ns", "name": "a"}) is None
    assert reg.get_sample_value("pmo_rollbacks_total", {"namespace": "ns", "name": "a", "reason": "Latency"}) is None
    assert reg.get_sample_value("pmo_migration_target_weight", {"namespace": "ns", "name": "b"}) == 10


def test_module_functions_record_on_the_default_registry() -> None:
    from prometheus_client import REGISTRY

    labels = {"namespace": "unit-test", "name": "defaults"}
    module.record_status("unit-test", "defaults", ProviderMigrationStatus(current_weight=42))
    assert REGISTRY.get_sample_value("pmo_migration_target_weight", labels) == 42
    module.DEFAULT.forget("unit-test", "defaults")
    assert REGISTRY.get_sample_value("pmo_migration_target_weight", labels) is None
