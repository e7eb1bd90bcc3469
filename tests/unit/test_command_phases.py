"""The CLI refuses a command exactly where decide() would not act on it (core/commands.py is the one table)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rollout_world import T0, spec_from

from provider_migration.api.reasons import EventReason
from provider_migration.api.status import HandledCommands, Phase, ProviderMigrationStatus
from provider_migration.cli.migrations import refusal
from provider_migration.core.commands import Command
from provider_migration.core.decide import Decision, decide
from provider_migration.core.observations import Observations, RouteState, SecretsState
from provider_migration.views.migration import Migration

STEPS = {"type": "Phased", "steps": [{"weight": 10, "pause": "1m"}, {"approval": {}}, {"weight": 100}]}
SPEC = spec_from(strategy=STEPS)
ANNOTATIONS = (Command.PROMOTE, Command.APPROVE, Command.ABORT, Command.RETRY)

# Each phase as the operator leaves it mid-rollout: (step, target weight on the route, status reason).
AT: dict[Phase, tuple[int, int, str | None]] = {
    Phase.PENDING: (-1, 0, None),
    Phase.INITIALIZING: (-1, 0, "Initializing"),
    Phase.EVALUATING: (-1, 0, "Evaluating"),
    Phase.PROGRESSING: (0, 10, "StepAdvanced"),  # one minute of pause left
    Phase.PAUSED: (0, 10, "AnalysisInconclusive"),
    Phase.AWAITING_APPROVAL: (1, 10, "AwaitingApproval"),
    Phase.STABILIZING: (2, 100, "Stabilizing"),  # the window has just started
    Phase.SUCCEEDED: (2, 100, "Succeeded"),
    Phase.ROLLING_BACK: (0, 10, "ErrorRate"),
    Phase.ROLLED_BACK: (0, 0, "ErrorRate"),
    Phase.BLOCKED: (0, 10, "SecretNotFound"),
    Phase.FAILED: (-1, 0, "AnalysisFailed"),
}


def tick(phase: Phase, commands: dict[str, str]) -> Decision:
    step, weight, reason = AT[phase]
    status = ProviderMigrationStatus(
        phase=phase, current_step=step, current_weight=weight, reason=reason, step_started_at=T0, started_at=T0
    )
    status.credentials.target_projected = True
    route = RouteState(
        found=True, source_present=True, target_present=True, source_weight=100 - weight, target_weight=weight
    )
    missing = ("Secret default/anthropic-key key api-key",) if phase == Phase.BLOCKED else ()
    secrets = SecretsState(target_projected=True, missing=missing)
    obs = Observations(generation=1, route=route, secrets=secrets, commands=commands)
    return decide(SPEC, status, obs, T0 + timedelta(seconds=1))


def acts(command: Command, phase: Phase) -> bool:
    """Whether the command changes what decide() does, beyond recording that it was handled."""
    quiet, sent = tick(phase, {}), tick(phase, {command: "request-1"})

    def outcome(d: Decision) -> tuple[object, ...]:
        # A command the phase does not act on is recorded as ignored (history, an Event), nothing else.
        history = [h for h in d.status.history if h.reason != EventReason.COMMAND_IGNORED]
        events = [e for e in d.events if e.reason != EventReason.COMMAND_IGNORED]
        status = d.status.model_copy(update={"handled_commands": HandledCommands(), "history": history})
        return (status, d.effects, events)

    return outcome(quiet) != outcome(sent)


@pytest.mark.parametrize("command", ANNOTATIONS, ids=str)
@pytest.mark.parametrize("phase", list(Phase), ids=str)
def test_the_cli_refuses_exactly_what_decide_ignores(command: Command, phase: Phase) -> None:
    view = Migration.from_object({"metadata": {"name": "bot"}, "spec": SPEC.to_wire(), "status": {"phase": phase}})
    assert (refusal(command, view) is None) == acts(command, phase)


def test_a_pause_in_the_stabilisation_window_would_not_hold_it_so_the_cli_refuses_it() -> None:
    status = ProviderMigrationStatus(phase=Phase.STABILIZING, current_step=2, current_weight=100, step_started_at=T0)
    paused = SPEC.model_copy(update={"paused": True})
    route = RouteState(found=True, source_present=True, target_present=True, source_weight=0, target_weight=100)
    obs = Observations(generation=1, route=route, secrets=SecretsState(target_projected=True))
    cleanup = decide(paused, status, obs, T0 + timedelta(hours=1))  # records the cleanup it owes, then does it
    assert decide(paused, cleanup.status, obs, T0 + timedelta(hours=1)).status.phase == Phase.SUCCEEDED
    view = Migration.from_object(
        {"metadata": {"name": "bot"}, "spec": SPEC.to_wire(), "status": {"phase": "Stabilizing"}}
    )
    assert refusal(Command.PAUSE, view) is not None
