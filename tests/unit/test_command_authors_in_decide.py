"""decide() names who sent the command behind a decision (the annotation the admission policy stamps) in
its history entry and Events, and nobody for what the operator did by itself."""

from __future__ import annotations

from rollout_world import World, spec_from

from provider_migration.api import constants as c
from provider_migration.api.reasons import EventReason, ProgressReason
from provider_migration.api.status import Phase
from provider_migration.controller.reconcile import authors_of


def gated() -> World:
    world = World(spec_from(strategy={"type": "Phased", "steps": [{"weight": 10}, {"approval": {}}, {"weight": 100}]}))
    for _ in range(50):
        if world.status.phase == Phase.AWAITING_APPROVAL:
            return world
        world.tick(5)
    raise AssertionError(f"never reached the gate: {world.status.phase}")


def test_approval_names_the_approver_and_what_ran_by_itself_names_nobody() -> None:
    world = gated()
    assert all(h.by is None for h in world.status.history)
    world.commands["approve"] = "r-1"
    world.authors["approve"] = "alice@example.com"
    decision = world.tick(1)
    approved = [h for h in world.status.history if h.reason == EventReason.APPROVED]
    assert [h.by for h in approved] == ["alice@example.com"]
    assert {e.reason: e.by for e in decision.events}[EventReason.APPROVED] == "alice@example.com"
    world.authors["approve"] = "mallory"  # a later stamp does not rewrite what was recorded
    world.tick(5)
    assert [h.by for h in world.status.history if h.reason == EventReason.APPROVED] == ["alice@example.com"]


def test_pause_and_resume_name_who_changed_spec_paused() -> None:
    world = World(spec_from(strategy={"type": "Phased", "steps": [{"weight": 10, "pause": "1h"}, {"weight": 100}]}))
    while world.status.phase != Phase.PROGRESSING:
        world.tick(5)
    world.spec = world.spec.model_copy(update={"paused": True})
    world.authors["paused"] = "bob"
    world.tick(1)
    world.spec = world.spec.model_copy(update={"paused": False})
    world.authors["paused"] = "carol"
    world.tick(1)
    by = {h.reason: h.by for h in world.status.history}
    assert by[EventReason.PAUSED] == "bob" and by[ProgressReason.RESUMED] == "carol"


def test_only_stamped_author_annotations_are_read() -> None:
    body = {
        "metadata": {
            "annotations": {
                c.author_annotation("abort"): "system:serviceaccount:team:alice",
                c.author_annotation("paused"): "bob",
                c.author_annotation("approve"): "",
                f"{c.ANNOTATION_PREFIX}unknown-by": "eve",
            }
        }
    }
    assert authors_of(body) == {"abort": "system:serviceaccount:team:alice", "paused": "bob"}
