"""Spec edits are decisions: a step-list change mid-rollout is recorded with its own reason (history and an
Event), the current step is re-derived from the split the route carries, its pause counts from the edit and
the message is current; it is never "Routing drifted"."""

from __future__ import annotations

from rollout_world import World, spec_from

from provider_migration.api.reasons import EventReason, ProgressReason
from provider_migration.api.status import Phase

OLD = {"type": "Phased", "steps": [{"weight": 10, "pause": "1m"}, {"weight": 50, "pause": "1m"}, {"weight": 100}]}
NEW = {
    "type": "Phased",
    "steps": [{"weight": 10, "pause": "1m"}, {"weight": 30, "pause": "1m"}, {"weight": 50, "pause": "60s"},
              {"weight": 100}],
}  # fmt: skip


def at_fifty(world: World) -> None:
    for _ in range(100):
        world.tick(5)
        if world.status.current_weight == 50:
            return
    raise AssertionError(world.status)


def test_a_step_list_edit_mid_pause_is_recorded_and_its_pause_counts_from_the_edit() -> None:
    world = World(spec_from(strategy=OLD))
    at_fifty(world)
    world.tick(30)  # half of the old 1m pause gone
    world.spec = spec_from(strategy=NEW)
    world.generation += 1
    world.tick(1)
    st = world.status
    assert st.current_step == 2 and st.current_weight == 50 and world.route.target_weight == 50
    assert st.reason == ProgressReason.STEPS_CHANGED
    assert st.message == "Steps changed: now step 3/4 (weight 50%, pause 60s), started now"
    assert st.history[-1].reason == ProgressReason.STEPS_CHANGED
    assert any(e.reason == ProgressReason.STEPS_CHANGED for e in world.events_log)
    assert not any(e.reason == EventReason.WEIGHTS_RESTORED for e in world.events_log), "not a drift"
    edited = world.now
    while (world.now - edited).total_seconds() < 55:
        world.tick(5)
        assert world.route.target_weight == 50, "the new 60 s pause is not cut short by the old step's start"
    for _ in range(5):
        world.tick(5)
    assert world.route.target_weight == 100 and world.status.phase in (Phase.PROGRESSING, Phase.STABILIZING)


def test_an_edit_that_drops_the_current_split_goes_back_to_the_last_lower_step_never_forward() -> None:
    world = World(spec_from(strategy=OLD))
    at_fifty(world)
    world.spec = spec_from(strategy={"type": "Phased", "steps": [{"weight": 20, "pause": "2m"}, {"weight": 100}]})
    world.generation += 1
    world.tick(1)
    assert world.status.current_step == 0 and world.route.target_weight == 20
    assert world.status.message == "Steps changed: now step 1/2 (weight 20%, pause 2m), started now"
