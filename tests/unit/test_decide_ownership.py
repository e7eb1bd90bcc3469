"""decide() and what the operator owns in the gateway Secret and the routing object: a key it did not project
blocks, one it projected (or a target entry it added) is withdrawn on rollback, one that was there before stays, a
source key holding something else is kept."""

from __future__ import annotations

from dataclasses import replace

from rollout_world import World, spec_from

from provider_migration.api.status import Phase
from provider_migration.core.actions import (
    DecommissionSourceCredentials,
    ProjectCredentials,
    RemoveTargetFromRoute,
    WithdrawTargetCredentials,
)


def run_until(world: World, phase: Phase, limit: int = 500) -> None:
    for _ in range(limit):
        if world.status.phase == phase:
            return
        world.tick(5)
    raise AssertionError(f"never reached {phase}: {world.status.phase} {world.status.message}")


def test_a_conflicting_gateway_key_blocks_before_anything_is_projected() -> None:
    world = World(spec_from())
    world.secrets = replace(world.secrets, target_key_conflict="Secret t/gw key ANTHROPIC_API_KEY holds another value")
    world.tick()
    world.tick()
    assert (world.status.phase, world.status.reason) == (Phase.BLOCKED, "GatewayKeyConflict")
    assert not any(isinstance(e, ProjectCredentials) for e in world.effects_log)
    assert world.weights_seen == []


def test_an_abort_withdraws_the_projected_key_once_traffic_is_back() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    assert world.status.credentials.target_projected
    world.commands["abort"] = "req-1"
    run_until(world, Phase.ROLLED_BACK)
    withdrawals = [e for e in world.effects_log if isinstance(e, WithdrawTargetCredentials)]
    assert len(withdrawals) == 1 and not world.status.credentials.target_projected
    assert world.route.target_weight == 0 and not world.secrets.target_projected
    assert "CredentialsWithdrawn" in [e.reason for e in world.events_log]
    world.run(60)
    assert len([e for e in world.effects_log if isinstance(e, WithdrawTargetCredentials)]) == 1  # once


def test_a_key_that_held_the_target_before_the_migration_is_never_withdrawn() -> None:
    world = World(spec_from())
    world.secrets = replace(world.secrets, target_projected=True, target_key_existed=True)
    run_until(world, Phase.PROGRESSING)
    assert world.status.credentials.target_key_existed
    world.commands["abort"] = "req-1"
    run_until(world, Phase.ROLLED_BACK)
    assert not any(isinstance(e, WithdrawTargetCredentials) for e in world.effects_log)


def test_a_source_gateway_key_holding_something_else_is_kept_at_cleanup() -> None:
    world = World(spec_from())
    world.secrets = replace(world.secrets, source_key_foreign=True)
    run_until(world, Phase.SUCCEEDED)
    assert not any(isinstance(e, DecommissionSourceCredentials) for e in world.effects_log)
    assert not world.status.credentials.source_decommissioned
    assert "CredentialsKept" in [e.reason for e in world.events_log]


def removals(world: World) -> list[RemoveTargetFromRoute]:
    return [e for e in world.effects_log if isinstance(e, RemoveTargetFromRoute)]


def test_an_abort_removes_the_target_entry_the_operator_added_once() -> None:
    world = World(spec_from())
    world.tick()
    assert world.status.credentials.target_entry_added  # recorded with the first write that adds it
    run_until(world, Phase.PROGRESSING)
    world.commands["abort"] = "req-1"
    run_until(world, Phase.ROLLED_BACK)
    assert len(removals(world)) == 1 and not world.status.credentials.target_entry_added
    assert not world.route.target_present and world.route.source_weight == 100
    world.run(60)
    assert len(removals(world)) == 1  # once


def test_a_rollback_removes_the_target_entry_the_operator_added() -> None:
    world = World(spec_from(analysis={"prometheus": {"url": "http://prometheus:9090"}, "interval": "30s"}))
    run_until(world, Phase.PROGRESSING)
    world.verdict = "Fail"
    run_until(world, Phase.ROLLED_BACK)
    assert len(removals(world)) == 1 and not world.route.target_present
    world.run(60)
    assert len(removals(world)) == 1


def test_a_target_entry_that_was_there_before_the_migration_is_never_removed() -> None:
    world = World(spec_from())
    world.route = replace(world.route, target_present=True)
    run_until(world, Phase.PROGRESSING)
    assert not world.status.credentials.target_entry_added
    world.commands["abort"] = "req-1"
    run_until(world, Phase.ROLLED_BACK)
    world.run(60)
    assert removals(world) == [] and world.route.target_present


def test_a_retry_after_the_removal_adds_and_records_the_entry_again() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    world.commands["abort"] = "req-1"
    run_until(world, Phase.ROLLED_BACK)
    world.commands["retry"] = "req-2"
    run_until(world, Phase.PROGRESSING)
    assert world.route.target_present and world.status.credentials.target_entry_added
