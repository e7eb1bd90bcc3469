"""Reading ProviderMigrations tolerantly: a partial or newer status never stops the CLI from showing the rest."""

from __future__ import annotations

from typing import Any

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import Phase, ProviderMigrationStatus
from provider_migration.views.migration import Migration, salvage

SPEC: dict[str, Any] = {
    "route": {"kind": "HTTPRoute", "name": "gw", "modelName": "chat"},
    "source": {"provider": "openai", "model": "gpt-4o", "backend": "a"},
    "target": {"provider": "anthropic", "model": "claude", "backend": "b"},
    "strategy": {"type": "Phased", "steps": [{"weight": 50}, {"weight": 100}]},
}


def test_missing_status_reads_as_pending_before_the_first_step() -> None:
    mig = Migration.from_object({"metadata": {"name": "m", "namespace": "ns"}, "spec": SPEC})
    assert mig.phase == "Pending" and mig.known_phase is Phase.PENDING
    assert mig.status.current_step == -1 and mig.status.current_weight == 0
    assert mig.problems == [] and len(mig.steps) == 2


def test_invalid_status_fields_are_dropped_one_by_one_and_reported() -> None:
    status = {
        "phase": "Progressing",
        "currentWeight": "lots",
        "history": [
            {"time": "2025-01-01T00:00:00Z", "phase": "Progressing", "step": 0, "weight": 50, "reason": "ok"},
            {"phase": "Progressing"},  # no time, step, weight, reason
        ],
        "fieldFromANewerOperator": {"x": 1},
    }
    model, dropped = salvage(ProviderMigrationStatus, status)
    assert model is not None
    assert model.phase is Phase.PROGRESSING and model.current_weight == 0
    assert [h.reason for h in model.history] == ["ok"]
    assert sorted(dropped) == ["currentWeight", "history.1"]


def test_unknown_phase_is_kept_as_written() -> None:
    mig = Migration.from_object({"metadata": {"name": "m"}, "spec": SPEC, "status": {"phase": "Verifying"}})
    assert mig.phase == "Verifying" and mig.known_phase is None
    assert mig.problems == ["status.phase"]


def test_unknown_spec_fields_are_ignored_but_invalid_specs_are_not_guessed() -> None:
    newer = {**SPEC, "canaryHeaders": {"x": "y"}, "strategy": {**SPEC["strategy"], "jitter": True}}
    spec, dropped = salvage(ProviderMigrationSpec, newer, drop=frozenset({"extra_forbidden"}))
    assert spec is not None and [s.weight for s in spec.strategy.steps] == [50, 100]
    assert sorted(dropped) == ["canaryHeaders", "strategy.jitter"]

    # Dropping the offending strategy would show BigBang defaults: better to show no spec than a wrong one.
    broken = {**SPEC, "strategy": {"type": "Phased", "steps": [{"weight": 60}, {"weight": 50}]}}
    mig = Migration.from_object({"metadata": {"name": "m"}, "spec": broken, "status": {"phase": "Paused"}})
    assert mig.spec is None and mig.steps == []
    assert mig.phase == "Paused"
    assert any("strictly increasing" in p for p in mig.problems)


def test_pending_commands_are_requests_not_yet_recorded_as_handled() -> None:
    obj = {
        "metadata": {
            "name": "m",
            "annotations": {
                "migrations.llmops.dev/promote": "r2",
                "migrations.llmops.dev/abort": "r1",
                "unrelated.example/promote": "x",
            },
        },
        "spec": SPEC,
        "status": {"handledCommands": {"promote": "r1", "abort": "r1"}},
    }
    mig = Migration.from_object(obj)
    assert mig.pending_commands() == {"promote": "r2"}
    assert mig.handled("abort") == "r1" and mig.requested("approve") is None
