"""The outbox: notifications are written into status together with the decision that caused them (one
compare-and-swap), so a crash can neither lose one nor invent one. Pure functions; no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from provider_migration.api.notifications import TRIGGER_OF_REASON
from provider_migration.api.status import (
    OUTBOX_LIMIT,
    Notification,
    NotificationsStatus,
    ProviderMigrationStatus,
    SubscriptionStatus,
)
from provider_migration.core.actions import Event


def enqueue(status: ProviderMigrationStatus, events: Iterable[Event], now: datetime) -> ProviderMigrationStatus:
    """`status` with a notification appended for every Event that has a trigger (a new object: the caller's
    status may share its parts with the status it was derived from)."""
    wanted = [e for e in events if e.reason in TRIGGER_OF_REASON]
    if not wanted:
        return status
    before = status.notifications or NotificationsStatus()
    sequence = before.sequence
    outbox = list(before.outbox)
    step = max(status.current_step, -1) + 1
    for event in wanted:
        sequence += 1
        outbox.append(
            Notification(
                sequence=sequence,
                time=now,
                trigger=TRIGGER_OF_REASON[event.reason],
                reason=event.reason,
                message=event.message,
                phase=status.phase,
                step=step,
                weight=status.current_weight,
                by=event.by,
            )
        )
    notifications = before.model_copy(update={"sequence": sequence, "outbox": outbox[-OUTBOX_LIMIT:]})
    return status.model_copy(update={"notifications": notifications})


def pending(notifications: NotificationsStatus, state: SubscriptionStatus) -> tuple[list[Notification], int]:
    """The notifications a subscription has not been sent yet, in order, and how many of those already left
    the bounded outbox (missed: the service was failing for longer than the outbox holds)."""
    newer = [n for n in notifications.outbox if n.sequence > state.delivered]
    first = newer[0].sequence if newer else notifications.sequence + 1
    return newer, max(first - state.delivered - 1, 0)
