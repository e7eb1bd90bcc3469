"""What each scenario does to the target: one criterion's metric goes bad from the fault step on.

Severities are absolute, not derived from the spec's thresholds, so the spec's `rollbackOn` decides whether
a fault is caught: a threshold looser than the fault lets it through, and the simulation says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from provider_migration.analysis.criteria import COST, ERROR_RATE, LATENCY_P95, QUALITY
from provider_migration.api.reasons import RollbackReason


class Scenario(StrEnum):
    SUCCESS = "success"
    ERROR_SPIKE = "error-spike"
    LATENCY = "latency"
    COST = "cost"
    QUALITY = "quality"


@dataclass(frozen=True)
class ScenarioInfo:
    criterion: str | None  # the criterion the fault breaks; None: a healthy target
    rollback_reason: RollbackReason | None  # status.reason decide() gives a rollback on that criterion
    default_severity: float
    severity_help: str

    def describe(self, severity: float) -> str:
        return self.severity_help.format(severity=severity)


SCENARIOS: dict[Scenario, ScenarioInfo] = {
    Scenario.SUCCESS: ScenarioInfo(None, None, 0.0, "a healthy target"),
    Scenario.ERROR_SPIKE: ScenarioInfo(
        ERROR_RATE, RollbackReason.ERROR_RATE, 0.20, "{severity:.0%} of target requests fail"
    ),
    Scenario.LATENCY: ScenarioInfo(
        LATENCY_P95, RollbackReason.LATENCY, 4.0, "target p95 latency {severity:g}x the source's"
    ),
    Scenario.COST: ScenarioInfo(
        COST, RollbackReason.COST, 0.50, "target spends {severity:.0%} more per request than forecast"
    ),
    Scenario.QUALITY: ScenarioInfo(
        QUALITY, RollbackReason.QUALITY, 0.25, "target quality {severity:.0%} below the source's"
    ),
}
