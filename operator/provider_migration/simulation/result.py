"""What a simulation takes (options) and gives (the result with its decision timeline)."""

from __future__ import annotations

from dataclasses import dataclass, field

from provider_migration.api.spec import Step

from .world import Exposure


@dataclass(frozen=True)
class SimulationOptions:
    severity: float | None = None  # the scenario's fault magnitude (see scenarios.py); None: its default
    fault_step: int | None = None  # 0-based step index the fault starts at; None: the first at fault_from %
    fault_from: int = 50  # percent of requests reaching the target (served or mirrored) that starts the fault
    auto_approve: bool = False
    approve_after: float = 0.0  # seconds a human takes to approve a gate
    requests_per_second: float = 10.0  # all traffic of the route
    assume_mirroring: bool = False  # rehearse mirror steps even on a route kind that cannot mirror
    horizon: float = 90 * 86400.0  # simulated seconds before giving up
    max_ticks: int = 200_000


@dataclass(frozen=True)
class TimelineRow:
    offset: float  # seconds since the migration started
    phase: str
    step: int  # 1-based; 0 before the first step
    weight: int
    mirror: int
    reason: str
    message: str


@dataclass
class SimulationResult:
    name: str
    strategy: str
    steps: list[str]
    scenario: str
    fault: str
    fault_step: int | None  # 1-based; None for success
    final_phase: str
    final_reason: str | None
    final_message: str | None
    stopped_because: str
    elapsed: float  # simulated seconds until the simulation stopped
    completed_after: float | None  # until Succeeded / RolledBack
    full_traffic_after: float | None
    fault_started_after: float | None
    rollback_started_after: float | None
    splits: list[str]
    weights: list[int]
    exposure: Exposure
    analyses: dict[str, int]
    criteria: list[str]  # the criteria the analyses evaluated
    notes: list[str] = field(default_factory=list)
    timeline: list[TimelineRow] = field(default_factory=list)

    @property
    def detection_time(self) -> float | None:
        """From the fault's start to the rollback's start."""
        if self.fault_started_after is None or self.rollback_started_after is None:
            return None
        return self.rollback_started_after - self.fault_started_after


def step_text(step: Step) -> str:
    """Compact: `10% for 15m`, `mirror 20% for 2h`, `approval`."""
    if step.approval is not None:
        return "approval"
    text = f"mirror {step.mirror}%" if step.mirror is not None else f"{step.weight}%"
    return f"{text} for {step.pause}" if step.pause else text
