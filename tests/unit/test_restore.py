"""Deleting a migration mid-rollout (controller/restore.py): all traffic back on the source, and the target key
and target entry the migration added taken back; ones that were there before it stay."""

from __future__ import annotations

from dataclasses import replace

from rollout_world import NAMESPACE, World, spec_from

from provider_migration.api.status import Phase
from provider_migration.controller.restore import restore_source


def progressing(world: World) -> None:
    for _ in range(100):
        if world.status.phase == Phase.PROGRESSING and world.route.target_weight:
            return
        world.tick(5)
    raise AssertionError(f"never progressed: {world.status.phase} {world.status.message}")


def delete(world: World) -> bool:
    return restore_source(world.ports, NAMESPACE, world.spec.to_wire(), world.status.to_wire())


def test_deletion_mid_rollout_restores_the_source_and_removes_the_target_entry_it_added() -> None:
    world = World(spec_from())
    progressing(world)
    assert delete(world)
    route = world.route
    assert (route.source_weight, route.target_weight, route.target_present) == (100, 0, False)
    assert not world.secrets.target_projected


def test_deletion_keeps_a_target_entry_that_was_there_before_the_migration() -> None:
    world = World(spec_from())
    world.route = replace(world.route, target_present=True)
    progressing(world)
    assert delete(world)
    assert world.route.target_present and world.route.target_weight == 0
