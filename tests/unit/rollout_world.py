"""A tiny in-memory world for unit tests: the real `reconcile()` tick over the in-memory ports (a store with
compare-and-swap writes, a route and Secrets that obey the effects), scripted analyses and a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from provider_migration.api.constants import author_annotation, command_annotation
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import (
    AnalysisStatus,
    BaselineStatus,
    CriterionResult,
    EvaluationStatus,
    ProviderMigrationStatus,
)
from provider_migration.controller.memory import MemoryMigrationStore, MemoryRoute, MemorySecrets
from provider_migration.controller.ports import Ports
from provider_migration.controller.reconcile import TickResult, apply_effect, observe, parse_status, reconcile
from provider_migration.core.actions import Effect, Event, SetWeights
from provider_migration.core.decide import Decision
from provider_migration.core.observations import BaselineObservation, Observations, RouteState, SecretsState

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NAMESPACE, NAME = "default", "support-bot"


def spec_from(**overrides: object) -> ProviderMigrationSpec:
    base: dict[str, object] = {
        "route": {"kind": "ConfigMap", "name": "llm-gateway", "modelName": "chat"},
        "source": {
            "provider": "openai",
            "model": "gpt-4o",
            "backend": "openai-gpt-4o",
            "credentials": {"secretName": "openai-key"},
            "pricing": {"inputPerMillion": 2.5, "outputPerMillion": 10},
        },
        "target": {
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "backend": "anthropic-claude",
            "credentials": {"secretName": "anthropic-key"},
            "pricing": {"inputPerMillion": 3, "outputPerMillion": 15},
        },
        "gatewaySecret": "llm-gateway-keys",
        "strategy": {"type": "Phased", "steps": [{"weight": 10, "pause": "1m"}, {"weight": 50}, {"weight": 100}]},
        "cleanup": {"stabilization": "10m"},
    }
    base.update(overrides)
    return ProviderMigrationSpec.model_validate(base)


def analysis(verdict: str, at: datetime, name: str = "errorRate") -> AnalysisStatus:
    return AnalysisStatus(
        time=at,
        verdict=verdict,  # type: ignore[arg-type]
        criteria=[CriterionResult(name=name, verdict=verdict, value=0.0)],  # type: ignore[arg-type]
    )


BASELINE = BaselineStatus(
    captured_at=T0, latency_p95=1.0, error_rate=0.01, input_tokens_per_request=500, output_tokens_per_request=200
)


class World:
    """One migration; tests set its spec, status, route, Secrets, commands and the next analysis' verdict."""

    def __init__(
        self,
        spec: ProviderMigrationSpec,
        now: datetime = T0,
        status: ProviderMigrationStatus | None = None,
        route: RouteState | None = None,
        secrets: SecretsState | None = None,
        baseline_error: str | None = None,
    ) -> None:
        self.now = now
        self.commands: dict[str, str] = {}
        self.authors: dict[str, str] = {}  # command -> who sent it (the admission policy's stamp)
        self.verdict = "Pass"  # what the next analysis measures
        self.baseline_error = baseline_error
        self.evaluation: EvaluationStatus | None = None  # the golden-set verdict, once there is one
        self.route_in_use_by: str | None = None
        self.generation = 1
        self.weights_seen: list[int] = []
        self.effects_log: list[Effect] = []
        self.events_log: list[Event] = []  # posted: only those of a recorded decision
        self.last: TickResult | None = None  # what the last tick returned
        self.store = MemoryMigrationStore()
        self.store.put({"metadata": {"namespace": NAMESPACE, "name": NAME}, "spec": spec.to_wire()})
        self._spec = spec
        if status is not None:
            self.status = status
        default_route = RouteState(found=True, source_present=True, source_weight=100, supports_mirroring=True)
        self.route_port = MemoryRoute(route or default_route)
        self.secrets_port = MemorySecrets(secrets or SecretsState(source_checksum="s1", target_checksum="t1"))
        self.ports = Ports(
            migrations=self.store,
            routes=lambda namespace, spec: self.route_port,
            credentials=lambda namespace, spec: self.secrets_port,
            analysis=self,
            evaluation=self,
        )

    # ----- what tests set and read ---------------------------------------------------------------------

    @property
    def spec(self) -> ProviderMigrationSpec:
        return self._spec

    @spec.setter
    def spec(self, spec: ProviderMigrationSpec) -> None:
        self._spec = spec
        self._body["spec"] = spec.to_wire()

    @property
    def status(self) -> ProviderMigrationStatus:
        return parse_status(self._body.get("status"))

    @status.setter
    def status(self, status: ProviderMigrationStatus) -> None:
        self._body["status"] = status.to_wire()
        self.store.touch(NAMESPACE, NAME)

    @property
    def route(self) -> RouteState:
        return self.route_port.state

    @route.setter
    def route(self, route: RouteState) -> None:
        self.route_port.state = route

    @property
    def secrets(self) -> SecretsState:
        return self.secrets_port.state

    @secrets.setter
    def secrets(self, secrets: SecretsState) -> None:
        self.secrets_port.state = secrets

    @property
    def _body(self) -> dict[str, Any]:
        return self.store.body(NAMESPACE, NAME)

    # ----- the analysis and evaluation ports -----------------------------------------------------------

    def baseline(self, namespace: str, spec: ProviderMigrationSpec, now: datetime) -> BaselineObservation:
        return BaselineObservation(error=self.baseline_error) if self.baseline_error else BaselineObservation(BASELINE)

    def analyze(
        self, namespace: str, spec: ProviderMigrationSpec, status: ProviderMigrationStatus, now: datetime
    ) -> AnalysisStatus:
        return analysis(self.verdict, now)

    def evaluate(
        self, namespace: str, name: str, spec: ProviderMigrationSpec, now: datetime
    ) -> EvaluationStatus | None:
        return self.evaluation

    # ----- driving -------------------------------------------------------------------------------------

    def observe(self) -> Observations:
        """What the next tick would observe (for tests that call decide() themselves)."""
        self._sync()
        body = self.store.get(NAMESPACE, NAME)
        assert body is not None
        return observe(
            self.ports,
            NAMESPACE,
            NAME,
            self.spec,
            self.status,
            body,
            self._claims,
            self.route_port,
            self.secrets_port,
            self.generation,
            self.now,
        )

    def apply(self, effect: Effect) -> None:
        apply_effect(effect, self.route_port, self.secrets_port)
        self._log(effect)

    def tick(self, advance: float = 0.0) -> Decision:
        self.now += timedelta(seconds=advance)
        self._sync()
        result = reconcile(self.ports, NAMESPACE, NAME, self._claims, self.now)
        assert result is not None
        self.last = result
        for effect in result.decision.effects:
            self._log(effect)
        self.events_log.extend(result.events)
        return result.decision

    def run(self, seconds: float, step: float = 5.0) -> None:
        end = self.now + timedelta(seconds=seconds)
        while self.now < end:
            self.tick(step)

    def _claims(self, namespace: str, spec: ProviderMigrationSpec, name: str) -> str | None:
        return self.route_in_use_by

    def _sync(self) -> None:
        """The commands and generation as the user's last write left them on the object."""
        meta = self._body["metadata"]
        meta["generation"] = self.generation
        meta["annotations"] = {
            **{command_annotation(cmd): value for cmd, value in self.commands.items()},
            **{author_annotation(cmd): who for cmd, who in self.authors.items()},
        }

    def _log(self, effect: Effect) -> None:
        self.effects_log.append(effect)
        if isinstance(effect, SetWeights) and (not self.weights_seen or self.weights_seen[-1] != effect.target):
            self.weights_seen.append(effect.target)
