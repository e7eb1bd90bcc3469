"""Notification delivery, off the tick: one small loop per migration (a kopf daemon) that sends what the
outbox in status holds and records in status what each service was sent.

The tick only appends to the outbox (in the same compare-and-swap as its decision); this loop only writes
the subscriptions' positions and its condition, also with a compare-and-swap (the tick's next write then
sees them). So nothing here can delay or fail a tick, and a restart resumes from what status says was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import kopf
from kubernetes import client
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge
from pydantic import ValidationError

from provider_migration.api import constants as c
from provider_migration.api.keys import secret_text
from provider_migration.api.spec import NotificationSubscription
from provider_migration.api.status import Condition, NotificationsStatus, SubscriptionStatus
from provider_migration.notifications.config import CONFIG_KEY, NotificationConfig, SecretRef, parse
from provider_migration.notifications.delivery import Backoff, Outcome, Sender, UrlUnavailable, deliver

log = logging.getLogger(__name__)
RESOURCE = (c.GROUP, c.VERSION, c.PLURAL)
CONDITION = "NotificationsDelivered"
IDLE_WAIT = 3600.0  # nothing to send: until the tick's next outbox entry wakes the loop
WRITE_ATTEMPTS = 5
EXTRA = "provider-migration-operator[notifications]"
PROBLEM_RECHECK = 60.0  # seconds between rounds while something is wrong that no backoff covers


class NotificationMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.sent = Counter(
            "pmo_notifications_total", "Notification attempts by service and result (sent, failed)",
            ["service", "result"], registry=registry,
        )  # fmt: skip
        self.failing = Gauge(
            "pmo_notification_failures",
            "Failed delivery attempts in a row per migration and service (0 when delivering)",
            ["namespace", "name", "service"],
            registry=registry,
        )
        self.problems = Gauge(
            "pmo_notification_problems",
            "What is wrong with a migration's notifications now (failing services, missing Secrets, "
            "unknown services, malformed configuration or templates); 0 when all is well",
            ["namespace", "name"],
            registry=registry,
        )

    def forget(self, namespace: str, name: str) -> None:
        """A deleted migration's series go (the per-service counter is not per migration)."""
        for sample in [s for metric in self.failing.collect() for s in metric.samples]:
            labels = sample.labels
            if (labels["namespace"], labels["name"]) == (namespace, name):
                self.failing.remove(namespace, name, labels["service"])
        with contextlib.suppress(KeyError):
            self.problems.remove(namespace, name)


METRICS = NotificationMetrics()


@dataclass
class Round:
    """What one delivery round did, for the daemon to post Events about and to schedule the next."""

    body: dict[str, Any] | None
    problems: dict[str, str]
    retry_in: float | None


class Notifier:
    """Reads the configuration ConfigMap and the services' Secrets (both in the operator's namespace) and the
    migration; writes only status.notifications.subscriptions and the NotificationsDelivered condition."""

    def __init__(self, api: client.ApiClient, config_namespace: str, config_name: str, sender: Sender | None) -> None:
        self._core = client.CoreV1Api(api)
        self._custom = client.CustomObjectsApi(api)
        self.config_namespace, self.config_name = config_namespace, config_name
        self._sender = sender

    def config(self) -> NotificationConfig:
        try:
            cm = self._core.read_namespaced_config_map(self.config_name, self.config_namespace)
        except client.ApiException as e:
            config = NotificationConfig()
            config.problems.append(
                f"ConfigMap {self.config_namespace}/{self.config_name}: "
                + ("not found" if e.status == 404 else f"HTTP {e.status}")
            )
            return config
        return parse((cm.data or {}).get(CONFIG_KEY))

    def url(self, ref: SecretRef) -> str:
        where = f"Secret {self.config_namespace}/{ref.name}"
        try:
            secret = self._core.read_namespaced_secret(ref.name, self.config_namespace)
        except client.ApiException as e:
            raise UrlUnavailable(f"{where}: {'not found' if e.status == 404 else f'HTTP {e.status}'}") from None
        url = secret_text(secret.data, ref.key)
        if not url:
            raise UrlUnavailable(f"{where} has no usable key {ref.key}")
        return url

    def deliver_round(self, namespace: str, name: str, backoff: Backoff) -> Round:
        try:
            body = cast(
                dict[str, Any], self._custom.get_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, name)
            )
        except client.ApiException as e:
            if e.status == 404:
                return Round(None, {}, None)
            raise
        status = body.get("status") or {}
        try:
            notifications = NotificationsStatus.model_validate(status.get("notifications") or {})
        except ValidationError:
            return Round(body, {"status": "status.notifications is unreadable"}, None)
        if not notifications.outbox and not notifications.subscriptions:
            return Round(body, {}, None)
        config = self.config()
        subscriptions = config.subscriptions(namespace, _own_subscriptions(body))
        problems = {f"configuration {i + 1}": p for i, p in enumerate(config.problems)}
        if self._sender is None:
            if any(n.sequence > 0 for n in notifications.outbox) and subscriptions:
                problems["apprise"] = f"Apprise is not installed: pip install '{EXTRA}'"
            self._write(namespace, name, body, notifications.subscriptions, problems)
            return Round(body, problems, None)
        current = body

        def record(states: list[SubscriptionStatus]) -> bool:
            nonlocal current
            written = self._write(namespace, name, current, states, {})
            if written is None:
                return False
            current = written
            return True

        sender = self._sender
        outcome = deliver(notifications, subscriptions, config, self.url, sender, namespace, name, backoff, record)
        _count(namespace, name, outcome)
        problems |= outcome.problems
        METRICS.problems.labels(namespace, name).set(len(problems))
        if outcome.changed or _condition_of(current) != _condition_text(problems):
            self._write(namespace, name, current, outcome.subscriptions, problems)
        retry_in = backoff.next_in()
        if problems:  # a configuration or Secret may be fixed without any new notification: look again
            retry_in = min(retry_in if retry_in is not None else PROBLEM_RECHECK, PROBLEM_RECHECK)
        return Round(current, problems, retry_in)

    def _write(
        self,
        namespace: str,
        name: str,
        body: dict[str, Any],
        states: list[SubscriptionStatus],
        problems: dict[str, str],
    ) -> dict[str, Any] | None:
        """CAS write of the subscriptions and the condition; on a conflict re-read and write them again (both
        are this loop's alone, so nothing the tick wrote is lost). None when the migration is gone."""
        for _ in range(WRITE_ATTEMPTS):
            status = body.get("status") or {}
            conditions = [cnd for cnd in status.get("conditions") or [] if cnd.get("type") != CONDITION]
            conditions.append(_condition(status.get("conditions") or [], problems, body))
            patch = [
                {"op": "test", "path": "/metadata/resourceVersion", "value": body["metadata"]["resourceVersion"]},
                {"op": "add", "path": "/status/conditions", "value": conditions},
                {"op": "add", "path": "/status/notifications/subscriptions", "value": [s.to_wire() for s in states]},
            ]
            if "notifications" not in status:
                patch[2] = {"op": "add", "path": "/status/notifications", "value": {"subscriptions": patch[2]["value"]}}
            try:
                return cast(
                    dict[str, Any],
                    self._custom.patch_namespaced_custom_object_status(
                        c.GROUP, c.VERSION, namespace, c.PLURAL, name, patch,
                        _content_type="application/json-patch+json",
                    ),
                )  # fmt: skip
            except client.ApiException as e:
                if e.status == 404:
                    return None
                if e.status not in (409, 422):
                    raise
            try:
                body = cast(
                    dict[str, Any],
                    self._custom.get_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, name),
                )
            except client.ApiException as e:
                if e.status == 404:
                    return None
                raise
        raise RuntimeError("status kept changing while recording notifications")


def _own_subscriptions(body: dict[str, Any]) -> list[NotificationSubscription] | None:
    raw = (body.get("spec") or {}).get("notifications")
    if raw is None:
        return None
    try:
        return [NotificationSubscription.model_validate(s) for s in raw]
    except ValidationError:
        return []


def _condition(previous: list[dict[str, Any]], problems: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    value, message = _condition_text(problems)
    old = next((cnd for cnd in previous if cnd.get("type") == CONDITION), None)
    now = datetime.now(UTC)
    since = old["lastTransitionTime"] if old and old.get("status") == value else now.isoformat()
    return Condition.model_validate(
        {
            "type": CONDITION,
            "status": value,
            "reason": "DeliveryFailing" if problems else "Delivered",
            "message": message,
            "lastTransitionTime": since,
            "observedGeneration": body["metadata"].get("generation"),
        }
    ).to_wire()


def _condition_text(problems: dict[str, str]) -> tuple[str, str]:
    return ("False" if problems else "True", "; ".join(f"{k}: {v}" for k, v in sorted(problems.items()))[:32768])


def _condition_of(body: dict[str, Any]) -> tuple[str, str] | None:
    """The condition as written (status, message): an unchanged one is not written again."""
    for cnd in (body.get("status") or {}).get("conditions") or []:
        if cnd.get("type") == CONDITION:
            return str(cnd.get("status")), str(cnd.get("message") or "")
    return None


def _count(namespace: str, name: str, outcome: Outcome) -> None:
    for service, _ in outcome.sent:
        METRICS.sent.labels(service, "sent").inc()
    for service in outcome.failed:
        METRICS.sent.labels(service, "failed").inc()
    for state in outcome.subscriptions:
        METRICS.failing.labels(namespace, name, state.service).set(state.failures)


_notifier: Notifier | None = None


def install(notifier: Notifier | None) -> None:
    global _notifier
    _notifier = notifier


def wake(memo: kopf.Memo) -> None:
    event = memo.get("notify")
    if event is not None:
        event.set()


@kopf.on.event(*RESOURCE)
def wake_on_outbox(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """A new notification (the outbox sequence moved): deliver it now."""
    sequence = ((body.get("status") or {}).get("notifications") or {}).get("sequence")
    if memo.get("notified_sequence") != sequence:
        memo["notified_sequence"] = sequence
        wake(memo)


@kopf.daemon(*RESOURCE, id="notify", initial_delay=lambda **_: random.uniform(0, 1), cancellation_timeout=10.0)
async def notify(namespace: str | None, name: str, memo: kopf.Memo, stopped: kopf.DaemonStopped, **_: Any) -> None:
    if _notifier is None or namespace is None:
        return
    notifier = _notifier
    event = memo.get("notify")
    if event is None:
        event = memo["notify"] = asyncio.Event()
    backoff = Backoff()
    reported: dict[str, str] = {}
    while not stopped:
        event.clear()
        try:
            result = await asyncio.to_thread(notifier.deliver_round, namespace, name, backoff)
        except Exception as e:  # never a body or a URL: the type or HTTP status only
            detail = getattr(e, "status", None) or type(e).__name__
            log.warning("%s/%s: notification round failed (%s)", namespace, name, detail)
            result = Round(None, {}, 5.0)
        else:
            if result.body is None:
                METRICS.forget(namespace, name)
                return  # the migration is gone
            for key, problem in result.problems.items():
                if reported.get(key) != problem and result.body is not None:
                    log.warning("%s/%s: notifications: %s: %s", namespace, name, key, problem)
                    kopf.event(cast(kopf.Body, result.body), type="Warning", reason="NotificationFailed",
                               message=f"{key}: {problem}"[:1024])  # fmt: skip
            reported = dict(result.problems)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=result.retry_in if result.retry_in is not None else IDLE_WAIT)
