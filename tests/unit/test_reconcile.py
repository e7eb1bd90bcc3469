"""The tick's own guarantees (controller/reconcile.py), over the in-memory ports: what is written, when Events
go out, what a lost compare-and-swap and a failed effect leave behind."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from kubernetes.client import ApiException
from rollout_world import NAME, NAMESPACE, World, spec_from

from provider_migration.api.reasons import BlockedReason, EventReason
from provider_migration.api.status import EvaluationStatus, Phase
from provider_migration.controller.memory import MemoryMigrationStore, MemoryRoute, MemorySecrets
from provider_migration.routing.errors import RouteError

SECRET = "sk-live-0123456789abcdef"


class RacingStore(MemoryMigrationStore):
    """Someone else writes the object between every read and our status write."""

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        body = super().get(namespace, name)
        self.touch(namespace, name)
        return body


def at_pause(world: World) -> World:
    for _ in range(50):
        world.tick(5)
        if world.status.phase == Phase.PROGRESSING:
            return world
    raise AssertionError(world.status)


def test_an_unchanged_status_is_not_written() -> None:
    world = at_pause(World(spec_from(strategy={"steps": [{"weight": 10, "pause": "1h"}, {"weight": 100}]})))
    world.tick(1)
    writes, version = world.store.status_writes, world.store.body(NAMESPACE, NAME)["metadata"]["resourceVersion"]
    for _ in range(10):
        world.tick(5)
    assert world.store.status_writes == writes
    assert world.store.body(NAMESPACE, NAME)["metadata"]["resourceVersion"] == version


def test_events_are_posted_only_with_the_status_write_that_records_them() -> None:
    world = World(spec_from())
    writes = world.store.status_writes
    decision = world.tick(0)
    assert decision.events and world.events_log == decision.events
    assert world.store.status_writes == writes + 1
    assert world.status == decision.status.model_copy(update={"step": 1}), "what was posted is what is stored"


def test_a_lost_compare_and_swap_posts_nothing_and_decides_again_soon() -> None:
    world = at_pause(World(spec_from()))
    world.commands["abort"] = "stop-now"
    world.ports.migrations = RacingStore(objects=world.store.objects)
    before, posted_before = world.status, len(world.events_log)

    decision = world.tick(1)

    assert world.last is not None and decision.events, "the tick had Events to post"
    assert world.last.events == [], "unrecorded: the next tick would post them again"
    assert len(world.events_log) == posted_before
    assert world.last.requeue_after is not None and world.last.requeue_after <= 1.0
    assert world.status == before and world.route.target_weight == 0, "only the idempotent effect happened"
    world.ports.migrations = world.store  # the race is over: the next tick decides again and records it
    world.tick(world.last.requeue_after)
    posted = [e.reason for e in world.events_log[posted_before:]]
    assert world.status.phase == Phase.ROLLED_BACK and world.status.handled_commands.abort == "stop-now"
    assert posted.count(EventReason.ROLLING_BACK) == 1 and posted.count(EventReason.ROLLED_BACK) == 1


def test_a_failed_effect_is_reported_by_kind_and_status_never_by_its_text(caplog: pytest.LogCaptureFixture) -> None:
    class LeakySecrets(MemorySecrets):
        def project_target(self) -> None:
            raise ApiException(status=500, reason=f"Internal error writing data {SECRET}")

    world = World(spec_from())
    world.secrets_port = LeakySecrets(world.secrets)
    writes = world.store.status_writes
    world.tick(0)
    assert world.last is not None and world.last.failure == "ProjectCredentials failed: HTTP 500"
    stored = repr(world.store.body(NAMESPACE, NAME).get("status"))
    assert SECRET not in stored and SECRET not in caplog.text and "ApiException" not in caplog.text
    assert world.store.status_writes == writes + 1, "only the failure is recorded (for the backoff)"
    assert world.status.phase == Phase.PENDING and world.events_log == [], "the decision is not recorded"


def test_a_failed_route_write_keeps_the_adapters_own_words() -> None:
    class StuckRoute(MemoryRoute):
        def apply_weights(self, source: int, target: int, mirror: int) -> None:
            raise RouteError("ConfigMap llm-gateway: config.yaml has no model_list")

    world = World(spec_from())
    world.route_port = StuckRoute(world.route)
    world.tick(0)
    assert world.last is not None
    assert world.last.failure == "SetWeights failed: ConfigMap llm-gateway: config.yaml has no model_list"
    assert world.status.phase == Phase.PENDING


def test_an_exception_without_a_status_is_named_by_its_type() -> None:
    class BrokenSecrets(MemorySecrets):
        def project_target(self) -> None:
            raise ValueError(f"bad value {SECRET}")

    world = World(spec_from())
    world.secrets_port = BrokenSecrets(world.secrets)
    world.tick(0)
    assert world.last is not None and world.last.failure == "ProjectCredentials failed: ValueError"


class FlakyRoute(MemoryRoute):
    """A route whose writes fail (a 403 on the ConfigMap) while `broken`; counts every try."""

    broken = True
    tries = 0

    def apply_weights(self, source: int, target: int, mirror: int) -> None:
        FlakyRoute.tries += 1
        if FlakyRoute.broken:
            raise ApiException(status=403, reason="Forbidden")
        super().apply_weights(source, target, mirror)


def test_a_change_that_keeps_failing_backs_off_and_becomes_a_condition_an_event_and_the_message() -> None:
    world = World(spec_from())
    FlakyRoute.broken, FlakyRoute.tries = True, 0
    world.route_port = FlakyRoute(world.route)
    waits = []
    for _ in range(60):  # a 5 s driver loop would try 60 times in these 5 minutes
        world.tick(5)
        assert world.last is not None and world.last.requeue_after is not None
        if world.last.failure is not None:
            waits.append(world.last.requeue_after)
    assert FlakyRoute.tries == len(waits) <= 7, "tries back off instead of a 5 s loop"
    assert waits == sorted(waits) and waits[:4] == [5.0, 10.0, 20.0, 40.0]
    st = world.status
    assert st.action_failure is not None and st.action_failure.count == len(waits)
    assert st.message is not None and st.message.startswith("SetWeights failed: HTTP 403")
    failing = [x for x in st.conditions if x.type == "ActionFailing"]
    assert failing and failing[0].status == "True" and "HTTP 403" in failing[0].message
    warnings = [e for e in world.events_log if e.reason == EventReason.ACTION_FAILED]
    assert len(warnings) == 1 and warnings[0].type == "Warning" and "HTTP 403" in warnings[0].message

    FlakyRoute.broken = False
    world.tick(st.action_failure.next_try_at.timestamp() - world.now.timestamp())
    st = world.status
    assert st.action_failure is None and not [x for x in st.conditions if x.type == "ActionFailing"]
    assert st.phase == Phase.PROGRESSING and st.current_weight == 10
    assert st.message is not None and "failed" not in st.message


def test_the_backoff_survives_a_restart_and_a_command_cuts_it_short() -> None:
    world = World(spec_from())
    FlakyRoute.broken, FlakyRoute.tries = True, 0
    world.route_port = FlakyRoute(world.route)
    for _ in range(4):
        world.tick(world.last.requeue_after if world.last and world.last.requeue_after else 0)
    assert FlakyRoute.tries == 4
    # A restarted operator ticks at once: the next try time is in status, so it waits.
    world.tick(1)
    assert FlakyRoute.tries == 4 and world.last is not None and world.last.requeue_after is not None
    assert 30 < world.last.requeue_after <= 40
    world.commands["abort"] = "stop"  # a command is new input: decided now, not after the backoff
    world.tick(1)
    assert world.status.phase == Phase.ROLLED_BACK, "no target traffic yet: nothing to write, so it succeeds"
    assert world.status.action_failure is None and FlakyRoute.tries == 4


EVALUATED = {"dataset": {"configMap": "golden"}}


class CountingEvaluation:
    """A golden-set port that checks the run is recorded before it is called, and fails as told."""

    def __init__(self, world: World, fail: bool) -> None:
        self.world, self.fail, self.calls = world, fail, 0

    def evaluate(self, namespace: str, name: str, spec: Any, now: Any) -> EvaluationStatus:
        self.calls += 1
        assert self.world.store.body(NAMESPACE, NAME)["status"].get("evaluationRun"), "recorded before it runs"
        if self.fail:
            raise ConnectionError("the provider hung up mid-run")
        return EvaluationStatus(verdict="Pass", completed_at=now, message="passed")


def test_a_golden_set_run_that_records_no_outcome_is_never_run_again_by_itself() -> None:
    world = World(spec_from(evaluation=EVALUATED))
    port = CountingEvaluation(world, fail=True)
    world.ports.evaluation = port
    for _ in range(30):
        with contextlib.suppress(ConnectionError):  # the driver logs it and retries
            world.tick(5)
    assert port.calls == 1, "paid requests go out once, not every 5 s"
    st = world.status
    assert st.phase == Phase.BLOCKED and st.reason == BlockedReason.EVALUATION_INTERRUPTED
    assert st.message is not None and "pmo retry" in st.message

    port.fail = False
    world.commands["retry"] = "again"  # a command runs it again, once
    for _ in range(10):
        world.tick(5)
    assert port.calls == 2 and world.status.evaluation is not None
    assert world.status.phase in (Phase.PROGRESSING, Phase.SUCCEEDED)


def test_a_spec_edit_may_run_the_golden_set_again() -> None:
    world = World(spec_from(evaluation=EVALUATED))
    port = CountingEvaluation(world, fail=True)
    world.ports.evaluation = port
    for _ in range(5):
        with contextlib.suppress(ConnectionError):
            world.tick(5)
    assert port.calls == 1 and world.status.phase == Phase.BLOCKED
    port.fail = False
    world.generation += 1
    for _ in range(5):
        world.tick(5)
    assert port.calls == 2 and world.status.evaluation is not None


class CountingAnalysis:
    def __init__(self, world: World) -> None:
        self.world, self.calls, self.baselines = world, 0, 0

    def baseline(self, *args: Any) -> Any:
        self.baselines += 1
        return self.world.baseline(*args)

    def analyze(self, *args: Any) -> Any:
        self.calls += 1
        assert self.world.status.baseline is not None, "judged only against a captured baseline"
        return self.world.analyze(*args)


ANALYSIS = {"prometheus": {"url": "http://prometheus:9090"}, "interval": "30s"}


def test_an_abort_is_decided_before_a_due_analysis_is_queried() -> None:
    world = at_pause(World(spec_from(analysis=ANALYSIS)))
    port = CountingAnalysis(world)
    world.ports.analysis = port
    world.commands["abort"] = "stop"
    world.tick(120)  # an analysis is due
    assert port.calls == 0 and world.status.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK)


def test_an_analysis_added_mid_rollout_captures_its_baseline_before_judging() -> None:
    world = at_pause(World(spec_from(strategy={"steps": [{"weight": 10, "pause": "5m"}, {"weight": 100}]})))
    assert world.status.baseline is None
    port = CountingAnalysis(world)
    world.ports.analysis = port
    world.spec = spec_from(strategy={"steps": [{"weight": 10, "pause": "5m"}, {"weight": 100}]}, analysis=ANALYSIS)
    world.generation += 1
    for _ in range(20):
        world.tick(15)
    assert world.status.baseline is not None and port.baselines == 1
    assert port.calls > 0 and world.status.last_analysis is not None
    assert world.status.phase in (Phase.PROGRESSING, Phase.STABILIZING), world.status.message
