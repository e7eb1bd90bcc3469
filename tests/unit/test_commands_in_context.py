"""Commands bound to their context: one the current phase does not act on is recorded as ignored (history with
why, a Warning Event) and never fires later; abort ends in RolledBack and stays there until a retry."""

from __future__ import annotations

from dataclasses import replace

from rollout_world import World, spec_from

from provider_migration.api.reasons import EventReason
from provider_migration.api.status import Phase

GATED = {"type": "Phased", "steps": [{"weight": 10, "pause": "1m"}, {"approval": {}}, {"weight": 100}]}


def run_until(world: World, phase: Phase, limit: int = 200) -> None:
    for _ in range(limit):
        if world.status.phase == phase:
            return
        world.tick(5)
    raise AssertionError(f"never reached {phase}; at {world.status.phase} ({world.status.message})")


def ignored(world: World) -> list[str]:
    return [h.message or "" for h in world.status.history if h.reason == EventReason.COMMAND_IGNORED]


def test_an_approve_sent_before_the_gate_is_ignored_and_never_passes_it() -> None:
    world = World(spec_from(strategy=GATED))
    run_until(world, Phase.PROGRESSING)
    world.commands["approve"] = "early"  # pmo approve --force at 10 %
    world.authors["approve"] = "alice"
    world.tick(1)
    assert world.status.handled_commands.approve == "early"
    assert ignored(world) == [
        "approve (request early) ignored: the migration is Progressing; approve acts only in AwaitingApproval"
    ]
    assert [h.by for h in world.status.history if h.reason == EventReason.COMMAND_IGNORED] == ["alice"]
    warnings = [e for e in world.events_log if e.reason == EventReason.COMMAND_IGNORED]
    assert len(warnings) == 1 and warnings[0].type == "Warning" and warnings[0].by == "alice"
    run_until(world, Phase.AWAITING_APPROVAL)
    world.run(600)
    assert world.status.phase == Phase.AWAITING_APPROVAL and world.route.target_weight == 10
    world.commands["approve"] = "at-the-gate"
    world.tick(1)
    assert world.status.current_step == 2 and world.route.target_weight == 100


def test_a_retry_sent_while_progressing_never_restarts_a_migration_aborted_later() -> None:
    world = World(spec_from(strategy=GATED))
    run_until(world, Phase.PROGRESSING)
    world.commands["retry"] = "too-soon"  # pmo retry --force
    world.tick(1)
    world.commands["abort"] = "stop"
    run_until(world, Phase.ROLLED_BACK)
    for _ in range(50):  # a restarted operator sees the same annotations again
        world.tick(5)
    assert world.status.phase == Phase.ROLLED_BACK and world.route.target_weight == 0
    assert any(m.startswith("retry (request too-soon) ignored") for m in ignored(world))


def test_abort_of_a_migration_blocked_before_any_traffic_stays_rolled_back_when_the_block_clears() -> None:
    world = World(spec_from())
    present = world.secrets
    world.secrets = replace(present, missing=("Secret default/anthropic-key key api-key",))
    run_until(world, Phase.BLOCKED)
    world.commands["abort"] = "stop"
    world.tick(1)
    assert world.status.phase == Phase.ROLLED_BACK
    world.secrets = present  # the missing Secret appears
    for _ in range(50):
        world.tick(5)
    assert world.status.phase == Phase.ROLLED_BACK and world.weights_seen in ([], [0])


def test_retry_is_refused_while_a_newer_migration_drives_the_route() -> None:
    world = World(spec_from())
    run_until(world, Phase.PROGRESSING)
    world.commands["abort"] = "stop"
    run_until(world, Phase.ROLLED_BACK)
    world.route_in_use_by = "support-bot-v2"  # a newer migration took the route over
    world.commands["retry"] = "again"
    for _ in range(10):
        world.tick(5)
    assert world.status.phase == Phase.ROLLED_BACK and world.route.target_weight == 0
    assert ignored(world)[-1] == (
        "retry (request again) ignored: the route is driven by support-bot-v2 now; retry once it has finished"
    )


def test_promote_does_not_end_a_pause_set_in_spec_and_says_so() -> None:
    world = World(spec_from(strategy={"type": "Phased", "steps": [{"weight": 10}, {"weight": 100}]}))
    run_until(world, Phase.PROGRESSING)
    world.spec = world.spec.model_copy(update={"paused": True})
    run_until(world, Phase.PAUSED)
    world.commands["promote"] = "go"
    world.tick(1)
    assert world.status.phase == Phase.PAUSED
    assert ignored(world) == ["promote (request go) ignored: paused by spec.paused; `pmo resume` continues"]
