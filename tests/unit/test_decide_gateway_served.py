"""A gateway that says what it serves (LiteLLM's /v1/model/info): a step starts when it is served, analyses of
the old split are not counted, and a source key other entries still read is never decommissioned."""

from __future__ import annotations

from dataclasses import replace

from rollout_world import World, spec_from

from provider_migration.api.reasons import EventReason
from provider_migration.api.status import Phase


def until(world: World, phase: Phase, limit: int = 400) -> None:
    for _ in range(limit):
        if world.status.phase == phase:
            return
        world.tick(5)
    raise AssertionError(f"never reached {phase}, at {world.status.phase}")


def test_a_written_step_waits_for_the_gateway_and_its_pause_starts_when_served() -> None:
    world = World(spec_from())
    world.verdict = "Inconclusive"
    until(world, Phase.PROGRESSING)
    assert world.route.target_weight == 10
    world.route = replace(world.route, unverified="waiting for the roll")
    for _ in range(30):  # 150 s of a slow roll: inconclusive analyses of the old split are not counted
        world.tick(5)
        assert world.status.phase == Phase.PROGRESSING and world.status.current_step == 0
        assert not any(e.reason == EventReason.WEIGHTS_RESTORED for e in world.events_log), "not drift"
    assert world.status.inconclusives == 0
    served_at = world.now
    world.route = replace(world.route, unverified=None)
    world.verdict = "Pass"
    world.tick(5)
    assert world.status.step_started_at is not None and world.status.step_started_at >= served_at
    assert world.status.current_step == 0, "the 1m pause counts from when the gateway served the step"


def test_a_source_key_read_by_other_entries_is_kept() -> None:
    world = World(spec_from())
    world.route = replace(world.route, source_key_shared=True)
    until(world, Phase.SUCCEEDED)
    assert not world.status.credentials.source_decommissioned
    assert any(e.reason == EventReason.CREDENTIALS_KEPT for e in world.events_log)
