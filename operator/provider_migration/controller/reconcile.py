"""One tick for one migration: read, observe, decide, act, write status. Synchronous: runs in a worker thread.

Order matters for crash safety: routing and credential effects first (idempotent), then the status with a
compare-and-swap, then Events (only once the decision is recorded, so a lost write never duplicates them).
The only tick there is: the operator, `pmo simulate` and the unit tests all run this one (the latter two
through the in-memory ports of `memory.py`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from provider_migration.api import constants as c
from provider_migration.api.reasons import BlockedReason, EventReason
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import (
    ActionFailure,
    AnalysisStatus,
    Condition,
    EvaluationRun,
    ProviderMigrationStatus,
)
from provider_migration.connection_errors import known_cause
from provider_migration.core.actions import (
    DecommissionSourceCredentials,
    Effect,
    Event,
    ProjectCredentials,
    RemoveSourceFromRoute,
    RemoveTargetFromRoute,
    SetWeights,
    WithdrawTargetCredentials,
)
from provider_migration.core.decide import Decision, decide, needs, precondition_blocker, reject_spec
from provider_migration.core.observations import Observations, RouteState
from provider_migration.core.templates import Refusal, blocked, recorded
from provider_migration.credentials.base import CredentialManager
from provider_migration.notifications.outbox import enqueue
from provider_migration.routing.base import RouteAdapter
from provider_migration.routing.errors import RouteError
from provider_migration.safetext import safe_error

from .ports import Ports
from .templates import effective_spec

log = logging.getLogger(__name__)
FAILURES_SHOWN = 3  # failed tries in a row before a condition, a Warning Event and the message tell of them
FIRST_RETRY, LAST_RETRY = 5.0, 300.0  # seconds: backoff after failed changes
ACTION_CONDITION = "ActionFailing"
# Seconds a fresh analysis whose verdicts did not change may go unwritten (kept in Ports.unwritten): the stored
# one is never older than this, so a restart measures again at once instead of waiting (docs/architecture.md).
RECORD_ANALYSIS_EVERY = 300.0

# Given (namespace, spec, own name): the other active migration driving the same route and model, if any.
RouteClaims = Callable[[str, ProviderMigrationSpec, str], str | None]


@dataclass
class TickResult:
    body: dict[str, Any]  # the object as read, for posting Events about it
    decision: Decision  # what decide() said; its effects are applied
    requeue_after: float | None
    events: list[Event] = field(default_factory=list)  # to post: only those of a recorded decision
    failure: str | None = None  # an effect failed (safe words): the decision was not applied nor recorded

    @property
    def status(self) -> ProviderMigrationStatus:
        return self.decision.status


class ActionFailed(Exception):
    """An effect could not be applied. The message names the effect and the API status, never a value."""


def commands_of(body: dict[str, Any]) -> dict[str, str]:
    annotations = body.get("metadata", {}).get("annotations") or {}
    return {
        cmd: str(annotations[c.command_annotation(cmd)])
        for cmd in c.COMMANDS
        if c.command_annotation(cmd) in annotations
    }


def authors_of(body: dict[str, Any]) -> dict[str, str]:
    """Who sent each command, as the API server stamped it (never a name the client chose: see the chart's
    MutatingAdmissionPolicy)."""
    annotations = body.get("metadata", {}).get("annotations") or {}
    return {
        cmd: str(annotations[c.author_annotation(cmd)])
        for cmd in c.AUTHORED
        if annotations.get(c.author_annotation(cmd))
    }


def parse_status(raw: dict[str, Any] | None) -> ProviderMigrationStatus:
    return ProviderMigrationStatus.model_validate(raw or {})


def reconcile(
    ports: Ports, namespace: str, name: str, claims: RouteClaims, now: datetime | None = None
) -> TickResult | None:
    """None when the migration no longer exists."""
    now = now or datetime.now(UTC)
    body = ports.migrations.get(namespace, name)
    if body is None:
        ports.unwritten.pop((namespace, name), None)
        return None
    generation = int(body["metadata"].get("generation", 1))
    before = status = _with_unwritten(ports, namespace, name, parse_status(body.get("status")))
    raw_spec = body.get("spec") or {}
    if raw_spec.get("templateRef"):
        resolved, status = effective_spec(ports.templates, namespace, raw_spec, status, now)
        if isinstance(resolved, Refusal):  # before anything is read or written: Blocked with the field path
            return _finish(ports, body, before, blocked(before, resolved, generation, now), now)
        if before.template is None:  # just read: recorded first, alone
            return _finish(ports, body, before, recorded(status), now)
        spec = resolved.spec
    else:
        try:
            spec = ProviderMigrationSpec.from_wire(raw_spec)
        except ValidationError as e:
            problem = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()[:5])
            return _finish(ports, body, status, reject_spec(status, problem, generation, now), now)

    failure, inputs = status.action_failure, _inputs(generation, body)
    if failure is not None and now < failure.next_try_at and failure.inputs == inputs:
        # Backing off after failed changes: nothing read or tried until the next try, a spec edit or a command.
        wait = (failure.next_try_at - now).total_seconds()
        return TickResult(body=body, decision=Decision([], [], before, wait), requeue_after=wait)
    route = ports.routes(namespace, spec)
    creds = ports.credentials(namespace, spec)
    started: list[tuple[dict[str, Any], ProviderMigrationStatus]] = []
    read: dict[str, Any] = body

    def begin_evaluation() -> bool:
        """Record the golden-set run before it starts (a CAS write); False: not recorded, do not run."""
        recorded = _record_run(ports, read, status, generation, now)
        if recorded is not None:
            started.append(recorded)
        return recorded is not None

    obs = observe(ports, namespace, name, spec, status, body, claims, route, creds, generation, now, begin_evaluation)
    if started:  # the run is recorded: decide on, and compare-and-swap against, that write
        body, before = started[0]
        # None from the port: nothing ran (no verdict yet), so the record is withdrawn with this tick's write.
        run = before.evaluation_run if obs.evaluation is not None else None
        status = status.model_copy(update={"evaluation_run": run})
    decision = decide(spec, status, obs, now)
    if obs.refused is None:  # a refused migration acts on nothing
        try:
            for effect in decision.effects:
                apply_effect(effect, route, creds)
        except ActionFailed as e:
            return _failed(ports, body, before, e, inputs, now)
    if failure is not None:
        decision.status = _recovered(decision.status, failure)
    return _finish(ports, body, before, decision, now)


def _record_run(
    ports: Ports, body: dict[str, Any], status: ProviderMigrationStatus, generation: int, now: datetime
) -> tuple[dict[str, Any], ProviderMigrationStatus] | None:
    """Write status.evaluationRun; the object as it is after that write, or None when the write lost a race."""
    meta = body["metadata"]
    intent = status.model_copy(update={"evaluation_run": EvaluationRun(generation=generation, started_at=now)})
    wire = intent.to_wire()
    if not ports.migrations.write_status(meta["namespace"], meta["name"], meta["resourceVersion"], wire):
        return None
    fresh = ports.migrations.get(meta["namespace"], meta["name"])
    if fresh is None or (fresh.get("status") or {}).get("evaluationRun") != wire.get("evaluationRun"):
        return None  # overwritten in between: not recorded, so not started (the next tick records it again)
    return fresh, parse_status(fresh.get("status"))


def backoff(count: int) -> float:
    """Seconds before the next try after `count` failed ones in a row: 5 s doubling, at most 5 min."""
    return min(FIRST_RETRY * 2 ** (count - 1), LAST_RETRY)


def _inputs(generation: int, body: dict[str, Any]) -> str:
    commands = sorted(commands_of(body).items())
    return f"{generation}:" + hashlib.sha256(repr(commands).encode()).hexdigest()[:16]


def _failed(
    ports: Ports, body: dict[str, Any], before: ProviderMigrationStatus, error: ActionFailed, inputs: str, now: datetime
) -> TickResult:
    """Record a failed change (the decision is not: it did not happen) and back off. After FAILURES_SHOWN tries
    in a row it is a condition, a Warning Event and the status message, with the safe reason."""
    meta = body["metadata"]
    previous, detail = before.action_failure, str(error)
    count = previous.count + 1 if previous is not None else 1
    wait = backoff(count)
    failure = ActionFailure(
        action=detail.split(" ", 1)[0][:64],
        reason=detail[:4096],
        count=count,
        since=previous.since if previous is not None else now,
        next_try_at=now + timedelta(seconds=wait),
        inputs=inputs,
        message_before=previous.message_before if previous is not None else before.message,
    )
    status = before.model_copy(update={"action_failure": failure})
    events: list[Event] = []
    if count >= FAILURES_SHOWN:
        status.message = f"{detail} ({count} tries since {failure.since:%H:%M:%S}Z; next try in {wait:g}s)"[:4096]
        condition = Condition(
            type=ACTION_CONDITION,
            status="True",
            reason=EventReason.ACTION_FAILED,
            message=status.message,
            last_transition_time=failure.since,
            observed_generation=int(meta.get("generation", 1)),
        )
        status.conditions = [x for x in before.conditions if x.type != ACTION_CONDITION] + [condition]
        if count == FAILURES_SHOWN:
            events.append(Event("Warning", EventReason.ACTION_FAILED, status.message))
    log.warning("%s/%s: %s (try %d); next try in %gs", meta["namespace"], meta["name"], detail, count, wait)
    decision = Decision(effects=[], events=events, status=status, requeue_after=wait)
    result = TickResult(body=body, decision=decision, requeue_after=wait, failure=detail)
    if ports.migrations.write_status(meta["namespace"], meta["name"], meta["resourceVersion"], status.to_wire()):
        result.events = events
    else:
        result.requeue_after = 0.5  # someone wrote first (maybe a command): decide again on fresh data
    return result


def _recovered(status: ProviderMigrationStatus, failure: ActionFailure) -> ProviderMigrationStatus:
    """The changes went through: the failure record, its condition and its message go."""
    told = status.message is not None and status.message.startswith(failure.reason)
    return status.model_copy(
        update={
            "action_failure": None,
            "message": failure.message_before if told else status.message,
            "conditions": [x for x in status.conditions if x.type != ACTION_CONDITION],
        }
    )


def observe(
    ports: Ports,
    namespace: str,
    name: str,
    spec: ProviderMigrationSpec,
    status: ProviderMigrationStatus,
    body: dict[str, Any],
    claims: RouteClaims,
    route: RouteAdapter,
    creds: CredentialManager,
    generation: int,
    now: datetime,
    begin_evaluation: Callable[[], bool] = lambda: True,
) -> Observations:
    """The cheap observations first; the expensive ones (Prometheus, golden set) only when nothing refuses the
    migration and no precondition blocks it, so a Blocked migration never sends a query or a credential.
    Analysis still runs while a rollout that already carries target traffic is Blocked (a failing target
    must roll back); it goes only to an allowed URL."""
    cheap = Observations(
        generation=generation,
        route=RouteState(found=False),
        commands=commands_of(body),
        authors=authors_of(body),
        route_in_use_by=claims(namespace, spec, name),
        refused=ports.authority(namespace, name, spec) if ports.authority is not None else None,
    )
    if cheap.refused is not None:
        return cheap
    try:
        cheap = replace(cheap, route=route.read(), secrets=creds.read())
    except Exception as e:
        if getattr(e, "status", None) == 403 or "HTTP 403" in str(e):  # RBAC changed since the access review
            return replace(
                cheap,
                refused=(BlockedReason.NOT_PERMITTED, f"reading the route or its Secrets was refused: {safe_error(e)}"),
            )
        raise
    want = needs(spec, status, now)
    blocked = precondition_blocker(spec, status, cheap) is not None
    if any(getattr(status.handled_commands, cmd) != value for cmd, value in cheap.commands.items()):
        # A new command is decided first: an abort never waits for a slow Prometheus (the analysis runs next tick).
        want = replace(want, analysis=False)
    return replace(
        cheap,
        analysis=ports.analysis.analyze(namespace, spec, status, now) if want.analysis else None,
        baseline=ports.analysis.baseline(namespace, spec, now) if want.baseline and not blocked else None,
        evaluation=(
            ports.evaluation.evaluate(namespace, name, spec, now)
            if want.evaluation and not blocked and begin_evaluation()
            else None
        ),
    )


def _finish(
    ports: Ports, body: dict[str, Any], before: ProviderMigrationStatus, decision: Decision, now: datetime
) -> TickResult:
    # Notifications go into status with the decision they tell of (delivered off the tick, controller/notify).
    decision.status = enqueue(decision.status, decision.events, now)
    result = TickResult(body=body, decision=decision, requeue_after=decision.requeue_after)
    stored = body.get("status") or {}
    meta = body["metadata"]
    key = (meta["namespace"], meta["name"])
    # An object written before status.step existed gets it on its first tick (STEP would read <none>).
    if stored and stored.get("step") == decision.status.to_wire()["step"]:
        if decision.status == before:
            result.events = decision.events
            return result  # nothing changed: no write (an idle migration costs one GET per tick)
        kept = parse_status(stored).last_analysis
        if kept is not None and _only_fresher_analysis(before, decision.status, kept.time):
            assert decision.status.last_analysis is not None
            ports.unwritten[key] = (kept.time, decision.status.last_analysis)
            result.events = decision.events
            return result  # the same verdicts, measured again: not worth a write every interval
    if ports.migrations.write_status(
        meta["namespace"], meta["name"], meta["resourceVersion"], decision.status.to_wire()
    ):
        ports.unwritten.pop(key, None)
        result.events = decision.events
        _log_transition(f"{meta['namespace']}/{meta['name']}", before, decision.status)
    else:
        result.requeue_after = 0.5  # someone wrote first: decide again on fresh data
    return result


def _with_unwritten(
    ports: Ports, namespace: str, name: str, status: ProviderMigrationStatus
) -> ProviderMigrationStatus:
    """The status with the newest analysis this process measured but did not write, if it still follows the
    stored one (a write by anyone else since, or a restart, drops it)."""
    kept = ports.unwritten.get((namespace, name))
    if kept is None:
        return status
    stored = status.last_analysis
    if stored is None or stored.time != kept[0]:
        ports.unwritten.pop((namespace, name), None)
        return status
    return status.model_copy(update={"last_analysis": kept[1]})


def _only_fresher_analysis(
    before: ProviderMigrationStatus, after: ProviderMigrationStatus, stored_time: datetime
) -> bool:
    """`after` differs from `before` only by a newer analysis with the same verdicts at the same step, and the
    stored analysis is younger than RECORD_ANALYSIS_EVERY: that analysis need not be written yet."""
    old, new = before.last_analysis, after.last_analysis
    if old is None or new is None or new.time <= old.time:
        return False
    if (new.time - stored_time).total_seconds() >= RECORD_ANALYSIS_EVERY:
        return False
    if _verdicts(old) != _verdicts(new):
        return False
    return after.model_copy(update={"last_analysis": old}) == before


def _verdicts(a: AnalysisStatus) -> tuple[object, ...]:
    return a.verdict, a.step, a.weight, tuple((x.name, x.verdict) for x in a.criteria)


def _log_transition(ref: str, before: ProviderMigrationStatus, after: ProviderMigrationStatus) -> None:
    """One INFO line per recorded phase change (a rollback is the change into RollingBack, with its cause)."""
    if before.phase == after.phase:
        return
    where = f"step {after.to_wire()['step']}, target {after.current_weight}%"
    why = f"{after.reason}: {after.message}" if after.message else str(after.reason)
    log.info("%s: %s -> %s (%s): %s", ref, before.phase.value, after.phase.value, where, why)


def apply_effect(effect: Effect, route: RouteAdapter, creds: CredentialManager) -> None:
    try:
        if isinstance(effect, SetWeights):
            route.apply_weights(effect.source, effect.target, effect.mirror)
        elif isinstance(effect, ProjectCredentials):
            creds.project_target()
        elif isinstance(effect, WithdrawTargetCredentials):
            creds.withdraw_target()
        elif isinstance(effect, DecommissionSourceCredentials):
            creds.decommission_source()
        elif isinstance(effect, RemoveSourceFromRoute):
            route.remove_source()
        elif isinstance(effect, RemoveTargetFromRoute):
            route.remove_target()
    except Exception as e:
        # Exception text may carry API response bodies (a Secret's data, say): report its type and status only.
        status = getattr(e, "status", None)
        detail = (
            str(e) if isinstance(e, RouteError) else f"HTTP {status}" if status else known_cause(e) or type(e).__name__
        )
        raise ActionFailed(f"{type(effect).__name__} failed: {detail}") from None
