"""The demo's scenarios: which fault hits the target at the 50 % step, and how the migration must end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pmo_devenv.simulators.providers import ProviderConfig
from provider_migration.api.reasons import PauseReason, RollbackReason, StatusReason

# What the target provider does when nothing is wrong: the same as the source, so the forecast (target
# prices at the source's token mix) holds and only an injected fault can breach a criterion.
# 300 ms sits inside LiteLLM's (0.1, 0.5] latency bucket; x5 lands beyond 1 s, far over 2x the baseline p95.
PROVIDER_DEFAULTS: dict[str, Any] = {
    "latency_ms": 300.0,
    "latency_jitter_ms": 30.0,
    "input_tokens": 400,
    "output_tokens": 200,
    "quality": 0.9,
}

Fault = Callable[[ProviderConfig], dict[str, Any]]


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    fault: Fault | None = None  # changes to the TARGET provider's knobs, from its current config
    stops_prometheus: bool = False
    expect_phase: str = "Succeeded"
    expect_reason: StatusReason | None = None  # status.reason at the end
    criterion: str | None = None  # the analysis criterion the fault breaches

    @property
    def expect_weights(self) -> list[int]:
        """Target weights the route goes through, from the initial 0 (no target entry yet)."""
        if self.expect_phase == "Succeeded":
            return [0, 10, 50, 100]
        return [0, 10, 50, 0] if self.expect_phase == "RolledBack" else [0, 10, 50]


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("success", "no fault: 10 -> 50 -> 100 % and clean-up"),
        Scenario(
            "error-spike",
            "target error rate 0.3 from the 50 % step",
            fault=lambda cfg: {"error_rate": 0.3},
            expect_phase="RolledBack",
            expect_reason=RollbackReason.ERROR_RATE,
            criterion="errorRate",
        ),
        Scenario(
            "latency",
            "target latency x5 from the 50 % step",
            fault=lambda cfg: {"latency_ms": cfg.latency_ms * 5, "latency_jitter_ms": cfg.latency_jitter_ms * 5},
            expect_phase="RolledBack",
            expect_reason=RollbackReason.LATENCY,
            criterion="latencyP95",
        ),
        Scenario(
            "cost",
            "target output tokens x3 from the 50 % step",
            fault=lambda cfg: {"output_tokens": cfg.output_tokens * 3},
            expect_phase="RolledBack",
            expect_reason=RollbackReason.COST,
            criterion="cost",
        ),
        Scenario(
            "quality",
            "target quality drops 30 % from the 50 % step",
            fault=lambda cfg: {"quality": round(cfg.quality * 0.7, 4)},
            expect_phase="RolledBack",
            expect_reason=RollbackReason.QUALITY,
            criterion="quality",
        ),
        Scenario(
            "prometheus-down",
            "Prometheus stops at the 50 % step and stays down",
            stops_prometheus=True,
            expect_phase="Paused",
            expect_reason=PauseReason.ANALYSIS_INCONCLUSIVE,
        ),
    )
}


def describe_fault(scenario: Scenario, changes: dict[str, Any] | None) -> str:
    if scenario.stops_prometheus:
        return "Prometheus stopped"
    if not changes:
        return "none"
    return ", ".join(f"target {k}={v:g}" if isinstance(v, float) else f"target {k}={v}" for k, v in changes.items())
