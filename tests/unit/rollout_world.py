"""A tiny in-memory world for driving decide() in unit tests: a route that obeys SetWeights, a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import (
    AnalysisStatus,
    BaselineStatus,
    CriterionResult,
    ProviderMigrationStatus,
)
from provider_migration.core.actions import Effect, Event, SetWeights, expected_effect
from provider_migration.core.decide import Decision, decide, needs
from provider_migration.core.observations import BaselineObservation, Observations, RouteState, SecretsState

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


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


@dataclass
class World:
    spec: ProviderMigrationSpec
    now: datetime = T0
    status: ProviderMigrationStatus = field(default_factory=ProviderMigrationStatus)
    route: RouteState = field(
        default_factory=lambda: RouteState(found=True, source_present=True, source_weight=100, supports_mirroring=True)
    )
    secrets: SecretsState = field(default_factory=lambda: SecretsState(source_checksum="s1", target_checksum="t1"))
    commands: dict[str, str] = field(default_factory=dict)
    authors: dict[str, str] = field(default_factory=dict)  # command -> who sent it (the admission policy's stamp)
    verdict: str = "Pass"  # what the next analysis measures
    baseline_error: str | None = None
    generation: int = 1
    weights_seen: list[int] = field(default_factory=list)
    effects_log: list[Effect] = field(default_factory=list)
    events_log: list[Event] = field(default_factory=list)

    def observe(self) -> Observations:
        want = needs(self.spec, self.status, self.now)
        base = None
        if want.baseline:
            base = (
                BaselineObservation(error=self.baseline_error) if self.baseline_error else BaselineObservation(BASELINE)
            )
        return Observations(
            generation=self.generation,
            route=self.route,
            secrets=self.secrets,
            commands=dict(self.commands),
            authors=dict(self.authors),
            analysis=analysis(self.verdict, self.now) if want.analysis else None,
            baseline=base,
        )

    def apply(self, action: Effect) -> None:
        self.effects_log.append(action)
        self.route, self.secrets = expected_effect(action, self.route, self.secrets)
        if isinstance(action, SetWeights) and (not self.weights_seen or self.weights_seen[-1] != action.target):
            self.weights_seen.append(action.target)

    def tick(self, advance: float = 0.0) -> Decision:
        self.now += timedelta(seconds=advance)
        decision = decide(self.spec, self.status, self.observe(), self.now)
        for effect in decision.effects:
            self.apply(effect)
        self.events_log.extend(decision.events)
        self.status = decision.status
        return decision

    def run(self, seconds: float, step: float = 5.0) -> None:
        end = self.now + timedelta(seconds=seconds)
        while self.now < end:
            self.tick(step)
