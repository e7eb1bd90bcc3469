"""Sending what the outbox holds, in order, per subscribed service; a failing service is retried with
backoff and never holds up the others (or the migration). No I/O of its own: the sender, the Secret lookup
and the status write are passed in."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from provider_migration.api.spec import NotificationSubscription
from provider_migration.api.status import NotificationsStatus, SubscriptionStatus

from .config import NotificationConfig, SecretRef, render, template_for
from .outbox import pending

BACKOFF_BASE = 1.0  # seconds after the first failure; doubles per failure
BACKOFF_MAX = 300.0
ERROR_LIMIT = 1024


class Sender(Protocol):
    def send(self, url: str, title: str, body: str) -> str | None:
        """None when the service accepted it, else why not (never a part of the URL)."""
        ...


class UrlUnavailable(Exception):
    """The service's Secret (or its key) is missing or unusable. The message names them, never a value."""


@dataclass
class Backoff:
    """When each failing service may be tried again (monotonic seconds); in memory: a restart retries at once."""

    clock: Callable[[], float] = time.monotonic
    not_before: dict[str, float] = field(default_factory=dict)

    def ready(self, service: str) -> bool:
        return self.clock() >= self.not_before.get(service, 0.0)

    def failed(self, service: str, failures: int) -> None:
        self.not_before[service] = self.clock() + min(BACKOFF_BASE * 2 ** max(failures - 1, 0), BACKOFF_MAX)

    def succeeded(self, service: str) -> None:
        self.not_before.pop(service, None)

    def next_in(self) -> float | None:
        if not self.not_before:
            return None
        return max(min(self.not_before.values()) - self.clock(), 0.0)


@dataclass
class Outcome:
    subscriptions: list[SubscriptionStatus]
    problems: dict[str, str]  # service -> what is wrong with it now
    sent: list[tuple[str, int]] = field(default_factory=list)  # (service, sequence), in order
    failed: list[str] = field(default_factory=list)  # services whose attempt failed this round
    changed: bool = False  # subscriptions differ from what status holds


def deliver(
    notifications: NotificationsStatus,
    subscriptions: list[NotificationSubscription],
    config: NotificationConfig,
    url_of: Callable[[SecretRef], str],
    sender: Sender,
    namespace: str,
    name: str,
    backoff: Backoff,
    record: Callable[[list[SubscriptionStatus]], bool],
) -> Outcome:
    """Send each subscription what it has not been sent. `record` writes the subscriptions' state to status
    (False: the migration is gone); it is called after every notification sent, so a crash repeats at most
    the one being sent when it happened."""
    states = {s.service: s.model_copy() for s in notifications.subscriptions}
    outcome = Outcome(subscriptions=[], problems={})
    for sub in subscriptions:
        state = states.setdefault(sub.service, SubscriptionStatus(service=sub.service))
        outcome.subscriptions.append(state)

    def sent() -> bool:
        return record(outcome.subscriptions)

    for sub, state in zip(subscriptions, outcome.subscriptions, strict=True):
        if not _deliver_one(notifications, sub, state, config, url_of, sender, namespace, name, backoff, outcome, sent):
            return outcome  # the migration is gone
    before = {s.service: s for s in notifications.subscriptions}
    outcome.changed = [before.get(s.service) for s in outcome.subscriptions] != outcome.subscriptions
    return outcome


def _deliver_one(
    notifications: NotificationsStatus,
    sub: NotificationSubscription,
    state: SubscriptionStatus,
    config: NotificationConfig,
    url_of: Callable[[SecretRef], str],
    sender: Sender,
    namespace: str,
    name: str,
    backoff: Backoff,
    outcome: Outcome,
    sent: Callable[[], bool],
) -> bool:
    """False only when recording a send found the migration gone."""
    todo, missed = pending(notifications, state)
    if missed:
        state.missed += missed
        state.delivered += missed
    if not todo:
        return True
    ref = config.services.get(sub.service)
    if ref is None:
        outcome.problems[sub.service] = f"service {sub.service} is not in the notifications configuration"
        return True
    if not backoff.ready(sub.service):
        outcome.problems[sub.service] = state.last_error or "retrying"
        return True
    try:
        url = url_of(ref)
    except UrlUnavailable as e:
        _failed(state, str(e), backoff, outcome)
        return True
    for notification in todo:
        if sub.triggers is not None and notification.trigger not in sub.triggers:
            state.delivered = notification.sequence  # not subscribed: passed over
            continue
        title, body = render(template_for(config, notification.trigger), notification, namespace, name)
        error = sender.send(url, title, body)
        if error is not None:
            _failed(state, _redact(error, url), backoff, outcome)
            return True
        state.delivered, state.failures, state.last_error = notification.sequence, 0, None
        backoff.succeeded(sub.service)
        outcome.sent.append((sub.service, notification.sequence))
        if not sent():
            return False
    return True


def _failed(state: SubscriptionStatus, error: str, backoff: Backoff, outcome: Outcome) -> None:
    state.failures += 1
    state.last_error = error[:ERROR_LIMIT]
    backoff.failed(state.service, state.failures)
    outcome.problems[state.service] = state.last_error
    outcome.failed.append(state.service)


def _redact(text: str, url: str) -> str:
    """Whatever of the URL (host, user, token, path, query values) a library message repeats becomes ***."""
    parts = urlsplit(url)
    secrets = {url, parts.netloc, parts.username or "", parts.password or "", parts.hostname or ""}
    secrets |= set(parts.path.split("/")) | {v for _, v in parse_qsl(parts.query)}
    for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class AppriseSender:
    """Apprise (https://github.com/caronc/apprise): Slack, Teams, Discord, email, JSON webhooks and more."""

    def __init__(self) -> None:
        import apprise  # optional dependency (pip install 'provider-migration-operator[notifications]')

        self._apprise = apprise
        # Apprise logs URLs it cannot parse in full: its records never reach our log; failures are captured.
        logger = logging.getLogger("apprise")
        logger.propagate = False
        logger.addHandler(logging.NullHandler())

    def send(self, url: str, title: str, body: str) -> str | None:
        apprise = self._apprise
        app = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory", secure_logging=True))
        with apprise.LogCapture(level=logging.WARNING) as captured:
            if not app.add(url):
                return "the service URL in its Secret is not a URL Apprise understands"
            if app.notify(title=title, body=body):
                return None
            detail = " ".join(captured.getvalue().split())
        return f"the service did not accept the notification: {detail or 'no reason given'}"
