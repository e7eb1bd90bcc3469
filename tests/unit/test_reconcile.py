"""The tick's own guarantees (controller/reconcile.py), over the in-memory ports: what is written, when Events
go out, what a lost compare-and-swap and a failed effect leave behind."""

from __future__ import annotations

import re
import traceback
from typing import Any

import pytest
from kubernetes.client import ApiException
from rollout_world import NAME, NAMESPACE, World, spec_from

from provider_migration.api.reasons import EventReason
from provider_migration.api.status import Phase
from provider_migration.controller.memory import MemoryMigrationStore, MemoryRoute, MemorySecrets
from provider_migration.controller.reconcile import ActionFailed
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


def test_a_failed_effect_is_reported_by_kind_and_status_never_by_its_text() -> None:
    class LeakySecrets(MemorySecrets):
        def project_target(self) -> None:
            raise ApiException(status=500, reason=f"Internal error writing data {SECRET}")

    world = World(spec_from())
    world.secrets_port = LeakySecrets(world.secrets)
    writes = world.store.status_writes
    with pytest.raises(ActionFailed) as failed:
        world.tick(0)
    assert str(failed.value) == "ProjectCredentials failed: HTTP 500"
    logged = "".join(traceback.format_exception(failed.value))  # what log.exception would print
    assert SECRET not in logged and "ApiException" not in logged
    assert world.store.status_writes == writes and world.events_log == [], "nothing recorded, nothing posted"


def test_a_failed_route_write_keeps_the_adapters_own_words() -> None:
    class StuckRoute(MemoryRoute):
        def apply_weights(self, source: int, target: int, mirror: int) -> None:
            raise RouteError("ConfigMap llm-gateway: config.yaml has no model_list")

    world = World(spec_from())
    world.route_port = StuckRoute(world.route)
    words = "SetWeights failed: ConfigMap llm-gateway: config.yaml has no model_list"
    with pytest.raises(ActionFailed, match=re.escape(words)):
        world.tick(0)
    assert world.status.phase == Phase.PENDING


def test_an_exception_without_a_status_is_named_by_its_type() -> None:
    class BrokenSecrets(MemorySecrets):
        def project_target(self) -> None:
            raise ValueError(f"bad value {SECRET}")

    world = World(spec_from())
    world.secrets_port = BrokenSecrets(world.secrets)
    with pytest.raises(ActionFailed) as failed:
        world.tick(0)
    assert str(failed.value) == "ProjectCredentials failed: ValueError"
