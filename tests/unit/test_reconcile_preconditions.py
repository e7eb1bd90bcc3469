"""One tick through reconcile() with in-memory ports: a refused or blocked migration observes nothing
expensive (no Prometheus query, no golden-set run, no credential read for them) and changes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rollout_world import T0, spec_from

from provider_migration.api import constants as c
from provider_migration.api.reasons import BlockedReason
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import AnalysisStatus, EvaluationStatus, ProviderMigrationStatus
from provider_migration.controller.ports import Ports
from provider_migration.controller.reconcile import reconcile
from provider_migration.core.observations import BaselineObservation, RouteState, SecretsState

INITIALIZING = {"phase": "Initializing", "currentStep": -1}
ANALYSIS = {"prometheus": {"url": "http://prometheus:9090", "authSecret": {"name": "prom", "key": "token"}}}


class Store:
    def __init__(self, spec: ProviderMigrationSpec, status: dict[str, Any] | None = None) -> None:
        self.body: dict[str, Any] = {
            "apiVersion": c.API_VERSION,
            "kind": c.KIND,
            "metadata": {"name": "m", "namespace": "team", "resourceVersion": "1", "generation": 1},
            "spec": spec.to_wire(),
            "status": status or {},
        }

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.body

    def write_status(self, namespace: str, name: str, resource_version: str, status: dict[str, Any]) -> bool:
        self.body["status"] = status
        return True


class Route:
    supports_mirroring = False

    def __init__(self, state: RouteState) -> None:
        self.state, self.reads, self.writes = state, 0, 0

    def read(self) -> RouteState:
        self.reads += 1
        return self.state

    def apply_weights(self, source: int, target: int, mirror: int) -> None:
        self.writes += 1

    def remove_source(self) -> None:
        self.writes += 1

    def remove_target(self) -> None:
        self.writes += 1


class Creds:
    def __init__(self) -> None:
        self.reads = self.writes = 0

    def read(self) -> SecretsState:
        self.reads += 1
        return SecretsState(source_checksum="a", target_checksum="b")

    def project_target(self) -> None:
        self.writes += 1

    def decommission_source(self) -> None:
        self.writes += 1

    def withdraw_target(self) -> None:
        self.writes += 1


class Expensive:
    """Analysis and evaluation ports that count every call (each would send a credential)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def baseline(self, namespace: str, spec: ProviderMigrationSpec, now: datetime) -> BaselineObservation:
        self.calls.append("baseline")
        return BaselineObservation(error="no data")

    def analyze(
        self, namespace: str, spec: ProviderMigrationSpec, status: ProviderMigrationStatus, now: datetime
    ) -> AnalysisStatus:
        self.calls.append("analysis")
        return AnalysisStatus(time=now, verdict="Inconclusive")

    def evaluate(self, namespace: str, name: str, spec: ProviderMigrationSpec, now: datetime) -> EvaluationStatus:
        self.calls.append("evaluation")
        return EvaluationStatus(verdict="Error", completed_at=now)


def _tick(
    spec: ProviderMigrationSpec, route: Route, refusal: tuple[BlockedReason, str] | None = None, status: Any = None
):  # type: ignore[no-untyped-def]
    store, creds, expensive = Store(spec, status), Creds(), Expensive()
    ports = Ports(
        migrations=store,
        routes=lambda ns, s: route,
        credentials=lambda ns, s: creds,
        analysis=expensive,
        evaluation=expensive,
        authority=lambda ns, name, s: refusal,
    )
    result = reconcile(ports, "team", "m", lambda ns, s, me: None, now=T0)
    assert result is not None
    return result, creds, expensive


def test_a_blocked_migration_never_queries_the_baseline() -> None:
    """The finding: a route that does not exist, and the baseline (with the auth Secret's token) queried anyway."""
    route = Route(RouteState(found=False))
    result, _, expensive = _tick(spec_from(analysis=ANALYSIS), route, status=INITIALIZING)
    assert result.status.phase == "Blocked" and result.status.reason == "RouteNotFound"
    assert expensive.calls == []


def test_the_baseline_is_queried_once_preconditions_hold() -> None:
    route = Route(RouteState(found=True, source_present=True, source_weight=100))
    _, _, expensive = _tick(spec_from(analysis=ANALYSIS), route, status=INITIALIZING)
    assert expensive.calls == ["baseline"]


def test_a_refused_migration_reads_writes_and_sends_nothing() -> None:
    route = Route(RouteState(found=True, source_present=True, source_weight=100))
    refusal = (BlockedReason.NOT_PERMITTED, "ServiceAccount team/pmo-migrator may not get secrets prom")
    result, creds, expensive = _tick(spec_from(analysis=ANALYSIS), route, refusal)
    assert (result.status.phase, result.status.reason, result.status.message) == ("Blocked", *refusal)
    assert route.reads == route.writes == creds.reads == creds.writes == 0
    assert expensive.calls == []
    assert [e.reason for e in result.events][-1] == "Blocked"


def test_a_refusal_while_rolling_back_neither_writes_nor_claims_the_rollback_done() -> None:
    route = Route(RouteState(found=True, source_present=True, target_present=True, source_weight=50, target_weight=50))
    status = {"phase": "RollingBack", "reason": "Aborted", "currentStep": 1, "currentWeight": 50}
    result, _, _ = _tick(
        spec_from(), route, (BlockedReason.NOT_PERMITTED, "may not patch configmaps llm-gateway"), status
    )
    assert result.status.phase == "RollingBack"
    assert route.writes == 0
