"""The true cost of a migration: not just the API bill, but infrastructure, team time, errors and learning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from provider_migration.planning.roi import RoiInputs

DEFAULT_EFFORT_HOURS = 80.0  # two engineer-weeks: wiring, evaluation, rollout, clean-up
DEFAULT_HOURLY_RATE = 150.0
DEFAULT_LEARNING_CURVE_SHARE = 0.25  # learning-curve hours as a share of the effort, unless given


@dataclass(frozen=True)
class TrueCostInputs:
    api_current_monthly: float = 0.0
    api_target_monthly: float = 0.0
    infra_current_monthly: float = 0.0
    infra_target_monthly: float = 0.0
    effort_hours: float = DEFAULT_EFFORT_HOURS
    hourly_rate: float = DEFAULT_HOURLY_RATE
    learning_curve_hours: float | None = None  # None: DEFAULT_LEARNING_CURVE_SHARE x effort
    error_handling_monthly: float | None = None  # None: estimated from observed error rates, else 0
    # For the estimate: extra failed share on the target, monthly requests, and what a retried request costs.
    error_rate_delta: float | None = None
    monthly_requests: float | None = None
    target_cost_per_request: float | None = None


@dataclass(frozen=True)
class TrueCostLine:
    item: str
    kind: Literal["monthly", "one-off"]
    current: float
    target: float
    basis: str

    @property
    def delta(self) -> float:
        return self.target - self.current


def _error_handling(inputs: TrueCostInputs) -> tuple[float, str]:
    if inputs.error_handling_monthly is not None:
        return inputs.error_handling_monthly, "given"
    delta, requests, per_request = inputs.error_rate_delta, inputs.monthly_requests, inputs.target_cost_per_request
    if delta is None or requests is None or per_request is None:
        return 0.0, "no error rates for both sides: 0 (give --error-handling-monthly)"
    extra = max(0.0, delta)
    # Each extra failure is retried once at the target's price per request.
    return extra * requests * per_request, f"extra error rate {extra:.2%} x monthly requests x cost per request"


def true_cost(inputs: TrueCostInputs) -> tuple[list[TrueCostLine], RoiInputs]:
    """The table lines and the ROI inputs they add up to (monthly run costs; one-off costs in hours)."""
    learning_hours = inputs.learning_curve_hours
    learning_basis = "given"
    if learning_hours is None:
        learning_hours = DEFAULT_LEARNING_CURVE_SHARE * inputs.effort_hours
        learning_basis = f"default: {DEFAULT_LEARNING_CURVE_SHARE:.0%} of effort hours"
    errors, errors_basis = _error_handling(inputs)
    rate = inputs.hourly_rate
    lines = [
        TrueCostLine("API", "monthly", inputs.api_current_monthly, inputs.api_target_monthly, "tokens x list prices"),
        TrueCostLine("Infrastructure", "monthly", inputs.infra_current_monthly, inputs.infra_target_monthly, "given"),
        TrueCostLine("Error handling (delta)", "monthly", 0.0, errors, errors_basis),
        TrueCostLine(
            "Team time", "one-off", 0.0, inputs.effort_hours * rate, f"{inputs.effort_hours:g} h x {rate:g}/h"
        ),
        TrueCostLine(
            "Learning curve",
            "one-off",
            0.0,
            learning_hours * rate,
            f"{learning_hours:g} h x {rate:g}/h ({learning_basis})",
        ),
    ]
    monthly = [line for line in lines if line.kind == "monthly"]
    roi_inputs = RoiInputs(
        current_monthly=sum(line.current for line in monthly),
        target_monthly=sum(line.target for line in monthly),
        effort_hours=inputs.effort_hours,
        hourly_rate=rate,
        learning_curve_hours=learning_hours,
    )
    return lines, roi_inputs
