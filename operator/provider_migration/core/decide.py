"""The rollout state machine: `decide(spec, status, observations, now) -> Decision`. No I/O.

Rules that make restarts safe (docs/architecture.md, "Crash safety"):
- at most one step per call; the controller applies the effects, then writes the new status with a
  compare-and-swap, so a crash in between only repeats idempotent effects;
- the live weights come from the routing object (observations), never from memory;
- pauses and stabilisation are timestamps in status compared with `now`;
- no data is never a pass: a step that needs analysis advances only on a Pass measured at that step.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from provider_migration.api.durations import seconds
from provider_migration.api.reasons import (
    BlockedReason,
    EventReason,
    FailureReason,
    PauseReason,
    ProgressReason,
    RollbackReason,
    StatusReason,
)
from provider_migration.api.spec import ProviderMigrationSpec, Step
from provider_migration.api.status import (
    HISTORY_LIMIT,
    TERMINAL_PHASES,
    AnalysisStatus,
    CriterionResult,
    HistoryEntry,
    Phase,
    ProviderMigrationStatus,
)

from .actions import (
    DecommissionSourceCredentials,
    Effect,
    Event,
    ProjectCredentials,
    RemoveSourceFromRoute,
    RemoveTargetFromRoute,
    SetWeights,
    WithdrawTargetCredentials,
)
from .commands import ACTS_IN, Command, acts_in
from .conditions import conditions_for
from .forecast import forecast
from .observations import Needs, Observations
from .steps import NO_TRAFFIC, Traffic, describe, pause_seconds, steps_of, traffic_at

# Phases in which the target may carry traffic, so analysis runs and a failure rolls back.
ANALYSED_PHASES = {Phase.PROGRESSING, Phase.PAUSED, Phase.AWAITING_APPROVAL, Phase.STABILIZING, Phase.BLOCKED}
Reason = StatusReason | EventReason
ACTIVE_WAIT = 5.0  # seconds between ticks while waiting on the cluster (blocked, rolling back, initialising)
MAX_WAIT = 30.0  # longest sleep of a driver: bounds how long drifted weights (a GitOps sync) go unhealed


@dataclass
class Decision:
    effects: list[Effect]  # routing and credential changes, applied before the status is written
    events: list[Event]  # posted only once the status is recorded; they describe the effects
    status: ProviderMigrationStatus
    requeue_after: float | None  # None: nothing to do until something changes (terminal phases)


def analysis_interval(spec: ProviderMigrationSpec) -> float | None:
    return float(seconds(spec.analysis.interval)) if spec.analysis else None


def needs(spec: ProviderMigrationSpec, status: ProviderMigrationStatus, now: datetime) -> Needs:
    """The expensive observations the next decision wants; the controller gathers only these."""
    phase = status.phase
    # Also mid-rollout: an analysis added after Initializing captures its baseline before it judges anything.
    wants_baseline = (
        spec.analysis is not None
        and status.baseline is None
        and phase in (Phase.INITIALIZING, Phase.BLOCKED, *ANALYSED_PHASES)
    )
    wants_evaluation = (
        spec.evaluation is not None
        and status.evaluation is None
        and status.evaluation_run is None  # started before: never again by itself (costs paid requests)
        and phase == Phase.EVALUATING
    )
    return Needs(
        analysis=status.baseline is not None and (_analysis_due(spec, status, now) or _step_ends(spec, status, now)),
        baseline=wants_baseline,
        evaluation=wants_evaluation,
    )


def _step_ends(spec: ProviderMigrationSpec, status: ProviderMigrationStatus, now: datetime) -> bool:
    """The current step (or the stabilisation window) is over but for its analysis: measure now, so a promotion
    always rests on a measurement of this tick, never on one taken before Prometheus went away."""
    interval = analysis_interval(spec)
    steps = steps_of(spec)
    if interval is None or status.step_started_at is None or not 0 <= status.current_step < len(steps):
        return False
    if status.phase == Phase.STABILIZING:
        hold = float(seconds(spec.cleanup.stabilization))
    elif status.phase == Phase.PROGRESSING and steps[status.current_step].approval is None:
        hold = float(pause_seconds(steps[status.current_step]))
    else:
        return False
    ready_at = status.step_started_at + timedelta(seconds=max(hold, interval))
    last = status.last_analysis
    # Once per step end: if that measurement is not a Pass, the regular schedule measures again.
    return now >= ready_at and (last is None or last.time < ready_at)


def _analysis_due(spec: ProviderMigrationSpec, status: ProviderMigrationStatus, now: datetime) -> bool:
    interval = analysis_interval(spec)
    if interval is None or status.phase not in ANALYSED_PHASES or status.current_step < 0:
        return False
    traffic = traffic_at(steps_of(spec), status.current_step)
    if status.phase != Phase.STABILIZING and traffic.target == 0 and traffic.mirror == 0:
        return False
    # The window must cover only the current split: wait one interval after the step started.
    since = status.step_started_at
    if status.last_analysis is not None and (since is None or status.last_analysis.time > since):
        since = status.last_analysis.time
    return since is None or (now - since).total_seconds() >= interval


def reject_spec(status: ProviderMigrationStatus, problem: str, generation: int, now: datetime) -> Decision:
    """A spec the models refuse (e.g. written before a CEL rule existed): Failed, nothing touched."""
    st = _working_copy(status)
    message = f"Invalid spec: {problem}"[:4096]
    events: list[Event] = []
    if st.phase != Phase.FAILED or st.reason != FailureReason.INVALID_SPEC or st.message != message:
        st.phase, st.reason, st.message = Phase.FAILED, FailureReason.INVALID_SPEC, message
        st.history.append(
            HistoryEntry(
                time=now,
                phase=st.phase,
                step=st.current_step,
                weight=st.current_weight,
                reason=FailureReason.INVALID_SPEC,
                message=message,
            )
        )
        del st.history[:-HISTORY_LIMIT]
        events.append(Event("Warning", FailureReason.INVALID_SPEC, message))
    st.observed_generation = generation
    st.conditions = conditions_for(st, generation, now)
    return Decision(effects=[], events=events, status=st, requeue_after=None)


def _working_copy(status: ProviderMigrationStatus) -> ProviderMigrationStatus:
    """A copy safe to edit: the parts decide() mutates in place are copied, the rest (replaced whole) shared.
    A deep copy costs more than the whole decision (measured by `pmo simulate`)."""
    return status.model_copy(
        update={
            "history": list(status.history),
            "credentials": status.credentials.model_copy(),
            "handled_commands": status.handled_commands.model_copy(),
        }
    )


def decide(spec: ProviderMigrationSpec, status: ProviderMigrationStatus, obs: Observations, now: datetime) -> Decision:
    machine = _Machine(spec, _working_copy(status), obs, now)
    machine.run()
    return machine.result(status)


class _Machine:
    def __init__(
        self, spec: ProviderMigrationSpec, status: ProviderMigrationStatus, obs: Observations, now: datetime
    ) -> None:
        self.spec, self.st, self.obs, self.now = spec, status, obs, now
        self.steps = steps_of(spec)
        self.effects: list[Effect] = []
        self.events: list[Event] = []
        self.wait: float | None = None
        self.actor: str | None = None  # who sent the command this decision acts on: its history and Events say so

    # ----- bookkeeping -------------------------------------------------------------------------------

    def result(self, before: ProviderMigrationStatus) -> Decision:
        st = self.st
        st.observed_generation = self.obs.generation
        self.note_target_entry()
        if st.phase != Phase.PAUSED:
            st.pause_reason = None
        st.conditions = conditions_for(st, self.obs.generation, self.now)
        if st.phase in TERMINAL_PHASES:
            wait = None
        else:
            wait = min(self.wait if self.wait is not None else MAX_WAIT, MAX_WAIT)
            interval = analysis_interval(self.spec)
            if interval is not None and st.phase in ANALYSED_PHASES:
                wait = min(wait, self._analysis_wait(interval))
            wait = max(wait, 0.5)
        return Decision(effects=self.effects, events=self.events, status=st, requeue_after=wait)

    def _analysis_wait(self, interval: float) -> float:
        st = self.st
        since = st.step_started_at
        if st.last_analysis is not None and (since is None or st.last_analysis.time > since):
            since = st.last_analysis.time
        if since is None:
            return interval
        return max(interval - (self.now - since).total_seconds(), 0.5)

    def event(self, reason: Reason, message: str, warning: bool = False) -> None:
        self.events.append(Event("Warning" if warning else "Normal", reason, message, by=self.actor))

    def transition(
        self, phase: Phase, reason: Reason, message: str, warning: bool = False, status_reason: str | None = None
    ) -> None:
        """Enter a phase; `reason` names the Event and history entry, `status_reason` (default: the same) the status."""
        st = self.st
        changed = st.phase != phase or st.reason != (status_reason or reason)
        st.phase, st.reason, st.message = phase, status_reason or reason, message
        if changed:
            self.record(reason, message)
            self.event(reason, message, warning)

    def record(self, reason: Reason, message: str) -> None:
        st = self.st
        st.history.append(
            HistoryEntry(
                time=self.now,
                phase=st.phase,
                step=st.current_step,
                weight=st.current_weight,
                reason=reason,
                message=message[:4096],
                by=self.actor,
            )
        )
        del st.history[:-HISTORY_LIMIT]

    def requeue(self, seconds: float) -> None:
        self.wait = seconds if self.wait is None else min(self.wait, seconds)

    def command(self, name: Command) -> str | None:
        """The request id of a command not handled yet, when the current phase acts on it (core/commands.py);
        marks it handled. In any other phase the annotation waits."""
        return self.acknowledge(name) if acts_in(name, self.st.phase) else None

    def ignore_commands(self) -> None:
        """A new command the current phase does not act on is handled now, as ignored, with why (history and a
        Warning Event): it never fires later (an approve sent at 10 % never passes a gate reached afterwards, a
        retry sent while Progressing never restarts a migration aborted since)."""
        for name in (Command.ABORT, Command.RETRY, Command.PROMOTE, Command.APPROVE):
            value = self.obs.commands.get(name)
            if not value or getattr(self.st.handled_commands, name) == value:
                continue
            why = self.refusal(name)
            if why is None:
                continue
            setattr(self.st.handled_commands, name, value)
            actor, self.actor = self.actor, self.obs.authors.get(name)
            message = f"{name} (request {value}) ignored: {why}"
            self.record(EventReason.COMMAND_IGNORED, message)
            self.event(EventReason.COMMAND_IGNORED, message, warning=True)
            self.actor = actor

    def refusal(self, name: Command) -> str | None:
        """Why the current phase does not act on the command, or None when it does."""
        st = self.st
        phase = st.phase
        if name == Command.ABORT and phase == Phase.ROLLING_BACK:
            return None  # already on its way back: acknowledged quietly
        if not acts_in(name, phase):
            where = ", ".join(sorted(p.value for p in ACTS_IN[name]))
            return f"the migration is {phase.value}; {name} acts only in {where}"
        if name == Command.PROMOTE and phase == Phase.PAUSED and st.pause_reason == PauseReason.BY_SPEC:
            return "paused by spec.paused; `pmo resume` continues"
        if name == Command.RETRY and self.obs.route_in_use_by:
            return f"the route is driven by {self.obs.route_in_use_by} now; retry once it has finished"
        return None

    def acknowledge(self, name: Command) -> str | None:
        """Mark a new command handled, whatever the phase (the request id, or None when there is none)."""
        value = self.obs.commands.get(name)
        if not value or getattr(self.st.handled_commands, name) == value:
            return None
        setattr(self.st.handled_commands, name, value)
        self.actor = self.obs.authors.get(name) or self.actor
        return value

    # ----- routing ------------------------------------------------------------------------------------

    def route_matches(self, traffic: Traffic) -> bool:
        """The split is written and, where the gateway can say so, served."""
        return self.route_written(traffic) and self.obs.route.unverified is None

    def route_written(self, traffic: Traffic) -> bool:
        route = self.obs.route
        return (
            route.found
            and route.error is None
            and route.target_weight == traffic.target
            and route.source_weight == traffic.source
            and route.mirror_percent == traffic.mirror
        )

    def set_traffic(self, traffic: Traffic) -> None:
        """Route the split, projecting the target key first whenever the target is to see requests."""
        if (traffic.target > 0 or traffic.mirror > 0) and not self.obs.secrets.target_projected:
            self.project_credentials()
        if not self.route_written(traffic):
            self.effects.append(SetWeights(source=traffic.source, target=traffic.target, mirror=traffic.mirror))
        self.st.current_weight = traffic.target
        self.st.mirror_percent = traffic.mirror

    def project_credentials(self) -> None:
        if any(isinstance(a, ProjectCredentials) for a in self.effects):
            return
        self.effects.append(ProjectCredentials())
        self.st.credentials.target_projected = True
        self.event(EventReason.CREDENTIALS_PROJECTED, "Target provider key projected into the gateway Secret")

    # ----- the machine --------------------------------------------------------------------------------

    def run(self) -> None:
        st = self.st
        self.ignore_commands()
        if st.phase in TERMINAL_PHASES:
            self.terminal()
            return
        run = st.evaluation_run
        if run is not None and st.evaluation is None and run.generation != self.obs.generation:
            st.evaluation_run = None  # the spec changed since that run started: the new spec may be evaluated
        if st.current_step >= len(self.steps):  # the spec lost steps mid-rollout
            st.current_step = len(self.steps) - 1
        if st.phase == Phase.STABILIZING and self.cleanup_recorded():
            # Committed to finishing: nothing may roll back to a source whose key may already be gone.
            self.clean_up()
            return
        if st.phase == Phase.PENDING:
            st.started_at = st.started_at or self.now
            self.transition(Phase.INITIALIZING, ProgressReason.INITIALIZING, "Checking the route, Secrets and baseline")
        if st.phase == Phase.ROLLING_BACK:
            self.acknowledge(Command.ABORT)  # already on its way back
            self.rolling_back()
            return
        abort = self.command(Command.ABORT)
        if abort is not None:
            self.start_rollback(RollbackReason.ABORTED, f"Aborted by request {abort}")
            return
        if self.command(Command.RETRY) is not None:  # Blocked: check the preconditions again
            self.restart("Retry requested: checking preconditions again")
        self.track_checksums()
        if self.spec.analysis is not None and st.baseline is None and st.phase in ANALYSED_PHASES:
            self.capture_baseline()
        if self.obs.analysis is not None and st.phase in ANALYSED_PHASES and self.take_analysis(self.obs.analysis):
            return
        blocker = self.blocker()
        if blocker is not None:
            reason, message = blocker
            # No routing change while blocked: the current split stays as it is.
            self.transition(Phase.BLOCKED, EventReason.BLOCKED, message, warning=True, status_reason=reason)
            self.requeue(ACTIVE_WAIT)
            return
        if st.phase == Phase.BLOCKED:
            self.unblock()
        if self.steps_changed():
            return
        handler = {
            Phase.INITIALIZING: self.initializing,
            Phase.EVALUATING: self.evaluating,
            Phase.PROGRESSING: self.progressing,
            Phase.PAUSED: self.paused,
            Phase.AWAITING_APPROVAL: self.awaiting_approval,
            Phase.STABILIZING: self.stabilizing,
        }.get(st.phase)
        if handler is not None:
            handler()

    def terminal(self) -> None:
        st = self.st
        if st.phase == Phase.FAILED and st.reason == FailureReason.INVALID_SPEC:  # decide() only ever sees a valid spec
            self.restart("The spec is valid again: starting from the first step")
            return
        if self.command(Command.RETRY) is not None:
            self.restart("Retry requested: starting again from the first step")
            return
        self.acknowledge(Command.RETRY)  # Succeeded: nothing to retry
        route = self.obs.route
        # Keep the source at 100 % after a rollback, even if something re-applies old weights.
        restorable = route.found and route.error is None and route.source_present
        if st.phase == Phase.ROLLED_BACK and restorable and not self.route_matches(NO_TRAFFIC):
            self.effects.append(SetWeights(source=100, target=0, mirror=0))
        elif st.phase == Phase.ROLLED_BACK:
            self.remove_added_target()  # heals a lost status write after the removal

    def restart(self, message: str) -> None:
        """Back to the first step with a fresh baseline and evaluation; history is kept."""
        st = self.st
        st.current_step, st.current_weight, st.mirror_percent = -1, 0, 0
        st.failures = st.inconclusives = 0
        st.rollback_reason = st.completed_at = st.step_started_at = None
        st.last_analysis = st.evaluation = st.baseline = st.forecast = st.evaluation_run = None
        st.credentials.source_decommissioned = st.credentials.source_removed_from_route = False
        self.transition(Phase.INITIALIZING, ProgressReason.RETRYING, message)
        self.requeue(0.5)

    def start_rollback(self, cause: RollbackReason, message: str) -> None:
        """`cause` (ErrorRate, Latency, Cost, Quality, Aborted...) stays the status reason until RolledBack.
        An abort routes back in the same tick: if its status write is lost, the unhandled annotation aborts
        again. A rollback the analysis decided records its intent first and routes in the next tick: a lost
        write must never leave the source restored while status says the target carries traffic (the next
        tick would restore the target, and its analysis might not fail again)."""
        self.st.rollback_reason = message  # the cause itself is status.reason
        self.transition(Phase.ROLLING_BACK, EventReason.ROLLING_BACK, message, warning=True, status_reason=cause)
        if cause == RollbackReason.ABORTED:
            self.rolling_back()
        else:
            self.requeue(0.5)

    def rolling_back(self) -> None:
        st = self.st
        route = self.obs.route
        cause = st.reason or EventReason.ROLLED_BACK
        if self.obs.refused is not None:  # the route could not be looked at: try again, never claim it restored
            self.requeue(ACTIVE_WAIT)
            return
        if not route.found or route.error is not None or not route.source_present:
            st.current_weight = st.mirror_percent = 0
            st.completed_at = self.now
            note = route.error or "the routing object or its source entry is gone"
            msg = f"{st.rollback_reason}; nothing to restore: {note}"
            self.withdraw_credentials()
            self.remove_added_target()
            self.transition(Phase.ROLLED_BACK, EventReason.ROLLED_BACK, msg, warning=True, status_reason=cause)
            return
        if self.route_matches(NO_TRAFFIC):
            st.current_weight = st.mirror_percent = 0
            st.completed_at = self.now
            msg = f"All traffic is back on the source. {st.rollback_reason}"
            self.withdraw_credentials()
            self.remove_added_target()
            self.transition(Phase.ROLLED_BACK, EventReason.ROLLED_BACK, msg, warning=True, status_reason=cause)
            return
        self.effects.append(SetWeights(source=100, target=0, mirror=0))
        st.current_weight = st.mirror_percent = 0
        self.requeue(1.0)

    def withdraw_credentials(self) -> None:
        """Take back the target key this migration projected (not one that was there before): a rolled-back
        migration leaves the gateway Secret as it found it."""
        creds = self.st.credentials
        if self.spec.target.credentials is None or not creds.target_projected:
            return
        creds.target_projected = False
        if creds.target_key_existed:
            return
        self.effects.append(WithdrawTargetCredentials())
        self.event(EventReason.CREDENTIALS_WITHDRAWN, "Target provider key removed from the gateway Secret")

    def note_target_entry(self) -> None:
        """Record, with the decision that writes it, that the target entry was not there before the operator's
        first write: only such an entry is removed again (one that was there before the migration stays)."""
        route = self.obs.route
        writes = any(isinstance(e, SetWeights) for e in self.effects)
        if writes and route.found and route.error is None and not route.target_present:
            self.st.credentials.target_entry_added = True

    def remove_added_target(self) -> None:
        """Drop the weight-0 target entry this migration added: a rolled-back migration leaves the routing
        object as it found it. Cleared once asked for (or once it is gone), so it is emitted once."""
        creds, route = self.st.credentials, self.obs.route
        if not creds.target_entry_added or any(isinstance(e, SetWeights) for e in self.effects):
            return
        creds.target_entry_added = False
        if route.found and route.error is None and route.target_present and route.source_present:
            self.effects.append(RemoveTargetFromRoute())

    def track_checksums(self) -> None:
        """Record checksums (never values); a rotated target key is re-projected before it can break traffic."""
        creds, secrets = self.st.credentials, self.obs.secrets
        rotated = (
            creds.target_projected
            and creds.target_checksum is not None
            and secrets.target_checksum is not None
            and secrets.target_checksum != creds.target_checksum
        )
        if secrets.source_checksum is not None:
            creds.source_checksum = secrets.source_checksum
        if secrets.target_checksum is not None:
            creds.target_checksum = secrets.target_checksum
        if secrets.target_key_existed and not creds.target_projected:
            creds.target_key_existed = True  # recorded before any projection: such a key is never withdrawn
        if rotated and not secrets.target_projected:
            self.effects.append(ProjectCredentials())
            self.event(
                EventReason.CREDENTIALS_ROTATED, "Target key changed; projected the new key into the gateway Secret"
            )

    def take_analysis(self, analysis: AnalysisStatus) -> bool:
        """Record one analysis; True when it triggered a rollback."""
        st, limits = self.st, self.spec.analysis
        if limits is None:  # analysis removed from the spec since it was requested
            return False
        if self.obs.route.unverified is not None:  # measured the split the gateway served before this step's
            return False
        # Stamp what was measured: only a Pass measured at the current step may advance it.
        analysis = analysis.model_copy(update={"step": st.current_step, "weight": st.current_weight})
        st.last_analysis = analysis
        failing = [c for c in analysis.criteria if c.verdict == "Fail"]
        if analysis.verdict == "Fail":
            st.failures += 1
            summary = "; ".join(f"{c.name}: {c.message or 'failed'}" for c in failing) or "analysis failed"
            self.event(EventReason.ANALYSIS_FAILED, summary, warning=True)
            if st.failures > limits.failure_limit:
                self.start_rollback(_rollback_reason(failing), summary)
                return True
        elif analysis.verdict == "Inconclusive":
            st.inconclusives += 1
            if st.inconclusives >= limits.inconclusive_limit and st.phase != Phase.PAUSED:
                msg = f"{st.inconclusives} inconclusive analyses in a row (no data or Prometheus unreachable)"
                self.pause(PauseReason.ANALYSIS_INCONCLUSIVE, msg, warning=True)
        else:
            st.inconclusives = 0
        return False

    def blocker(self) -> tuple[BlockedReason, str] | None:
        """A precondition that stops the rollout where it is (not a failure: cleared ones resume)."""
        return precondition_blocker(self.spec, self.st, self.obs)

    def unblock(self) -> None:
        st = self.st
        if st.current_step < 0:
            self.transition(Phase.INITIALIZING, ProgressReason.UNBLOCKED, "Preconditions met again")
        else:
            self.transition(Phase.PROGRESSING, ProgressReason.UNBLOCKED, "Preconditions met again; resuming")
            st.step_started_at = st.step_started_at or self.now

    def hold(self, traffic: Traffic) -> None:
        """Keep the split of the current step, healing drift (a GitOps sync re-applying old weights)."""
        if self.route_written(traffic):
            if self.obs.route.unverified is not None:
                # Written, the gateway is still loading it: nothing drifted, and the step starts when it serves.
                self.st.step_started_at = self.now
                self.requeue(1.0)
            return
        if self.obs.route.found and self.obs.route.error is None:
            self.set_traffic(traffic)
            self.event(EventReason.WEIGHTS_RESTORED, f"Routing drifted; restored target weight {traffic.target}%")

    def capture_baseline(self) -> None:
        """An analysis added mid-rollout: the source's baseline first (nothing is judged without it)."""
        st, spec = self.st, self.spec
        if self.obs.baseline is not None and self.obs.baseline.baseline is not None:
            st.baseline = self.obs.baseline.baseline
            st.forecast = forecast(spec, st.baseline)
            self.record(EventReason.BASELINE_CAPTURED, "Source baseline captured (analysis added mid-rollout)")
            self.event(EventReason.BASELINE_CAPTURED, "Source baseline captured (analysis added mid-rollout)")
        else:
            self.requeue(ACTIVE_WAIT)

    def steps_changed(self) -> bool:
        """spec.strategy.steps edited: record it; mid-rollout, re-derive the current step (the last one whose
        split is the one the route carries, never further on), start its pause now and say so. True: done."""
        st = self.st
        checksum = steps_checksum(self.steps)
        before, st.steps_checksum = st.steps_checksum, checksum
        moving = st.phase in (Phase.PROGRESSING, Phase.PAUSED, Phase.AWAITING_APPROVAL) and st.current_step >= 0
        if before is None or before == checksum or not moving:
            return False  # first seen (an older object), unchanged, or not counting in steps
        carried = Traffic(target=st.current_weight, mirror=st.mirror_percent)
        same = [k for k in range(len(self.steps)) if traffic_at(self.steps, k) == carried]
        lower = [k for k in range(len(self.steps)) if traffic_at(self.steps, k).target <= carried.target]
        k = same[-1] if same else lower[-1] if lower else 0
        st.current_step, st.step_started_at = k, self.now
        step = self.steps[k]
        self.set_traffic(traffic_at(self.steps, k))
        message = f"Steps changed: now step {k + 1}/{len(self.steps)} ({describe(step)}), started now"
        if st.phase != Phase.PAUSED:
            st.phase = Phase.AWAITING_APPROVAL if step.approval is not None else Phase.PROGRESSING
        st.reason, st.message = ProgressReason.STEPS_CHANGED, message
        self.record(ProgressReason.STEPS_CHANGED, message)
        self.event(ProgressReason.STEPS_CHANGED, message)
        self.requeue(0.5)
        return True

    def initializing(self) -> None:
        st, spec = self.st, self.spec
        if spec.analysis is not None and st.baseline is None:
            if self.obs.baseline is None or self.obs.baseline.baseline is None:
                self.requeue(0.5)
                return
            st.baseline = self.obs.baseline.baseline
            st.forecast = forecast(spec, st.baseline)
            self.record(EventReason.BASELINE_CAPTURED, "Source baseline captured")
        if spec.target.credentials is not None and not self.obs.secrets.target_projected:
            self.project_credentials()
        if spec.evaluation is not None and st.evaluation is None:
            self.transition(
                Phase.EVALUATING, ProgressReason.EVALUATING, "Running the golden set through source and target"
            )
            self.requeue(0.5)
            return
        self.advance()

    def evaluating(self) -> None:
        st = self.st
        if st.evaluation is None:
            if self.obs.evaluation is None:
                self.requeue(ACTIVE_WAIT)
                return
            st.evaluation = self.obs.evaluation
        if st.evaluation.verdict != "Pass":
            message = st.evaluation.message or "evaluation failed"
            self.transition(
                Phase.BLOCKED, EventReason.BLOCKED, message, warning=True, status_reason=BlockedReason.EVALUATION_FAILED
            )
            return
        self.event(
            EventReason.EVALUATION_PASSED, st.evaluation.message or "the target passed the golden-set evaluation"
        )
        self.advance()

    def progressing(self) -> None:
        st = self.st
        if self.spec.paused:
            self.actor = self.obs.authors.get("paused")
            self.pause(PauseReason.BY_SPEC, "spec.paused is true")
            self.hold(traffic_at(self.steps, st.current_step))
            return
        promoted = self.command(Command.PROMOTE)
        if promoted is not None:
            self.event(EventReason.PROMOTED, f"Pause ended by request {promoted}")
        ahead = st.current_step >= 0 and self.route_written(self.next_traffic()) and not self.route_at_step()
        if st.current_step < 0 or self.step_complete() or (promoted and (self.route_at_step() or ahead)):
            self.advance()
        elif ahead:
            # The route carries the next split: a step change whose status write was lost. Never undo it;
            # it is adopted once this step's own conditions (pause, analysis) are met.
            self.requeue(ACTIVE_WAIT)
        else:
            self.hold(traffic_at(self.steps, st.current_step))

    def paused(self) -> None:
        st = self.st
        self.hold(traffic_at(self.steps, st.current_step))
        promoted = self.command(Command.PROMOTE)
        if st.pause_reason == PauseReason.BY_SPEC and not self.spec.paused:
            self.actor = self.obs.authors.get("paused")
            self.resume(ProgressReason.RESUMED, "spec.paused is false")
        elif promoted is not None and st.pause_reason != PauseReason.BY_SPEC:
            st.inconclusives = 0
            self.event(EventReason.PROMOTED, f"Resumed by request {promoted}")
            self.resume(ProgressReason.PROMOTED, f"Resumed by request {promoted}")

    def pause(self, cause: PauseReason, message: str, warning: bool = False) -> None:
        """The cause goes to status.pauseReason (what decides how it resumes) and, for people, status.reason."""
        self.st.pause_reason = cause
        self.transition(Phase.PAUSED, EventReason.PAUSED, message, warning=warning, status_reason=cause)

    def resume(self, reason: ProgressReason, message: str) -> None:
        st = self.st
        at_gate = 0 <= st.current_step < len(self.steps) and self.steps[st.current_step].approval is not None
        self.transition(Phase.AWAITING_APPROVAL if at_gate else Phase.PROGRESSING, reason, message)

    def awaiting_approval(self) -> None:
        st = self.st
        # The command before holding: when the write after an approval's routing was lost, the approval is
        # seen again and the route already carries the next split (holding first would undo it, then redo it).
        approved = self.command(Command.APPROVE)
        if approved is None:
            self.hold(traffic_at(self.steps, st.current_step))
            return
        # Step numbers people read are 1-based, as in `kubectl get` STEP and `pmo status`.
        msg = f"Approval at step {st.current_step + 1}/{len(self.steps)} given by request {approved}"
        self.event(EventReason.APPROVED, msg)
        self.record(EventReason.APPROVED, msg)
        self.advance()

    def stabilizing(self) -> None:
        st, spec = self.st, self.spec
        full = Traffic(target=100)
        self.hold(full)
        promoted = self.command(Command.PROMOTE)
        waited = (self.now - (st.step_started_at or self.now)).total_seconds()
        window = seconds(spec.cleanup.stabilization)
        if not self.route_matches(full) or (waited < window and promoted is None):
            self.requeue(max(window - waited, 0.5))
            return
        if spec.analysis is not None and promoted is None and not self.passed_since(st.step_started_at):
            return
        creds = st.credentials
        decommission = spec.cleanup.decommission_source_credentials and spec.source.credentials is not None
        creds.source_decommissioned = decommission
        creds.source_removed_from_route = spec.cleanup.remove_source_from_route
        if not self.cleanup_recorded():
            self.clean_up()
            return
        # Intent first: the status says what cleanup is owed before anything is removed, so the next tick
        # finishes it whatever happened in between (a route without its source is then expected, not Blocked).
        st.message = "Stabilised: removing the source from the gateway"
        self.record(ProgressReason.STABILIZING, st.message)
        self.requeue(0.5)

    def cleanup_recorded(self) -> bool:
        creds = self.st.credentials
        return creds.source_decommissioned or creds.source_removed_from_route

    def clean_up(self) -> None:
        """Apply the recorded cleanup (each effect idempotent, skipped when already done), then Succeeded."""
        st, spec, creds = self.st, self.spec, self.st.credentials
        if creds.source_decommissioned:
            if self.obs.route.source_key_shared:
                creds.source_decommissioned = False
                self.event(
                    EventReason.CREDENTIALS_KEPT,
                    "Source provider key kept: other entries of the routing object still read it",
                )
            elif self.obs.secrets.source_key_foreign:
                creds.source_decommissioned = False
                self.event(
                    EventReason.CREDENTIALS_KEPT,
                    "Source provider key kept: the gateway Secret's key does not hold the source's key",
                )
            else:
                if self.obs.secrets.source_in_gateway:
                    self.effects.append(DecommissionSourceCredentials())
                self.event(
                    EventReason.CREDENTIALS_DECOMMISSIONED, "Source provider key removed from the gateway Secret"
                )
        if creds.source_removed_from_route and self.obs.route.source_present:
            self.effects.append(RemoveSourceFromRoute())
        st.completed_at = self.now
        self.transition(
            Phase.SUCCEEDED, ProgressReason.SUCCEEDED, f"All traffic on {spec.target.provider}/{spec.target.model}"
        )

    # ----- steps --------------------------------------------------------------------------------------

    def next_traffic(self) -> Traffic:
        nxt = self.st.current_step + 1
        return traffic_at(self.steps, nxt) if nxt < len(self.steps) else Traffic(target=100)

    def route_at_step(self) -> bool:
        return self.route_matches(traffic_at(self.steps, self.st.current_step))

    def passed_since(self, since: datetime | None) -> bool:
        """A Pass measured in this very tick, at the current step, over a window that started after `since`:
        no promotion on an older measurement (Prometheus may have gone away since) or one of the old split."""
        last, st, interval = self.st.last_analysis, self.st, analysis_interval(self.spec) or 0.0
        return (
            self.obs.analysis is not None
            and last is not None
            and last.time == self.now
            and last.verdict == "Pass"
            and last.step == st.current_step
            and (since is None or (self.now - since).total_seconds() >= interval)
        )

    def step_complete(self) -> bool:
        st = self.st
        step = self.steps[st.current_step]
        # The route may already carry the next step's split: a crash after routing, before the status write.
        if step.approval is not None or not (self.route_at_step() or self.route_matches(self.next_traffic())):
            return False
        waited = (self.now - (st.step_started_at or self.now)).total_seconds()
        if waited < pause_seconds(step):
            self.requeue(pause_seconds(step) - waited)
            return False
        return self.spec.analysis is None or self.passed_since(st.step_started_at)

    def advance(self) -> None:
        """Move to the next step (or to Stabilizing after the last one). Exactly one step."""
        st = self.st
        nxt = st.current_step + 1
        st.step_started_at = self.now
        if nxt >= len(self.steps):
            st.current_step = len(self.steps) - 1
            self.set_traffic(Traffic(target=100))
            window = self.spec.cleanup.stabilization
            self.transition(
                Phase.STABILIZING, ProgressReason.STABILIZING, f"All traffic on the target; watching for {window}"
            )
            self.requeue(0.5)
            return
        st.current_step = nxt
        step = self.steps[nxt]
        if step.approval is not None:
            msg = step.approval.message or f"Step {nxt + 1}/{len(self.steps)} waits for `pmo approve`"
            self.transition(Phase.AWAITING_APPROVAL, ProgressReason.AWAITING_APPROVAL, msg)
            return
        self.set_traffic(traffic_at(self.steps, nxt))
        msg = f"Step {nxt + 1}/{len(self.steps)}: {describe(step)}"
        st.phase, st.reason, st.message = Phase.PROGRESSING, ProgressReason.STEP_ADVANCED, msg
        self.record(ProgressReason.STEP_ADVANCED, msg)
        self.event(ProgressReason.STEP_ADVANCED, msg)
        self.requeue(max(float(pause_seconds(step)), 0.5))


def steps_checksum(steps: list[Step]) -> str:
    """Which steps status.currentStep counts in (a digest, so an edit is seen whatever else changed)."""
    return hashlib.sha256(json.dumps([s.to_wire() for s in steps], sort_keys=True).encode()).hexdigest()[:16]


def precondition_blocker(
    spec: ProviderMigrationSpec, st: ProviderMigrationStatus, obs: Observations
) -> tuple[BlockedReason, str] | None:
    """(reason, message) of a precondition that stops the rollout where it is, or None. Also asked by the
    controller before the expensive observations: nothing is queried or sent while one fails."""
    if obs.refused is not None:
        return obs.refused
    route = obs.route
    kind, name = spec.route.kind, spec.route.name
    if obs.route_in_use_by:
        return (
            BlockedReason.ROUTE_IN_USE,
            f"{kind} {name} model {spec.route.model_name} is driven by {obs.route_in_use_by}",
        )
    if not route.served:
        return BlockedReason.ROUTE_KIND_NOT_SERVED, f"{kind} {name} cannot be read: {route.error}"
    if not route.found:
        return BlockedReason.ROUTE_NOT_FOUND, f"{kind} {name} not found"
    if route.error is not None:
        return BlockedReason.ROUTE_INVALID, f"{kind} {name}: {route.error}"
    if not route.source_present:
        return (
            BlockedReason.SOURCE_NOT_IN_ROUTE,
            f"{kind} {name} has no entry for source backend {spec.source.backend}",
        )
    if spec.strategy.type == "Parallel" and not route.supports_mirroring:
        return (
            BlockedReason.MIRRORING_UNSUPPORTED,
            f"{kind} routes cannot mirror traffic; use Phased or an HTTPRoute",
        )
    if obs.secrets.missing:
        return BlockedReason.SECRET_NOT_FOUND, "missing: " + ", ".join(obs.secrets.missing)
    if obs.secrets.target_key_conflict is not None:
        return BlockedReason.GATEWAY_KEY_CONFLICT, obs.secrets.target_key_conflict
    run = st.evaluation_run
    if run is not None and st.evaluation is None and obs.evaluation is None and run.generation == obs.generation:
        return (
            BlockedReason.EVALUATION_INTERRUPTED,
            f"the golden-set run started at {run.started_at:%Y-%m-%d %H:%M:%S}Z recorded no outcome; "
            "`pmo retry` runs it again",
        )
    if st.evaluation is not None and st.evaluation.verdict != "Pass":
        return (
            BlockedReason.EVALUATION_FAILED,
            st.evaluation.message or "the target failed the golden-set evaluation",
        )
    if obs.baseline is not None and obs.baseline.error is not None and st.baseline is None:
        return BlockedReason.BASELINE_UNAVAILABLE, f"cannot capture the source baseline: {obs.baseline.error}"
    return None


def _rollback_reason(failing: list[CriterionResult]) -> RollbackReason:
    names = {c.name for c in failing}
    for name, reason in (
        ("errorRate", RollbackReason.ERROR_RATE),
        ("latencyP95", RollbackReason.LATENCY),
        ("cost", RollbackReason.COST),
        ("quality", RollbackReason.QUALITY),
    ):
        if name in names:
            return reason
    return RollbackReason.CUSTOM_CRITERION if names else RollbackReason.ANALYSIS_FAILED
