"""Return on a migration: monthly savings against the one-off cost of doing it, and the payback period."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RoiInputs:
    current_monthly: float  # run cost today (API + infrastructure + ...), per month
    target_monthly: float  # run cost after the migration, per month
    effort_hours: float  # engineering time to migrate
    hourly_rate: float
    learning_curve_hours: float = 0.0  # productivity lost while the team gets used to the new provider
    other_one_off: float = 0.0  # anything else paid once (contracts, dual running, ...)

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < 0 or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number >= 0")


@dataclass(frozen=True)
class Roi:
    monthly_savings: float
    annual_savings: float
    migration_cost: float
    payback_months: int | None  # whole months, rounded up; None when the migration never pays back
    payback_months_exact: float | None
    roi_12_months: float  # annual savings minus migration cost
    roi_percent_12_months: float | None
    no_payback_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def roi(inputs: RoiInputs) -> Roi:
    monthly = inputs.current_monthly - inputs.target_monthly
    migration_cost = (inputs.effort_hours + inputs.learning_curve_hours) * inputs.hourly_rate + inputs.other_one_off
    annual = 12 * monthly
    exact: float | None
    reason = None
    if monthly > 0:
        exact = migration_cost / monthly
        # Rounded first so float noise (1.0000000001) never adds a month.
        whole: int | None = math.ceil(round(exact, 9))
    else:
        exact = whole = None
        reason = (
            "the target costs the same as today: no savings to pay the migration back"
            if monthly == 0
            else f"the target costs {-monthly:,.2f} more per month than today: the migration never pays back"
        )
    return Roi(
        monthly_savings=monthly,
        annual_savings=annual,
        migration_cost=migration_cost,
        payback_months=whole,
        payback_months_exact=exact,
        roi_12_months=annual - migration_cost,
        roi_percent_12_months=(annual - migration_cost) / migration_cost * 100 if migration_cost > 0 else None,
        no_payback_reason=reason,
    )
