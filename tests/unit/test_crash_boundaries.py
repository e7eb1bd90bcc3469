"""Crash safety at every action boundary, through the real reconcile() with in-memory ports.

For a full migration (steps, an approval gate, stabilisation and cleanup), a rollback on a failing analysis and
an abort, the status write right after each action fails in turn (a 409 conflict such as a label patch makes,
a 403, a 5xx; a SIGKILL between the action and the write looks the same to the next tick). Each run must end in
the same phase as the run without a fault, with the same sequence of target weights (no step repeated or
skipped, no rollback undone) and the cleanup done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from kubernetes.client import ApiException
from rollout_world import BASELINE, T0, spec_from

from provider_migration.api import constants as c
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import AnalysisStatus, CriterionResult, Phase, ProviderMigrationStatus
from provider_migration.controller.ports import Ports
from provider_migration.controller.reconcile import reconcile
from provider_migration.core.actions import (
    DecommissionSourceCredentials,
    Effect,
    ProjectCredentials,
    RemoveSourceFromRoute,
    RemoveTargetFromRoute,
    SetWeights,
    WithdrawTargetCredentials,
    expected_effect,
)
from provider_migration.core.observations import BaselineObservation, RouteState, SecretsState

NS, NAME = "support", "chat"
ANALYSIS = {"prometheus": {"url": "http://prometheus:9090"}, "interval": "30s"}
STEPS = [{"weight": 10, "pause": "1m"}, {"approval": {}}, {"weight": 50, "pause": "1m"}, {"weight": 100}]


@dataclass
class Faults:
    """Counts applied effects; the status write right after effect number `after` fails with `how`."""

    after: int | None = None
    how: str = "409"
    applied: int = 0
    armed: bool = False
    injected: int = 0

    def effect_applied(self) -> None:
        self.applied += 1
        if self.applied == self.after:
            self.armed = True


@dataclass
class Store:
    faults: Faults
    body: dict[str, Any] = field(default_factory=dict)
    version: int = 1

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return {**self.body, "metadata": {**self.body["metadata"]}}

    def write_status(self, namespace: str, name: str, resource_version: str, status: dict[str, Any]) -> bool:
        if self.faults.armed:
            self.faults.armed = False
            self.faults.injected += 1
            if self.faults.how == "409":
                self.touch()  # a concurrent label patch: the compare-and-swap loses
                return False
            raise ApiException(status=int(self.faults.how), reason="injected")
        if resource_version != self.body["metadata"]["resourceVersion"]:
            return False
        self.body["status"] = status
        self.touch()
        return True

    def touch(self) -> None:
        self.version += 1
        self.body["metadata"]["resourceVersion"] = str(self.version)

    def annotate(self, command: str, value: str) -> None:
        self.body["metadata"].setdefault("annotations", {})[c.command_annotation(command)] = value
        self.touch()


@dataclass
class Gateway:
    """The routing object and the gateway Secret, obeying effects as adapters do."""

    faults: Faults
    route: RouteState = field(
        default_factory=lambda: RouteState(found=True, source_present=True, source_weight=100, supports_mirroring=True)
    )
    secrets: SecretsState = field(default_factory=lambda: SecretsState(source_checksum="s1", target_checksum="t1"))
    weights: list[int] = field(default_factory=lambda: [0])

    def apply(self, effect: Effect) -> None:
        self.route, self.secrets = expected_effect(effect, self.route, self.secrets)
        if self.route.target_weight != self.weights[-1]:
            self.weights.append(self.route.target_weight)
        self.faults.effect_applied()

    # RouteAdapter
    def read(self) -> RouteState:
        return self.route

    def apply_weights(self, source: int, target: int, mirror: int) -> None:
        self.apply(SetWeights(source=source, target=target, mirror=mirror))

    def remove_source(self) -> None:
        self.apply(RemoveSourceFromRoute())

    def remove_target(self) -> None:
        self.apply(RemoveTargetFromRoute())


@dataclass
class Credentials:
    gateway: Gateway

    def read(self) -> SecretsState:
        return self.gateway.secrets

    def project_target(self) -> None:
        self.gateway.apply(ProjectCredentials())

    def decommission_source(self) -> None:
        self.gateway.apply(DecommissionSourceCredentials())

    def withdraw_target(self) -> None:
        self.gateway.apply(WithdrawTargetCredentials())


@dataclass
class Analysis:
    gateway: Gateway
    fail_at: int | None  # the target weight at which every analysis fails
    queries: int = 0

    def baseline(self, namespace: str, spec: ProviderMigrationSpec, now: datetime) -> BaselineObservation:
        return BaselineObservation(BASELINE)

    def analyze(
        self, namespace: str, spec: ProviderMigrationSpec, status: ProviderMigrationStatus, now: datetime
    ) -> AnalysisStatus:
        self.queries += 1
        verdict = "Fail" if self.gateway.route.target_weight == self.fail_at else "Pass"
        return AnalysisStatus(
            time=now,
            verdict=verdict,  # type: ignore[arg-type]
            criteria=[CriterionResult(name="errorRate", verdict=verdict, value=0.0)],  # type: ignore[arg-type]
        )


class NoEvaluation:
    def evaluate(self, *args: object) -> Any:
        raise AssertionError("no evaluation in these specs")


@dataclass
class Run:
    phase: Phase
    weights: list[int]
    route: RouteState
    secrets: SecretsState
    injected: int
    effects: int
    history: list[str]


def migrate(scenario: str, faults: Faults, ticks: int = 400) -> Run:
    spec = spec_from(strategy={"type": "Phased", "steps": STEPS}, analysis=ANALYSIS, cleanup={"stabilization": "2m"})
    store = Store(faults)
    store.body = {
        "metadata": {"namespace": NS, "name": NAME, "generation": 1, "resourceVersion": "1"},
        "spec": spec.to_wire(),
    }
    gateway = Gateway(faults)
    analysis = Analysis(gateway, fail_at=50 if scenario == "rollback" else None)
    ports = Ports(
        migrations=store,
        routes=lambda ns, s: gateway,  # type: ignore[arg-type,return-value]
        credentials=lambda ns, s: Credentials(gateway),  # type: ignore[arg-type,return-value]
        analysis=analysis,
        evaluation=NoEvaluation(),  # type: ignore[arg-type]
    )
    now, sent = T0, set()
    for _ in range(ticks):
        try:
            result = reconcile(ports, NS, NAME, lambda *a: None, now)
            assert result is not None
            wait = result.requeue_after
        except ApiException:
            wait = 5.0  # the driver's retry after a tick that raised
        phase = ProviderMigrationStatus.model_validate(store.body.get("status") or {}).phase
        if phase == Phase.AWAITING_APPROVAL and "approve" not in sent:
            sent.add("approve")
            store.annotate("approve" if scenario != "abort" else "abort", "r1")
        if phase in (Phase.SUCCEEDED, Phase.ROLLED_BACK) and not faults.armed:
            break
        now += timedelta(seconds=wait if wait is not None else 30.0)
    status = ProviderMigrationStatus.model_validate(store.body.get("status") or {})
    return Run(
        phase=status.phase,
        weights=gateway.weights,
        route=gateway.route,
        secrets=gateway.secrets,
        injected=faults.injected,
        effects=faults.applied,
        history=[f"{h.phase.value}:{h.reason}" for h in status.history],
    )


EXPECTED = {
    "complete": (Phase.SUCCEEDED, [0, 10, 50, 100]),
    "rollback": (Phase.ROLLED_BACK, [0, 10, 50, 0]),
    "abort": (Phase.ROLLED_BACK, [0, 10, 0]),
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_without_faults(scenario: str) -> None:
    run = migrate(scenario, Faults())
    assert (run.phase, run.weights) == EXPECTED[scenario]
    if scenario == "complete":
        assert not run.route.source_present and not run.secrets.source_in_gateway


@pytest.mark.parametrize("how", ["409", "403", "500"])
@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_a_lost_status_write_after_any_action_resumes(scenario: str, how: str) -> None:
    total = migrate(scenario, Faults()).effects
    assert total >= 3
    wrong = []
    for after in range(1, total + 1):
        run = migrate(scenario, Faults(after=after, how=how))
        cleaned = not run.route.source_present and not run.secrets.source_in_gateway
        if run.injected != 1 or (run.phase, run.weights) != EXPECTED[scenario] or (scenario == "complete") != cleaned:
            wrong.append(f"write lost after action {after}: {run.phase.value} {run.weights} {run.history[-3:]}")
    assert not wrong, "\n".join(wrong)
