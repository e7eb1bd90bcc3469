"""The simulation loop: the controller's own tick (`reconcile()`) over in-memory ports, synthetic metrics
for its analyses, and a clock that jumps by each decision's requeue, as the operator's driver sleeps."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from provider_migration.analysis.analyzer import run_analysis
from provider_migration.analysis.baseline import capture_baseline
from provider_migration.analysis.queries import ArmLabels
from provider_migration.api.constants import command_annotation
from provider_migration.api.durations import seconds
from provider_migration.api.reasons import PauseReason
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import (
    TERMINAL_PHASES,
    AnalysisStatus,
    EvaluationStatus,
    HistoryEntry,
    Phase,
    ProviderMigrationStatus,
)
from provider_migration.controller.memory import MemoryMigrationStore
from provider_migration.controller.ports import Ports
from provider_migration.controller.reconcile import reconcile
from provider_migration.core.actions import Event
from provider_migration.core.decide import needs
from provider_migration.core.observations import BaselineObservation
from provider_migration.core.steps import pause_seconds, steps_of, traffic_at

from .metrics import SyntheticMetrics, arm_metrics
from .profiles import SOURCE, target_profile
from .result import SimulationOptions, SimulationResult, TimelineRow, step_text
from .scenarios import SCENARIOS, Scenario
from .world import SimulatedWorld, Split

START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # any fixed instant: the output shows offsets from it
EVALUATION_NOTE = "simulated: the golden-set evaluation is assumed to pass"


def default_fault_step(spec: ProviderMigrationSpec, fault_from: int) -> int:
    """The first step at which at least `fault_from` % of the requests reach the target."""
    steps = steps_of(spec)
    for index in range(len(steps)):
        traffic = traffic_at(steps, index)
        if Split(traffic.target, traffic.mirror).load >= fault_from:
            return index
    return len(steps) - 1


class _Run:
    def __init__(
        self, spec: ProviderMigrationSpec, scenario: Scenario, options: SimulationOptions, name: str, namespace: str
    ) -> None:
        self.spec, self.scenario, self.options = spec, scenario, options
        self.name, self.namespace = name, namespace
        self.info = SCENARIOS[scenario]
        self.severity = options.severity if options.severity is not None else self.info.default_severity
        steps = steps_of(spec)
        if options.fault_step is not None and not 0 <= options.fault_step < len(steps):
            raise ValueError(f"fault step {options.fault_step + 1} is not a step of this spec (1..{len(steps)})")
        self.fault_index = (
            options.fault_step if options.fault_step is not None else default_fault_step(spec, options.fault_from)
        )
        self.world = SimulatedWorld(spec, options.requests_per_second, options.assume_mirroring)
        self.store = MemoryMigrationStore()
        self.store.put({"metadata": {"namespace": namespace, "name": name}, "spec": spec.to_wire()})
        self.ports = Ports(
            migrations=self.store,
            routes=lambda namespace, spec: self.world.route_port,
            credentials=lambda namespace, spec: self.world.secrets_port,
            analysis=self,
            evaluation=self,
        )
        self.status = ProviderMigrationStatus()
        self.now = START
        self.timeline: list[TimelineRow] = []
        self.verdicts: Counter[str] = Counter()
        self.criteria: list[str] = []
        self.fault_results: list[str] = []  # the scenario criterion's messages while the fault was active
        self.fault_started: float | None = None
        self.rollback_started: float | None = None
        self.gate_seen: dict[int, float] = {}
        self.target_metrics: dict[tuple[bool, float], SyntheticMetrics] = {}
        self.stopped_because = ""

    @property
    def offset(self) -> float:
        return (self.now - START).total_seconds()

    def faulty(self, status: ProviderMigrationStatus) -> bool:
        """The target misbehaves once the rollout has reached the fault step (and stays bad)."""
        if self.info.criterion is None:
            return False
        return self.fault_started is not None or (
            status.current_step >= self.fault_index and status.phase not in (Phase.PENDING, Phase.INITIALIZING)
        )

    # ----- the analysis and evaluation ports ------------------------------------------------------

    def evaluate(self, namespace: str, name: str, spec: ProviderMigrationSpec, now: datetime) -> EvaluationStatus:
        return EvaluationStatus(verdict="Pass", completed_at=now, message=EVALUATION_NOTE)

    def baseline(self, namespace: str, spec: ProviderMigrationSpec, now: datetime) -> BaselineObservation:
        analysis, source = spec.analysis, spec.source
        assert analysis is not None
        metrics = arm_metrics(
            analysis,
            ArmLabels(source.backend, source.model, self.namespace),
            analysis.baseline.window,
            SOURCE,
            self.options.requests_per_second,
            source.pricing,
        )
        return capture_baseline(spec, metrics, now, namespace=namespace)

    def analyze(
        self, namespace: str, spec: ProviderMigrationSpec, status: ProviderMigrationStatus, now: datetime
    ) -> AnalysisStatus:
        analysis, target = spec.analysis, spec.target
        assert analysis is not None
        faulty = self.faulty(status)
        share = self.world.split.load / 100
        key = (faulty, share)
        if key not in self.target_metrics:  # the same answers for the same split: render the queries once
            self.target_metrics[key] = arm_metrics(
                analysis,
                ArmLabels(target.backend, target.model, namespace),
                analysis.interval,
                target_profile(self.scenario, self.severity, faulty),
                self.options.requests_per_second * share,
                target.pricing,
            )
        metrics = self.target_metrics[key]
        result = run_analysis(spec, status, metrics, now, namespace=namespace)
        self.verdicts[result.verdict] += 1
        for criterion in result.criteria:
            if criterion.name not in self.criteria:
                self.criteria.append(criterion.name)
            if faulty and criterion.name == self.info.criterion and criterion.message:
                self.fault_results.append(f"{criterion.verdict}: {criterion.message}")
        return result

    # ----- the loop -------------------------------------------------------------------------------

    def tick(self) -> float | None:
        before = self.status
        meta = self.store.body(self.namespace, self.name)["metadata"]
        meta["annotations"] = {command_annotation(cmd): value for cmd, value in self.world.commands.items()}
        result = reconcile(self.ports, self.namespace, self.name, _unclaimed, self.now)
        assert result is not None  # nothing deletes it
        self.world.record(result.decision.effects, self.offset)
        self.record(before, result.status, result.events)
        self.status = result.status
        if self.fault_started is None and self.faulty(self.status):
            self.fault_started = self.offset
            self.timeline.append(
                self.row(self.status, "SimulatedFault", f"fault starts: {self.info.describe(self.severity)}")
            )
        if self.rollback_started is None and self.status.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK):
            self.rollback_started = self.offset
        return result.requeue_after

    def row(self, st: ProviderMigrationStatus | HistoryEntry, reason: str, message: str) -> TimelineRow:
        if isinstance(st, HistoryEntry):
            return TimelineRow(self.offset, st.phase.value, st.step + 1, st.weight, 0, reason, message)
        return TimelineRow(
            self.offset, st.phase.value, st.current_step + 1, st.current_weight, st.mirror_percent, reason, message
        )

    def record(self, before: ProviderMigrationStatus, after: ProviderMigrationStatus, events: list[Event]) -> None:
        """This tick's history entries and events, in the order decide() made them; an event without a history
        entry (AnalysisFailed, CredentialsProjected...) shows the state it happened in."""
        pending = [h for h in after.history if h.time == self.now]
        current: ProviderMigrationStatus | HistoryEntry = before
        for event in events:
            match = next((i for i, h in enumerate(pending) if h.reason == event.reason), None)
            if match is None:
                self.timeline.append(self.row(current, event.reason, event.message))
                continue
            for entry in pending[: match + 1]:
                self.timeline.append(self.row(entry, entry.reason, entry.message))
                current = entry
            pending = pending[match + 1 :]
        self.timeline.extend(self.row(entry, entry.reason, entry.message) for entry in pending)

    def waiting_on_people(self) -> str | None:
        """Why the rollout cannot go on without someone (None: it goes on by itself)."""
        st = self.status
        if st.phase == Phase.AWAITING_APPROVAL:
            if not self.options.auto_approve:
                return f"waiting for `pmo approve` at step {st.current_step + 1} (use --auto-approve to go on)"
            self.gate_seen.setdefault(st.current_step, self.offset)
            return None
        if st.phase == Phase.PAUSED:
            if st.pause_reason == PauseReason.ANALYSIS_INCONCLUSIVE:
                return (
                    f"paused: {st.message}; the target saw too few requests for minSamples "
                    "(raise --requests-per-second) or a query has no synthetic series"
                )
            return f"paused: {st.message}"
        if st.phase == Phase.BLOCKED:
            return f"blocked ({st.reason}): {st.message}"
        return None

    def decision_due(self) -> bool:
        """Whether decide() could do anything at this wake-up. In a world that never drifts, a wake-up with no
        observation due and no pause, window or approval ending is idle: skipping it changes nothing but
        the run time (the controller sleeps at most MAX_WAIT seconds, so a 7-day window is many wakes)."""
        st, spec = self.status, self.spec
        want = needs(spec, st, self.now)
        if want.analysis or want.baseline or want.evaluation:
            return True
        started = st.step_started_at or self.now
        waited = (self.now - started).total_seconds()
        if st.phase == Phase.PROGRESSING:
            steps = steps_of(spec)
            return st.current_step < 0 or waited >= pause_seconds(steps[st.current_step])
        if st.phase == Phase.STABILIZING:
            return waited >= seconds(spec.cleanup.stabilization)
        if st.phase == Phase.AWAITING_APPROVAL:
            seen = self.gate_seen.get(st.current_step)
            if seen is not None and self.offset >= seen + self.options.approve_after:
                self.world.commands["approve"] = f"simulated-approval-{st.current_step + 1}"
                return True
            return False
        return True

    def sleep(self, wait: float) -> None:
        self.world.pass_time(wait, self.faulty(self.status))
        self.now += timedelta(seconds=wait)

    def run(self) -> None:
        for _ in range(self.options.max_ticks):
            wait = self.tick()
            if self.status.phase in TERMINAL_PHASES or wait is None:
                self.stopped_because = f"the migration {self.status.phase.value}"
                return
            waiting = self.waiting_on_people()
            if waiting is not None:
                self.stopped_because = waiting
                return
            while True:
                if self.offset + wait > self.options.horizon:
                    self.stopped_because = f"reached the simulation horizon ({self.options.horizon / 86400:g} days)"
                    return
                self.sleep(wait)
                if self.decision_due():
                    break
        self.stopped_because = f"stopped after {self.options.max_ticks} decisions"

    # ----- the result -----------------------------------------------------------------------------

    def notes(self) -> list[str]:
        spec, info, notes = self.spec, self.info, []
        if spec.analysis is None:
            notes.append(
                "spec.analysis is not set: this migration never rolls back on metrics"
                + (f"; the {info.criterion} fault goes unnoticed" if info.criterion else "")
            )
        elif info.criterion is not None and self.fault_started is not None:
            if info.criterion not in self.criteria:
                notes.append(
                    f"the {info.criterion} criterion is not evaluated for this spec ({_why_not(spec, info.criterion)}):"
                    f" the {self.scenario.value} fault cannot trigger a rollback"
                )
            elif self.status.reason != info.rollback_reason and self.fault_results:
                notes.append(f"{info.criterion} during the fault: {self.fault_results[-1]}")
        if spec.analysis is not None and spec.analysis.custom:
            names = ", ".join(c.name for c in spec.analysis.custom)
            notes.append(f"custom criteria ({names}) are simulated as healthy")
        if spec.evaluation is not None:
            notes.append(EVALUATION_NOTE)
        mirrors = any(s.mirror is not None for s in spec.strategy.steps)
        if mirrors and self.options.assume_mirroring and not self.world.route_can_mirror:
            notes.append(f"{spec.route.kind} routes cannot mirror: rehearsed as if the route were an HTTPRoute")
        if info.criterion is not None and self.fault_started is None:
            notes.append(f"the rollout never reached step {self.fault_index + 1}, where the fault starts")
        return notes

    def result(self) -> SimulationResult:
        st, world = self.status, self.world
        completed = (st.completed_at - (st.started_at or START)).total_seconds() if st.completed_at else None
        return SimulationResult(
            name=self.name,
            strategy=self.spec.strategy.type,
            steps=[step_text(s) for s in steps_of(self.spec)],
            scenario=self.scenario.value,
            fault=self.info.describe(self.severity),
            fault_step=self.fault_index + 1 if self.info.criterion else None,
            final_phase=st.phase.value,
            final_reason=st.reason,
            final_message=st.message,
            stopped_because=self.stopped_because,
            elapsed=self.offset,
            completed_after=completed,
            full_traffic_after=world.full_traffic_at,
            fault_started_after=self.fault_started,
            rollback_started_after=self.rollback_started,
            splits=[str(s) for s in world.splits],
            weights=_distinct([s.target for s in world.splits]),
            exposure=world.exposure,
            analyses=dict(self.verdicts),
            criteria=list(self.criteria),
            notes=self.notes(),
            timeline=self.timeline,
        )


def simulate(
    spec: ProviderMigrationSpec,
    scenario: Scenario,
    options: SimulationOptions | None = None,
    *,
    name: str = "",
    namespace: str = "default",
) -> SimulationResult:
    run = _Run(spec, scenario, options or SimulationOptions(), name, namespace)
    run.run()
    return run.result()


def _unclaimed(namespace: str, spec: ProviderMigrationSpec, name: str) -> str | None:
    return None  # a rehearsal has the route to itself


def _distinct(values: list[int]) -> list[int]:
    out: list[int] = []
    for v in values:
        if not out or out[-1] != v:
            out.append(v)
    return out


def _why_not(spec: ProviderMigrationSpec, criterion: str) -> str:
    assert spec.analysis is not None
    rules = spec.analysis.rollback_on
    enabled = {
        "errorRate": rules.error_rate.enabled,
        "latencyP95": rules.latency_p95.enabled,
        "cost": rules.cost.enabled,
        "quality": rules.quality.enabled,
    }
    if not enabled.get(criterion, True):
        return f"rollbackOn.{criterion}.enabled is false"
    if criterion == "quality":
        return "rollbackOn.quality.query is not set"
    if criterion == "cost":
        return "cost needs pricing on source and target and token queries"
    return "no query for it"
