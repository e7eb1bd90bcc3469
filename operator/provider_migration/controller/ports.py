"""What the controller needs from the outside world, as small interfaces bound per migration.

Production wiring lives in `wiring.py`; `memory.py` has in-memory ones for `pmo simulate` and the unit tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from provider_migration.api.reasons import BlockedReason
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import AnalysisStatus, EvaluationStatus, ProviderMigrationStatus
from provider_migration.core.observations import BaselineObservation
from provider_migration.credentials.base import CredentialManager
from provider_migration.routing.base import RouteAdapter

from .templates import NoTemplates, TemplateStore


class MigrationStore(Protocol):
    def get(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def write_status(self, namespace: str, name: str, resource_version: str, status: dict[str, Any]) -> bool:
        """Compare-and-swap on resourceVersion; False when someone else wrote first."""
        ...


class AnalysisPort(Protocol):
    def baseline(self, namespace: str, spec: ProviderMigrationSpec, now: datetime) -> BaselineObservation: ...

    def analyze(
        self, namespace: str, spec: ProviderMigrationSpec, status: ProviderMigrationStatus, now: datetime
    ) -> AnalysisStatus: ...


class EvaluationPort(Protocol):
    def evaluate(
        self, namespace: str, name: str, spec: ProviderMigrationSpec, now: datetime
    ) -> EvaluationStatus | None:
        """The golden-set verdict; None while there is none yet and nothing was sent (the migration stays
        Evaluating). The tick records the run before calling this: one that raises is not run again by itself."""
        ...


@dataclass
class Ports:
    migrations: MigrationStore
    routes: Callable[[str, ProviderMigrationSpec], RouteAdapter]
    credentials: Callable[[str, ProviderMigrationSpec], CredentialManager]
    analysis: AnalysisPort
    evaluation: EvaluationPort
    # Asked first each tick: (status reason, message) when the migration may not act (controller/authority.py).
    authority: Callable[[str, str, ProviderMigrationSpec], tuple[BlockedReason, str] | None] | None = None
    templates: TemplateStore = field(default_factory=NoTemplates)
    # (namespace, name) -> (the stored analysis' time, a newer analysis with the same verdicts not written yet):
    # such an analysis is written at most every few minutes (reconcile.RECORD_ANALYSIS_EVERY), kept here meanwhile.
    unwritten: dict[tuple[str, str], tuple[datetime, AnalysisStatus]] = field(default_factory=dict)
