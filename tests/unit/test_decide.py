"""Table-style tests of decide(): every phase transition, driven through a fake clock and route."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from rollout_world import BASELINE, T0, World, analysis, spec_from

from provider_migration.api.reasons import BlockedReason, EventReason, PauseReason, ProgressReason, RollbackReason
from provider_migration.api.status import EvaluationStatus, Phase, ProviderMigrationStatus
from provider_migration.core.actions import (
    DecommissionSourceCredentials,
    ProjectCredentials,
    RemoveSourceFromRoute,
    SetWeights,
)
from provider_migration.core.decide import decide
from provider_migration.core.observations import RouteState, SecretsState

ANALYSIS = {"prometheus": {"url": "http://prometheus:9090"}, "interval": "30s"}


def run_until(world: World, phase: Phase, limit: int = 2000, step: float = 5.0) -> None:
    for _ in range(limit):
        if world.status.phase == phase:
            return
        world.tick(step)
    raise AssertionError(f"never reached {phase}; at {world.status.phase} ({world.status.message})")


def reasons(world: World) -> list[str]:
    return [h.reason for h in world.status.history]


def test_phased_walks_each_step_once_and_succeeds() -> None:
    world = World(spec_from())
    run_until(world, Phase.SUCCEEDED)
    assert world.weights_seen == [10, 50, 100]
    steps = [(h.step, h.weight) for h in world.status.history if h.reason == ProgressReason.STEP_ADVANCED]
    assert steps == [(0, 10), (1, 50), (2, 100)]
    assert world.status.credentials.source_decommissioned and world.status.credentials.source_removed_from_route
    assert not world.route.source_present


def test_pause_is_respected_from_the_timestamp_in_status() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    started = world.status.step_started_at
    assert started is not None
    world.tick(50)
    assert world.status.current_step == 0, "advanced before the 1m pause elapsed"
    # A restarted operator knows nothing but the status: a fresh world with the same status resumes the pause.
    restarted = World(world.spec, now=world.now, status=world.status, route=world.route, secrets=world.secrets)
    restarted.tick(5)
    assert restarted.status.current_step == 0
    restarted.tick(10)
    assert restarted.status.current_step == 1
    assert restarted.status.step_started_at is not None and restarted.status.step_started_at - started >= timedelta(
        minutes=1
    )


def test_crash_between_routing_and_status_write_neither_repeats_nor_skips() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    world.tick(61)  # the step that moves 10 -> 50
    assert world.status.current_step == 1
    before = world.status
    # Replay that tick as if the status write was lost: route already at 50, status still at step 0.
    lost = World(world.spec, now=world.now, status=_status_at_step0(world), route=world.route, secrets=world.secrets)
    decision = lost.tick(1)
    assert decision.status.current_step == 1, "must adopt the step already routed, not skip past it"
    assert not any(isinstance(a, SetWeights) for a in decision.effects), "weights were already applied"
    assert before.current_weight == decision.status.current_weight == 50


def _status_at_step0(world: World):  # type: ignore[no-untyped-def]
    hist = [h for h in world.status.history if not (h.reason == ProgressReason.STEP_ADVANCED and h.step == 1)]
    return world.status.model_copy(
        update={
            "current_step": 0,
            "current_weight": 10,
            "step_started_at": world.now - timedelta(seconds=61),
            "history": hist,
        }
    )


def test_approval_gate_waits_for_approve_and_handles_each_request_once() -> None:
    spec = spec_from(strategy={"steps": [{"weight": 10}, {"approval": {}}, {"weight": 100}]})
    world = World(spec)
    run_until(world, Phase.AWAITING_APPROVAL)
    assert world.status.message == "Step 2/3 waits for `pmo approve`"  # 1-based, as kubectl get STEP shows 2
    assert world.status.to_wire()["step"] == 2
    world.run(600)
    assert world.status.phase == Phase.AWAITING_APPROVAL and world.route.target_weight == 10
    world.commands["approve"] = "req-1"
    world.tick(1)
    assert world.status.handled_commands.approve == "req-1"
    assert world.status.phase in (Phase.PROGRESSING, Phase.STABILIZING)
    assert world.route.target_weight == 100
    approved = [h.message for h in world.status.history if h.reason == EventReason.APPROVED]
    assert approved == ["Approval at step 2/3 given by request req-1"]


def test_abort_rolls_back_to_the_source_in_the_same_tick() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    world.tick(61)
    assert world.route.target_weight == 50
    world.commands["abort"] = "stop-now"
    decision = world.tick(1)
    assert SetWeights(source=100, target=0, mirror=0) in decision.effects
    assert world.route.target_weight == 0
    world.tick(1)
    assert world.status.phase == Phase.ROLLED_BACK and world.status.reason == RollbackReason.ABORTED
    assert world.status.rollback_reason is not None and "stop-now" in world.status.rollback_reason


def test_retry_after_rollback_starts_again_from_the_first_step() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    world.commands["abort"] = "a1"
    run_until(world, Phase.ROLLED_BACK)
    world.commands["retry"] = "r1"
    world.tick(1)
    assert world.status.phase == Phase.INITIALIZING and world.status.current_step == -1
    run_until(world, Phase.SUCCEEDED)
    assert world.weights_seen == [10, 0, 10, 50, 100]


@pytest.mark.parametrize(
    ("criterion", "reason"),
    [
        ("errorRate", RollbackReason.ERROR_RATE),
        ("latencyP95", RollbackReason.LATENCY),
        ("cost", RollbackReason.COST),
        ("quality", RollbackReason.QUALITY),
        ("p99", RollbackReason.CUSTOM_CRITERION),
    ],
)
def test_failed_analysis_rolls_back_naming_the_criterion(criterion: str, reason: str) -> None:
    world = World(spec_from(analysis=ANALYSIS))
    run_until(world, Phase.PROGRESSING)
    spec, status = world.spec, world.status
    decision = decide(
        spec, status, replace(world.observe(), analysis=analysis("Fail", world.now, criterion)), world.now
    )
    assert decision.status.phase == Phase.ROLLING_BACK
    assert decision.status.reason == reason
    # Intent first: the rollback is recorded before the route changes (a lost write must not undo it).
    assert decision.effects == []
    after = decide(spec, decision.status, world.observe(), world.now)
    assert SetWeights(source=100, target=0, mirror=0) in after.effects


def test_failure_limit_tolerates_that_many_breaches() -> None:
    world = World(spec_from(analysis={**ANALYSIS, "failureLimit": 1}))
    run_until(world, Phase.PROGRESSING)
    world.verdict = "Fail"
    world.tick(31)
    assert world.status.phase == Phase.PROGRESSING and world.status.failures == 1
    world.tick(31)
    assert world.status.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK)


def test_inconclusive_analysis_never_promotes_and_pauses_at_the_limit() -> None:
    world = World(spec_from(analysis=ANALYSIS))
    run_until(world, Phase.PROGRESSING)
    world.verdict = "Inconclusive"
    world.run(3600)
    assert world.weights_seen == [10], "an inconclusive analysis must never promote"
    assert world.status.phase == Phase.PAUSED and world.status.reason == PauseReason.ANALYSIS_INCONCLUSIVE
    world.verdict = "Pass"
    world.run(300)
    assert world.status.phase == Phase.PAUSED, "a paused migration waits for a human"
    world.commands["promote"] = "go"
    run_until(world, Phase.SUCCEEDED)
    assert world.weights_seen == [10, 50, 100]


def test_missing_secret_blocks_without_touching_the_route_and_resumes_when_it_appears() -> None:
    world = World(spec_from())
    world.secrets = SecretsState(missing=("Secret default/anthropic-key key api-key",))
    for _ in range(5):
        decision = world.tick(5)
        assert not any(isinstance(a, SetWeights | ProjectCredentials) for a in decision.effects)
    assert world.status.phase == Phase.BLOCKED and world.status.reason == BlockedReason.SECRET_NOT_FOUND
    assert "anthropic-key" in (world.status.message or "")
    blocked = [e for e in world.events_log if e.reason == EventReason.BLOCKED]
    assert len(blocked) == 1 and blocked[0].type == "Warning" and "anthropic-key" in blocked[0].message
    world.secrets = SecretsState(source_checksum="s", target_checksum="t")
    run_until(world, Phase.SUCCEEDED)


@pytest.mark.parametrize(
    ("route", "in_use", "reason"),
    [
        (RouteState(found=False), None, "RouteNotFound"),
        (RouteState(found=False, served=False, error="no httproutes"), None, "RouteKindNotServed"),
        (RouteState(found=True, error="config.yaml is not YAML"), None, "RouteInvalid"),
        (RouteState(found=True, source_present=False), None, "SourceNotInRoute"),
        (RouteState(found=True, source_present=True, source_weight=100), "default/other", "RouteInUse"),
    ],
)
def test_route_problems_block(route: RouteState, in_use: str | None, reason: str) -> None:
    world = World(spec_from(), route=route)
    decision = decide(world.spec, world.status, replace(world.observe(), route_in_use_by=in_use), world.now)
    decision = decide(world.spec, decision.status, replace(world.observe(), route_in_use_by=in_use), world.now)
    assert decision.status.phase == Phase.BLOCKED and decision.status.reason == reason
    assert not any(isinstance(a, SetWeights) for a in decision.effects)


def test_parallel_needs_a_route_that_can_mirror() -> None:
    spec = spec_from(strategy={"type": "Parallel", "steps": [{"mirror": 20, "pause": "1m"}, {"weight": 100}]})
    world = World(spec, route=RouteState(found=True, source_present=True, source_weight=100, supports_mirroring=False))
    world.run(30)
    assert world.status.reason == BlockedReason.MIRRORING_UNSUPPORTED and world.weights_seen == []
    world = World(spec)
    world.run(20)
    assert world.route.mirror_percent == 20 and world.route.target_weight == 0
    assert world.secrets.target_projected, "mirrored requests need the target key too"
    run_until(world, Phase.SUCCEEDED)
    assert world.route.mirror_percent == 0 and world.weights_seen == [0, 100]


def test_bigbang_goes_straight_to_full_traffic() -> None:
    world = World(spec_from(strategy={"type": "BigBang", "steps": [{"weight": 100}]}))
    run_until(world, Phase.STABILIZING)
    assert world.weights_seen == [100]


def test_spec_paused_holds_and_resumes() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    world.spec = world.spec.model_copy(update={"paused": True})
    world.run(600)
    assert world.status.phase == Phase.PAUSED and world.route.target_weight == 10
    assert world.status.pause_reason == PauseReason.BY_SPEC == world.status.reason
    world.spec = world.spec.model_copy(update={"paused": False})
    run_until(world, Phase.SUCCEEDED)
    assert world.status.pause_reason is None


def test_a_pause_written_before_status_pause_reason_existed_still_resumes_by_spec() -> None:
    world = World(spec_from(paused=True))
    run_until(world, Phase.PAUSED)
    wire = world.status.to_wire()
    del wire["pauseReason"]  # as an older operator version wrote it
    world.status = ProviderMigrationStatus.model_validate(wire)
    assert world.status.pause_reason == PauseReason.BY_SPEC
    world.commands["promote"] = "req-1"
    world.tick(5)
    assert world.status.phase == Phase.PAUSED, "promote does not end a pause set in spec"
    world.spec = world.spec.model_copy(update={"paused": False})
    run_until(world, Phase.SUCCEEDED)


def test_drifted_weights_are_restored_with_an_event() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    world.route = replace(world.route, source_weight=100, target_weight=0)  # e.g. a GitOps sync
    decision = world.tick(1)
    assert SetWeights(source=90, target=10, mirror=0) in decision.effects
    assert any(e.reason == EventReason.WEIGHTS_RESTORED for e in decision.events)


def test_baseline_unavailable_blocks_then_proceeds() -> None:
    world = World(spec_from(analysis=ANALYSIS), baseline_error="Prometheus unreachable")
    world.run(30)
    assert world.status.phase == Phase.BLOCKED and world.status.reason == BlockedReason.BASELINE_UNAVAILABLE
    assert world.weights_seen == []
    world.baseline_error = None
    world.run(30)
    assert world.status.baseline == BASELINE and world.status.forecast is not None
    assert world.status.forecast.target_cost_per_request == pytest.approx((500 * 3 + 200 * 15) / 1e6)


def test_failed_evaluation_blocks_before_any_traffic() -> None:
    spec = spec_from(evaluation={"dataset": {"configMap": "golden"}})
    world = World(spec)
    world.run(20)
    assert world.status.phase == Phase.EVALUATING
    verdict = EvaluationStatus(verdict="Fail", completed_at=world.now, message="target pass rate 0.40 < 0.81")
    decision = decide(spec, world.status, replace(world.observe(), evaluation=verdict), world.now)
    assert decision.status.phase == Phase.BLOCKED and decision.status.reason == BlockedReason.EVALUATION_FAILED
    assert not any(isinstance(a, SetWeights) for a in decision.effects)


def test_credentials_are_projected_before_the_target_gets_traffic() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    kinds = [type(a) for a in world.effects_log]
    assert kinds.index(ProjectCredentials) < kinds.index(SetWeights)


def test_cleanup_respects_its_switches() -> None:
    world = World(
        spec_from(
            cleanup={"stabilization": "1m", "decommissionSourceCredentials": False, "removeSourceFromRoute": False}
        )
    )
    run_until(world, Phase.SUCCEEDED)
    assert not any(isinstance(a, DecommissionSourceCredentials | RemoveSourceFromRoute) for a in world.effects_log)


def test_stabilization_window_is_waited_out() -> None:
    world = World(spec_from())
    run_until(world, Phase.STABILIZING)
    entered = world.now
    run_until(world, Phase.SUCCEEDED)
    assert world.now - entered >= timedelta(minutes=10)


def test_idle_ticks_change_nothing_so_nothing_is_written() -> None:
    world = World(spec_from(strategy={"steps": [{"weight": 10, "pause": "1h"}, {"weight": 100}]}))
    run_until(world, Phase.PROGRESSING)
    world.tick(1)
    before = world.status
    decision = world.tick(5)
    assert decision.status == before and decision.effects == [] and decision.events == []


def test_conditions_follow_api_conventions() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    conds = {c.type: c for c in world.status.conditions}
    assert conds["Progressing"].status == "True" and conds["Ready"].status == "False"
    since = conds["Progressing"].last_transition_time
    world.tick(61)
    assert {c.type: c for c in world.status.conditions}["Progressing"].last_transition_time == since
    world.commands["abort"] = "x"
    run_until(world, Phase.ROLLED_BACK)
    conds = {c.type: c for c in world.status.conditions}
    assert conds["Degraded"].status == "True" and conds["Degraded"].reason == RollbackReason.ABORTED
    assert all(c.observed_generation == 1 for c in conds.values())


def test_rotated_target_key_is_projected_again() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    world.secrets = replace(world.secrets, target_checksum="t2", target_projected=False)
    decision = world.tick(1)
    assert ProjectCredentials() in decision.effects
    assert world.status.credentials.target_checksum == "t2"


def test_terminal_phases_requeue_never() -> None:
    world = World(spec_from(), now=T0)
    run_until(world, Phase.SUCCEEDED)
    assert world.tick(1).requeue_after is None


def test_decide_never_mutates_the_status_it_was_given() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    before = world.status.model_copy(deep=True)
    world.commands["abort"] = "x"
    decide(world.spec, world.status, world.observe(), world.now + timedelta(seconds=90))
    assert world.status == before


def test_a_pass_measured_before_prometheus_went_away_never_promotes() -> None:
    # The pause (45s) ends between two scheduled analyses (every 30s): the last Pass is 14s old by then.
    steps = [{"weight": 10, "pause": "45s"}, {"weight": 50}, {"weight": 100}]
    world = World(spec_from(analysis=ANALYSIS, strategy={"steps": steps}))
    run_until(world, Phase.PROGRESSING)
    world.tick(31)
    assert world.status.last_analysis is not None and world.status.last_analysis.verdict == "Pass"
    world.verdict = "Inconclusive"  # Prometheus is gone from now on
    world.run(600)
    assert world.weights_seen == [10], "promoted on a measurement older than the outage"
    assert world.status.phase == Phase.PAUSED and world.status.reason == PauseReason.ANALYSIS_INCONCLUSIVE
