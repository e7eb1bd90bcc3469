"""Notification triggers: which decision Events people are told about, under which name.

A trigger is the name users subscribe to (`spec.notifications[].triggers`) and override templates by; it is
derived from the Event reason, so the decision's Events stay the one source of what happened.
"""

from __future__ import annotations

from enum import StrEnum

from .reasons import EventReason, ProgressReason


class Trigger(StrEnum):
    """A happening people can subscribe to."""

    STARTED = "started"
    STEP_ADVANCED = "step-advanced"
    AWAITING_APPROVAL = "awaiting-approval"
    APPROVED = "approved"
    PROMOTED = "promoted"
    PAUSED = "paused"
    BLOCKED = "blocked"
    ROLLING_BACK = "rolling-back"
    ROLLED_BACK = "rolled-back"
    SUCCEEDED = "succeeded"
    CREDENTIALS_DECOMMISSIONED = "credentials-decommissioned"


TRIGGER_OF_REASON: dict[str, Trigger] = {
    ProgressReason.INITIALIZING: Trigger.STARTED,
    ProgressReason.RETRYING: Trigger.STARTED,
    ProgressReason.STEP_ADVANCED: Trigger.STEP_ADVANCED,
    ProgressReason.AWAITING_APPROVAL: Trigger.AWAITING_APPROVAL,
    EventReason.APPROVED: Trigger.APPROVED,
    EventReason.PROMOTED: Trigger.PROMOTED,
    EventReason.PAUSED: Trigger.PAUSED,
    EventReason.BLOCKED: Trigger.BLOCKED,
    EventReason.ROLLING_BACK: Trigger.ROLLING_BACK,
    EventReason.ROLLED_BACK: Trigger.ROLLED_BACK,
    ProgressReason.SUCCEEDED: Trigger.SUCCEEDED,
    EventReason.CREDENTIALS_DECOMMISSIONED: Trigger.CREDENTIALS_DECOMMISSIONED,
}
