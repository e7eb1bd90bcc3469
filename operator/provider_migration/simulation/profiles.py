"""Synthetic per-request metrics of each arm: a plausible source, a healthy target close to it, and faults."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .scenarios import Scenario


@dataclass(frozen=True)
class ArmProfile:
    error_rate: float  # failed / total
    latency_p50: float  # seconds
    latency_p95: float
    latency_p99: float
    input_tokens: float  # per request
    output_tokens: float
    quality: float  # score, higher is better


SOURCE = ArmProfile(
    error_rate=0.005,
    latency_p50=0.9,
    latency_p95=2.0,
    latency_p99=3.2,
    input_tokens=600,
    output_tokens=250,
    quality=0.90,
)
# Close to the source and inside every default threshold: a little slower, wordier, worse.
HEALTHY_TARGET = replace(
    SOURCE,
    error_rate=0.008,
    latency_p50=SOURCE.latency_p50 * 1.1,
    latency_p95=SOURCE.latency_p95 * 1.15,
    latency_p99=SOURCE.latency_p99 * 1.2,
    input_tokens=SOURCE.input_tokens * 1.02,
    output_tokens=SOURCE.output_tokens * 1.02,
    quality=SOURCE.quality * 0.99,
)


def target_profile(scenario: Scenario, severity: float, faulty: bool) -> ArmProfile:
    """The target's metrics; the scenario's fault applies only once `faulty`."""
    if not faulty or scenario == Scenario.SUCCESS:
        return HEALTHY_TARGET
    if scenario == Scenario.ERROR_SPIKE:
        return replace(HEALTHY_TARGET, error_rate=min(max(severity, 0.0), 1.0))
    if scenario == Scenario.LATENCY:
        return replace(
            HEALTHY_TARGET,
            latency_p50=SOURCE.latency_p50 * severity,
            latency_p95=SOURCE.latency_p95 * severity,
            latency_p99=SOURCE.latency_p99 * severity,
        )
    if scenario == Scenario.COST:
        # More tokens per request at the same prices: spend per request is `severity` over the forecast,
        # which prices the source's token mix at the target's rates.
        factor = 1 + severity
        return replace(
            HEALTHY_TARGET, input_tokens=SOURCE.input_tokens * factor, output_tokens=SOURCE.output_tokens * factor
        )
    return replace(HEALTHY_TARGET, quality=max(SOURCE.quality * (1 - severity), 0.0))
