"""The simulated cluster: the controller's in-memory route and Secrets (they obey the effects), and a ledger
of the splits the route went through and the requests each arm served between two ticks."""

from __future__ import annotations

from dataclasses import dataclass, field

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.controller.memory import MemoryRoute, MemorySecrets
from provider_migration.core.actions import Effect, SetWeights
from provider_migration.core.observations import RouteState, SecretsState
from provider_migration.routing.factory import ADAPTERS


@dataclass(frozen=True)
class Split:
    target: int
    mirror: int = 0

    def __str__(self) -> str:
        return f"mirror {self.mirror}%" if self.mirror and not self.target else f"{self.target}%"

    @property
    def load(self) -> float:
        """Share of all requests the target sees, served or mirrored, in percent."""
        return self.target + self.mirror * (100 - self.target) / 100


@dataclass
class Exposure:
    """Requests the target saw while the fault was active, until the route put everything back on the source."""

    served: float = 0.0  # answered by the faulty target: users saw these
    mirrored: float = 0.0  # copies whose responses were discarded
    total: float = 0.0  # all requests while the fault was active
    peak_weight: int = 0

    @property
    def share(self) -> float | None:
        return self.served / self.total if self.total > 0 else None


@dataclass
class SimulatedWorld:
    spec: ProviderMigrationSpec
    requests_per_second: float
    assume_mirroring: bool = False
    route_port: MemoryRoute = field(init=False)
    secrets_port: MemorySecrets = field(
        default_factory=lambda: MemorySecrets(
            SecretsState(source_checksum="simulated-source", target_checksum="simulated-target")
        )
    )
    commands: dict[str, str] = field(default_factory=dict)
    splits: list[Split] = field(default_factory=lambda: [Split(0)])
    exposure: Exposure = field(default_factory=Exposure)
    full_traffic_at: float | None = None  # offset at which the target first served 100 %

    def __post_init__(self) -> None:
        mirrors = self.route_can_mirror or self.assume_mirroring
        state = RouteState(found=True, source_present=True, source_weight=100, supports_mirroring=mirrors)
        self.route_port = MemoryRoute(state, supports_mirroring=mirrors)

    @property
    def route(self) -> RouteState:
        return self.route_port.state

    @property
    def route_can_mirror(self) -> bool:
        return ADAPTERS[self.spec.route.kind].supports_mirroring

    @property
    def split(self) -> Split:
        return Split(self.route.target_weight, self.route.mirror_percent)

    def record(self, effects: list[Effect], offset: float) -> None:
        """Note the splits a tick's effects (already applied to the route) went through."""
        for effect in effects:
            if isinstance(effect, SetWeights):
                split = Split(effect.target, effect.mirror)
                if self.splits[-1] != split:
                    self.splits.append(split)
                if effect.target == 100 and self.full_traffic_at is None:
                    self.full_traffic_at = offset

    def pass_time(self, seconds: float, faulty: bool) -> None:
        """Serve traffic for `seconds` on the current split."""
        if not faulty or seconds <= 0:
            return
        split, requests = self.split, self.requests_per_second * seconds
        self.exposure.total += requests
        self.exposure.served += requests * split.target / 100
        self.exposure.mirrored += requests * split.mirror * (100 - split.target) / 10_000
        if split.target > 0:
            self.exposure.peak_weight = max(self.exposure.peak_weight, split.target)
