"""`pmo simulate`'s engine: the real decide() and analysis over synthetic metrics, on every example manifest."""

from __future__ import annotations

import functools

import pytest

from example_manifests import EXAMPLES
from provider_migration.analysis.source import QueryFailed
from provider_migration.api.durations import seconds
from provider_migration.api.reasons import BlockedReason, EventReason, PauseReason, ProgressReason, RollbackReason
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.core.decide import MAX_WAIT
from provider_migration.simulation import SCENARIOS, Scenario, SimulationOptions, simulate, strategy_variants
from provider_migration.simulation.manifests import MigrationManifest, read_migrations
from provider_migration.simulation.metrics import SyntheticMetrics
from provider_migration.simulation.result import SimulationResult

EXAMPLE_MIGRATIONS = {m.name: m for path in sorted(EXAMPLES.glob("*.yaml")) for m in read_migrations(path)}
FAULTS = [s for s in Scenario if s != Scenario.SUCCESS]
QUALITY_QUERY = 'avg(feedback_score{backend="{{backend}}"})'
ANALYSIS = {
    "prometheus": {"url": "http://p:9090"},
    "interval": "1m",
    "rollbackOn": {"quality": {"query": QUALITY_QUERY}},
}
SLACK = MAX_WAIT + 1  # the controller wakes at most every MAX_WAIT seconds; rollback and bookkeeping add a second


def base_spec(**overrides: object) -> ProviderMigrationSpec:
    wire: dict[str, object] = {
        "route": {"kind": "ConfigMap", "name": "llm-gateway", "modelName": "chat"},
        "source": {
            "provider": "openai",
            "model": "gpt-4o",
            "backend": "openai-gpt-4o",
            "pricing": {"inputPerMillion": 2.5, "outputPerMillion": 10},
        },
        "target": {
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "backend": "anthropic-claude",
            "pricing": {"inputPerMillion": 3, "outputPerMillion": 15},
        },
        "strategy": {"type": "Phased", "steps": [{"weight": 10, "pause": "10m"}, {"weight": 50}, {"weight": 100}]},
        "analysis": ANALYSIS,
        "cleanup": {"stabilization": "1h"},
    }
    wire.update(overrides)
    return ProviderMigrationSpec.model_validate(wire)


@functools.cache
def run_example(name: str, scenario: Scenario) -> SimulationResult:
    m: MigrationManifest = EXAMPLE_MIGRATIONS[name]
    return simulate(m.spec, scenario, SimulationOptions(auto_approve=True), name=m.name, namespace=m.namespace)


def criterion_evaluated(spec: ProviderMigrationSpec, scenario: Scenario) -> bool:
    """Read off the spec the way a user would: is the criterion this fault breaks switched on and measurable?"""
    assert spec.analysis is not None
    rules = spec.analysis.rollback_on
    return {
        Scenario.ERROR_SPIKE: rules.error_rate.enabled,
        Scenario.LATENCY: rules.latency_p95.enabled,
        Scenario.COST: rules.cost.enabled and spec.source.pricing is not None and spec.target.pricing is not None,
        Scenario.QUALITY: rules.quality.enabled and bool(rules.quality.query),
    }[scenario]


def test_the_examples_are_all_simulated() -> None:
    assert len(EXAMPLE_MIGRATIONS) == len(list(EXAMPLES.glob("*.yaml"))) >= 5


@pytest.mark.parametrize("name", sorted(EXAMPLE_MIGRATIONS))
def test_success_walks_the_specs_weights_and_succeeds(name: str) -> None:
    spec = EXAMPLE_MIGRATIONS[name].spec
    result = run_example(name, Scenario.SUCCESS)
    assert result.final_phase == "Succeeded", result.stopped_because
    assert result.weights == [0, *[s.weight for s in spec.strategy.steps if s.weight is not None]]
    expected_splits = [
        "0%",
        *[f"mirror {s.mirror}%" if s.mirror else f"{s.weight}%" for s in spec.strategy.steps if s.approval is None],
    ]
    assert result.splits == expected_splits
    advanced = [row.step for row in result.timeline if row.reason == ProgressReason.STEP_ADVANCED]
    assert advanced == [i + 1 for i, s in enumerate(spec.strategy.steps) if s.approval is None]
    gates = sum(s.approval is not None for s in spec.strategy.steps)
    assert [row.reason for row in result.timeline].count(EventReason.APPROVED) == gates
    assert result.analyses.get("Fail", 0) == 0 and result.analyses.get("Pass", 0) > 0
    # Each step lasts its pause, and at least one analysis interval (it needs a Pass measured at that step);
    # then the stabilization window. A wake-up late at most, per step.
    interval = seconds(spec.analysis.interval) if spec.analysis else 0
    weighted = [s for s in spec.strategy.steps if s.approval is None]
    least = sum(max(seconds(s.pause) if s.pause else 0, interval) for s in weighted)
    least += seconds(spec.cleanup.stabilization)
    assert result.completed_after is not None
    assert least <= result.completed_after <= least + (len(weighted) + 2) * SLACK


@pytest.mark.parametrize("scenario", FAULTS, ids=str)
@pytest.mark.parametrize("name", sorted(EXAMPLE_MIGRATIONS))
def test_a_fault_rolls_back_with_its_reason_when_the_spec_measures_it(name: str, scenario: Scenario) -> None:
    spec = EXAMPLE_MIGRATIONS[name].spec
    assert spec.analysis is not None
    result = run_example(name, scenario)
    assert result.fault_started_after is not None
    if not criterion_evaluated(spec, scenario):
        assert result.final_phase == "Succeeded"
        criterion = SCENARIOS[scenario].criterion
        assert any(f"the {criterion} criterion is not evaluated" in n for n in result.notes), result.notes
        assert result.exposure.served > 0, "the fault went unnoticed while the target served traffic"
        return
    assert (result.final_phase, result.final_reason) == ("RolledBack", SCENARIOS[scenario].rollback_reason)
    assert result.splits[-1] == "0%"
    # Caught after failureLimit + 1 failed analyses, one interval apart.
    interval = seconds(spec.analysis.interval)
    breaches = spec.analysis.failure_limit + 1
    assert result.detection_time is not None
    assert breaches * interval <= result.detection_time <= breaches * interval + SLACK
    assert result.analyses["Fail"] == breaches


def test_without_analysis_a_fault_is_never_caught_and_the_output_says_so() -> None:
    spec = base_spec(analysis=None)
    result = simulate(spec, Scenario.ERROR_SPIKE)
    assert result.final_phase == "Succeeded" and result.analyses == {}
    assert any("never rolls back on metrics" in n for n in result.notes)
    # The faulty target took the 50 % step and then all traffic, until the end of the window.
    assert result.exposure.served > 0 and result.exposure.peak_weight == 100


def test_the_specs_threshold_decides_whether_a_fault_is_caught() -> None:
    loose = base_spec(analysis={**ANALYSIS, "rollbackOn": {"errorRate": {"above": 0.3}}})
    strict = base_spec(analysis={**ANALYSIS, "rollbackOn": {"errorRate": {"above": 0.1}}})
    assert simulate(loose, Scenario.ERROR_SPIKE, SimulationOptions(severity=0.2)).final_phase == "Succeeded"
    caught = simulate(strict, Scenario.ERROR_SPIKE, SimulationOptions(severity=0.2))
    assert (caught.final_phase, caught.final_reason) == ("RolledBack", RollbackReason.ERROR_RATE)
    tolerated = simulate(loose, Scenario.ERROR_SPIKE, SimulationOptions(severity=0.2))
    assert any("within 30.00%" in n for n in tolerated.notes), tolerated.notes


def test_exposure_is_the_faulty_share_of_traffic_until_the_route_is_restored() -> None:
    rps = 7.0
    result = simulate(base_spec(), Scenario.LATENCY, SimulationOptions(requests_per_second=rps))
    assert result.fault_step == 2 and result.weights == [0, 10, 50, 0]
    assert result.detection_time is not None and result.exposure.peak_weight == 50
    assert result.exposure.served == pytest.approx(rps * 0.5 * result.detection_time, rel=0.02)
    assert result.exposure.share == pytest.approx(0.5, abs=0.02)


def test_the_fault_step_is_configurable() -> None:
    result = simulate(base_spec(), Scenario.ERROR_SPIKE, SimulationOptions(fault_step=0))
    assert result.fault_step == 1 and result.weights == [0, 10, 0] and result.exposure.peak_weight == 10
    with pytest.raises(ValueError, match="not a step"):
        simulate(base_spec(), Scenario.ERROR_SPIKE, SimulationOptions(fault_step=3))


def test_an_approval_gate_stops_the_rehearsal_unless_auto_approved() -> None:
    steps = [{"weight": 10}, {"approval": {"message": "ask the team"}}, {"weight": 100}]
    spec = base_spec(strategy={"type": "Phased", "steps": steps})
    waiting = simulate(spec, Scenario.SUCCESS)
    assert waiting.final_phase == "AwaitingApproval" and "pmo approve" in waiting.stopped_because
    assert waiting.weights == [0, 10]
    approved = simulate(spec, Scenario.SUCCESS, SimulationOptions(auto_approve=True, approve_after=2 * 3600))
    assert approved.final_phase == "Succeeded" and approved.weights == [0, 10, 100]
    gate = next(r for r in approved.timeline if r.reason == "AwaitingApproval")
    passed = next(r for r in approved.timeline if r.reason == EventReason.APPROVED)
    assert 2 * 3600 <= passed.offset - gate.offset <= 2 * 3600 + SLACK


def test_too_little_traffic_pauses_on_inconclusive_analyses() -> None:
    spec = base_spec(analysis={**ANALYSIS, "minSamples": 100})
    result = simulate(spec, Scenario.SUCCESS, SimulationOptions(requests_per_second=1))
    assert (result.final_phase, result.final_reason) == ("Paused", PauseReason.ANALYSIS_INCONCLUSIVE)
    assert "requests-per-second" in result.stopped_because
    assert result.analyses == {"Inconclusive": spec.analysis.inconclusive_limit}  # type: ignore[union-attr]


def test_parallel_on_a_route_that_cannot_mirror_is_blocked_unless_assumed() -> None:
    spec = base_spec(strategy={"type": "Parallel", "steps": [{"mirror": 20, "pause": "5m"}, {"weight": 100}]})
    blocked = simulate(spec, Scenario.SUCCESS)
    assert (blocked.final_phase, blocked.final_reason) == (EventReason.BLOCKED, BlockedReason.MIRRORING_UNSUPPORTED)
    assumed = simulate(spec, Scenario.SUCCESS, SimulationOptions(assume_mirroring=True))
    assert assumed.final_phase == "Succeeded" and assumed.splits == ["0%", "mirror 20%", "100%"]
    assert any("cannot mirror" in n for n in assumed.notes)


def test_a_fault_during_mirroring_is_caught_before_users_see_it() -> None:
    spec = base_spec(
        route={"kind": "HTTPRoute", "name": "r", "modelName": "chat", "rule": "chat"},
        strategy={"type": "Parallel", "steps": [{"mirror": 60, "pause": "30m"}, {"weight": 100}]},
    )
    result = simulate(spec, Scenario.QUALITY)
    assert (result.final_phase, result.final_reason) == ("RolledBack", RollbackReason.QUALITY)
    assert result.fault_step == 1 and result.exposure.served == 0
    assert result.exposure.mirrored == pytest.approx(10 * 0.6 * 60, rel=0.05)  # 10 rps, 60 %, one interval


def test_strategy_variants() -> None:
    variants = strategy_variants(EXAMPLE_MIGRATIONS["support-bot-to-claude"].spec)
    assert [s.weight for s in variants["BigBang"].strategy.steps] == [100]
    phased = variants["Phased"].strategy.steps
    assert phased == EXAMPLE_MIGRATIONS["support-bot-to-claude"].spec.strategy.steps
    parallel = variants["Parallel"].strategy.steps
    assert parallel[0].mirror == 20 and parallel[1:] == phased
    # A BigBang spec gets a ladder to compare against; a Parallel one keeps its mirror pause.
    ladder = strategy_variants(EXAMPLE_MIGRATIONS["summaries-to-haiku"].spec)["Phased"].strategy.steps
    assert [s.weight for s in ladder] == [10, 50, 100]
    from_parallel = strategy_variants(EXAMPLE_MIGRATIONS["assistant-to-llama-70b"].spec)
    assert all(s.mirror is None for s in from_parallel["Phased"].strategy.steps)
    assert from_parallel["Parallel"].strategy.steps[0].pause == "2h"


def test_bigbang_exposes_more_requests_than_phased_to_the_same_fault() -> None:
    variants = strategy_variants(base_spec())
    options = SimulationOptions(assume_mirroring=True)
    results = {name: simulate(spec, Scenario.ERROR_SPIKE, options) for name, spec in variants.items()}
    assert {r.final_reason for r in results.values()} == {RollbackReason.ERROR_RATE}
    assert results["BigBang"].exposure.served > results["Phased"].exposure.served > 0
    assert results["BigBang"].full_traffic_after == pytest.approx(0, abs=1)


def test_synthetic_metrics_refuse_queries_they_do_not_know() -> None:
    with pytest.raises(QueryFailed, match="no synthetic series"):
        SyntheticMetrics({"up": 1.0}).query("sum(rate(other[1m]))")
    assert SyntheticMetrics({"up": 1.0}).query("up") == 1.0


@pytest.mark.parametrize("scenario", FAULTS, ids=str)
def test_default_severities_break_the_playbooks_default_thresholds(scenario: Scenario) -> None:
    result = simulate(base_spec(), scenario)
    assert result.final_reason == SCENARIOS[scenario].rollback_reason
    assert result.criteria == ["errorRate", "latencyP95", "cost", "quality"]
