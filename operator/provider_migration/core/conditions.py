"""Ready / Progressing / Degraded conditions derived from the phase (Kubernetes API conventions)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from provider_migration.api.status import Condition, Phase, ProviderMigrationStatus

ConditionStatus = Literal["True", "False", "Unknown"]

_MOVING = {
    Phase.PENDING,
    Phase.INITIALIZING,
    Phase.EVALUATING,
    Phase.PROGRESSING,
    Phase.STABILIZING,
    Phase.ROLLING_BACK,
}
_DEGRADED = {Phase.BLOCKED, Phase.FAILED, Phase.ROLLING_BACK, Phase.ROLLED_BACK}


def _wanted(status: ProviderMigrationStatus) -> dict[str, tuple[ConditionStatus, str]]:
    reason = status.reason or status.phase.value
    phase = status.phase
    return {
        "Ready": ("True", "Succeeded") if phase == Phase.SUCCEEDED else ("False", phase.value),
        "Progressing": ("True", reason) if phase in _MOVING else ("False", reason),
        "Degraded": ("True", reason) if phase in _DEGRADED else ("False", "AsExpected"),
    }


def conditions_for(status: ProviderMigrationStatus, generation: int, now: datetime) -> list[Condition]:
    """Full list, written in one go; lastTransitionTime changes only when a condition's status flips.
    Conditions of other types (NotificationsDelivered, written by the notification loop) are kept as they are."""
    previous = {c.type: c for c in status.conditions}
    wanted = _wanted(status)
    message = status.message or ""
    result = []
    for type_, (value, reason) in wanted.items():
        old = previous.get(type_)
        since = old.last_transition_time if old is not None and old.status == value else now
        result.append(
            Condition(
                type=type_,
                status=value,
                reason=reason,
                message=message if value == "True" or type_ == "Ready" else "",
                last_transition_time=since,
                observed_generation=generation,
            )
        )
    return result + [c for c in status.conditions if c.type not in wanted]
