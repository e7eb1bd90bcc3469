"""What the operator tells people besides status: who signs its Events, one log line per phase change."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import kopf
import pytest

from provider_migration.api.status import Phase, ProviderMigrationStatus
from provider_migration.cli.run import register
from provider_migration.controller import handlers
from provider_migration.controller.reconcile import reconcile

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Store:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body, self.writes = body, 0

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.body

    def write_status(self, namespace: str, name: str, resource_version: str, status: dict[str, Any]) -> bool:
        self.writes += 1
        self.body = {**self.body, "status": status}
        return True


class Ports:
    def __init__(self, store: Store) -> None:
        self.migrations = store
        self.unwritten: dict[Any, Any] = {}


def _body(status: dict[str, Any]) -> dict[str, Any]:
    meta = {"namespace": "shop", "name": "bot", "resourceVersion": "7", "generation": 1}
    return {"metadata": meta, "spec": {"route": {"kind": "Nope"}}, "status": status}


def test_one_info_line_per_recorded_phase_change(caplog: pytest.LogCaptureFixture) -> None:
    store = Store(_body(ProviderMigrationStatus(phase=Phase.PROGRESSING, current_step=1).to_wire()))
    with caplog.at_level(logging.INFO, logger="provider_migration.controller.reconcile"):
        reconcile(Ports(store), "shop", "bot", lambda *_: None, NOW)  # type: ignore[arg-type]
        reconcile(Ports(store), "shop", "bot", lambda *_: None, NOW)  # type: ignore[arg-type]
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(lines) == 1, lines
    assert lines[0].startswith("shop/bot: Progressing -> Failed (step 2, target 0%): InvalidSpec: Invalid spec")


def test_events_are_signed_by_the_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "pmo-7d9f-abc")
    settings = kopf.OperatorSettings()

    startup: Any = handlers.configure  # kopf's decorator types it as its handler protocol

    async def configure() -> None:
        await startup(settings=settings)

    asyncio.run(configure())
    assert settings.posting.reporting_component == "provider-migration-operator"
    assert settings.posting.reporting_instance == "pmo-7d9f-abc"
    assert "kopf" not in settings.posting.event_name_prefix


def test_run_accepts_standalone_as_kopf_does() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert parser.parse_args(["run", "--standalone", "-A"]).standalone is True
    assert parser.parse_args(["run", "--peering", "p"]).peering == "p"
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--standalone", "--peering", "p"])


def test_an_object_without_status_step_gets_it_on_its_next_tick() -> None:
    """Written by an operator before status.step existed: one write adds it, then ticks are idle again."""
    store = Store(_body(ProviderMigrationStatus(phase=Phase.PROGRESSING, current_step=2).to_wire()))
    tick = lambda: reconcile(Ports(store), "shop", "bot", lambda *_: None, NOW)  # type: ignore[arg-type]  # noqa: E731
    tick()  # settles into Failed (InvalidSpec)
    tick()
    settled = store.writes
    del store.body["status"]["step"]  # as an older operator left it
    tick()
    assert store.writes == settled + 1 and store.body["status"]["step"] == 3
    tick()
    assert store.writes == settled + 1


def test_a_failed_action_says_connection_refused_not_a_repr() -> None:
    import urllib3

    from provider_migration.controller.reconcile import ActionFailed, apply_effect
    from provider_migration.core.actions import SetWeights

    class Route:
        def apply_weights(self, source: int, target: int, mirror: int) -> None:
            urllib3.PoolManager(retries=urllib3.Retry(0)).request("GET", "http://127.0.0.1:1/", timeout=5)

    with pytest.raises(ActionFailed) as failed:
        apply_effect(SetWeights(source=90, target=10, mirror=0), Route(), None)  # type: ignore[arg-type]
    assert str(failed.value) == "SetWeights failed: connection refused"
