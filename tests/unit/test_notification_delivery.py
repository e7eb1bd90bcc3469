"""Notifications: the outbox written with the decision, delivery in order per service with backoff, and the
configuration's bad parts reported, never raised."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provider_migration.api.notifications import Trigger
from provider_migration.api.spec import NotificationSubscription
from provider_migration.api.status import OUTBOX_LIMIT, Phase, ProviderMigrationStatus, SubscriptionStatus
from provider_migration.core.actions import Event
from provider_migration.notifications.config import SecretRef, parse
from provider_migration.notifications.delivery import Backoff, UrlUnavailable, deliver
from provider_migration.notifications.outbox import enqueue

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = "xoxb-very-secret-token"
URL = f"json://bot:{TOKEN}@hooks.example.com/services/{TOKEN}"
CONFIG = parse(
    """
services:
  oncall: {urlSecret: {name: oncall-url, key: url}}
  chat: {urlSecret: {name: chat-url, key: url}}
templates:
  rolling-back: {title: "ROLLBACK $namespace/$name", body: "$message at $weight%"}
"""
)


class FakeSender:
    def __init__(self, failing: set[str] | None = None) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.failing = failing or set()

    def send(self, url: str, title: str, body: str) -> str | None:
        if url in self.failing:
            return f"connection refused by {url} (token {TOKEN})"
        self.sent.append((url, title, body))
        return None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def urls(ref: SecretRef) -> str:
    if ref.name == "missing":
        raise UrlUnavailable("Secret pmo-system/missing: not found")
    return {"oncall-url": URL, "chat-url": "json://chat"}[ref.name]


def status_with(*reasons: str) -> ProviderMigrationStatus:
    status = ProviderMigrationStatus(phase=Phase.PROGRESSING, current_step=1, current_weight=50)
    return enqueue(status, [Event("Normal", r, f"{r} happened") for r in reasons], NOW)


def test_enqueue_numbers_triggered_events_and_skips_the_rest() -> None:
    status = status_with("StepAdvanced", "BaselineCaptured", "RollingBack")
    assert status.notifications is not None
    assert [(n.sequence, n.trigger, n.step, n.weight) for n in status.notifications.outbox] == [
        (1, "step-advanced", 2, 50),
        (2, "rolling-back", 2, 50),
    ]
    again = enqueue(status, [Event("Normal", "Succeeded", "done")], NOW)
    assert again.notifications is not None and again.notifications.sequence == 3
    assert status.notifications.sequence == 2, "the status it was derived from is left alone"
    assert enqueue(status, [Event("Normal", "WeightsRestored", "x")], NOW) is status


def test_outbox_is_bounded_and_keeps_counting() -> None:
    status = status_with(*["StepAdvanced"] * (OUTBOX_LIMIT + 5))
    assert status.notifications is not None
    assert len(status.notifications.outbox) == OUTBOX_LIMIT
    assert status.notifications.outbox[0].sequence == 6 and status.notifications.sequence == OUTBOX_LIMIT + 5


def run(status: ProviderMigrationStatus, subs: list[NotificationSubscription], sender: FakeSender, backoff: Backoff):  # type: ignore[no-untyped-def]
    assert status.notifications is not None
    records: list[list[SubscriptionStatus]] = []

    def record(states: list[SubscriptionStatus]) -> bool:
        records.append([s.model_copy() for s in states])
        return True

    outcome = deliver(status.notifications, subs, CONFIG, urls, sender, "ns", "mig", backoff, record)
    return outcome, records


def test_each_service_gets_its_triggers_in_order_and_each_send_is_recorded_before_the_next() -> None:
    status = status_with("Initializing", "StepAdvanced", "RollingBack", "RolledBack")
    subs = [
        NotificationSubscription(service="oncall"),
        NotificationSubscription(service="chat", triggers=[Trigger.ROLLING_BACK, Trigger.ROLLED_BACK]),
    ]
    sender = FakeSender()
    outcome, records = run(status, subs, sender, Backoff())
    assert [(u, t) for u, t, _ in sender.sent] == [
        (URL, "ns/mig: started"),
        (URL, "ns/mig: step-advanced"),
        (URL, "ROLLBACK ns/mig"),
        (URL, "ns/mig: rolled-back"),
        ("json://chat", "ROLLBACK ns/mig"),
        ("json://chat", "ns/mig: rolled-back"),
    ]
    assert sender.sent[2][2] == "RollingBack happened at 50%"
    assert len(records) == 6 and [s.delivered for s in records[0]] == [1, 0]
    assert [(s.service, s.delivered) for s in outcome.subscriptions] == [("oncall", 4), ("chat", 4)]
    # Delivered positions in status: a second round (a restart) sends nothing again.
    assert status.notifications is not None
    done = status.notifications.model_copy(update={"subscriptions": outcome.subscriptions})
    again = FakeSender()
    deliver(done, subs, CONFIG, urls, again, "ns", "mig", Backoff(), lambda _: True)
    assert again.sent == []


def test_a_failing_service_backs_off_keeps_its_place_and_never_holds_the_others() -> None:
    status = status_with("StepAdvanced", "Succeeded")
    subs = [NotificationSubscription(service="oncall"), NotificationSubscription(service="chat")]
    sender = FakeSender(failing={URL})
    clock = FakeClock()
    backoff = Backoff(clock=clock)
    outcome, _ = run(status, subs, sender, backoff)
    assert [u for u, _, _ in sender.sent] == ["json://chat", "json://chat"]
    oncall = outcome.subscriptions[0]
    assert oncall.delivered == 0 and oncall.failures == 1 and "oncall" in outcome.problems
    assert oncall.last_error == "connection refused by *** (token ***)"
    assert backoff.next_in() == 1.0
    # Before the backoff is over nothing is tried; after it, the failure count doubles the wait.
    assert status.notifications is not None
    st = status.notifications.model_copy(update={"subscriptions": outcome.subscriptions})
    outcome, _ = run(status.model_copy(update={"notifications": st}), subs, sender, backoff)
    assert outcome.subscriptions[0].failures == 1
    clock.now = 1.0
    outcome, _ = run(status.model_copy(update={"notifications": st}), subs, sender, backoff)
    assert outcome.subscriptions[0].failures == 2 and backoff.next_in() == 2.0
    sender.failing.clear()
    clock.now = 3.0
    st = st.model_copy(update={"subscriptions": outcome.subscriptions})
    outcome, _ = run(status.model_copy(update={"notifications": st}), subs, sender, backoff)
    assert outcome.subscriptions[0].delivered == 2 and outcome.subscriptions[0].failures == 0
    assert [u for u, _, _ in sender.sent].count(URL) == 2


def test_unknown_services_and_missing_secrets_are_problems_not_errors() -> None:
    config = parse("services:\n  gone: {urlSecret: {name: missing, key: url}}\n")
    status = status_with("StepAdvanced")
    assert status.notifications is not None
    subs = [NotificationSubscription(service="gone"), NotificationSubscription(service="nobody")]
    outcome = deliver(status.notifications, subs, config, urls, FakeSender(), "ns", "m", Backoff(), lambda _: True)
    assert outcome.problems == {
        "gone": "Secret pmo-system/missing: not found",
        "nobody": "service nobody is not in the notifications configuration",
    }


def test_malformed_configuration_parts_are_reported_and_the_rest_is_kept() -> None:
    config = parse(
        """
services:
  ok: {urlSecret: {name: s, key: url}}
  broken: {url: "slack://inline-token"}
defaultSubscriptions:
  "*": [{service: ok}]
  team: [{service: ok, triggers: [not-a-trigger]}]
templates:
  succeeded: {title: "$nosuchvar"}
  paused: {body: "50$ off"}
"""
    )
    assert set(config.services) == {"ok"}
    assert config.templates == {}
    assert len(config.problems) == 4 and not any("inline-token" in p for p in config.problems)
    assert [s.service for s in config.subscriptions("other", None)] == ["ok"]
    assert config.subscriptions("other", []) == []
    assert parse("a: [unclosed").problems and parse("- a list").problems


def test_a_subscription_as_stored_in_the_cluster_parses() -> None:
    """Triggers arrive as JSON strings; the strict wire parser must still take them (and only known ones)."""
    spec = {
        "route": {"kind": "ConfigMap", "name": "gw", "modelName": "chat"},
        "source": {"provider": "openai", "model": "gpt-4o", "backend": "a"},
        "target": {"provider": "anthropic", "model": "claude", "backend": "b"},
        "notifications": [{"service": "chat", "triggers": ["started", "rolled-back"]}],
    }
    from provider_migration.api.spec import ProviderMigrationSpec

    parsed = ProviderMigrationSpec.from_wire(spec).notifications
    assert parsed is not None and parsed[0].triggers == [Trigger.STARTED, Trigger.ROLLED_BACK]
    spec["notifications"] = [{"service": "chat", "triggers": ["not-a-trigger"]}]
    with pytest.raises(ValueError, match="not a valid Trigger"):
        ProviderMigrationSpec.from_wire(spec)


def test_a_deleted_migrations_notification_series_go() -> None:
    from prometheus_client import CollectorRegistry

    from provider_migration.controller.notify import NotificationMetrics

    metrics = NotificationMetrics(CollectorRegistry())
    metrics.failing.labels("ns", "gone", "oncall").set(3)
    metrics.failing.labels("ns", "kept", "oncall").set(1)
    metrics.problems.labels("ns", "gone").set(1)
    metrics.forget("ns", "gone")
    assert [s.labels["name"] for m in metrics.failing.collect() for s in m.samples] == ["kept"]
    assert [s for m in metrics.problems.collect() for s in m.samples] == []
    metrics.forget("ns", "never-seen")
