"""In-memory implementations of the controller's ports: a migration store with compare-and-swap status writes,
and a route and Secrets that obey the effects as `core.actions.expected_effect` says adapters do.

`pmo simulate` and the unit tests drive the real `reconcile()` through these; production wiring is `wiring.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
from provider_migration.core.observations import RouteState, SecretsState


@dataclass
class MemoryMigrationStore:
    """ProviderMigration objects by (namespace, name). Every write bumps resourceVersion, as the API server does."""

    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    status_writes: int = 0
    _version: int = 0

    def put(self, body: dict[str, Any]) -> None:
        """Create or replace an object (a user's apply); its status is kept as given."""
        meta = body.setdefault("metadata", {})
        meta.setdefault("namespace", "default")
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = self._bump()
        self.objects[(meta["namespace"], meta["name"])] = body

    def body(self, namespace: str, name: str) -> dict[str, Any]:
        """The stored object itself, to edit in place (then `touch` it, as any write would)."""
        return self.objects[(namespace, name)]

    def touch(self, namespace: str, name: str) -> None:
        self.objects[(namespace, name)]["metadata"]["resourceVersion"] = self._bump()

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        body = self.objects.get((namespace, name))
        if body is None:
            return None
        # A snapshot, as a GET returns. Shallow where that is safe: spec and status are only ever replaced
        # whole (here and by the callers that edit `body()`), never changed in place. A deep copy would cost
        # `pmo simulate` more than its decisions.
        return {**body, "metadata": {**body["metadata"]}}

    def write_status(self, namespace: str, name: str, resource_version: str, status: dict[str, Any]) -> bool:
        body = self.objects.get((namespace, name))
        if body is None or body["metadata"]["resourceVersion"] != resource_version:
            return False
        body["status"] = status
        body["metadata"]["resourceVersion"] = self._bump()
        self.status_writes += 1
        return True

    def _bump(self) -> str:
        self._version += 1
        return str(self._version)


@dataclass
class MemoryRoute:
    """A routing object whose weights are whatever the last SetWeights said."""

    state: RouteState
    supports_mirroring: bool = True

    def read(self) -> RouteState:
        return self.state

    def apply_weights(self, source: int, target: int, mirror: int) -> None:
        self._apply(SetWeights(source=source, target=target, mirror=mirror))

    def remove_source(self) -> None:
        self._apply(RemoveSourceFromRoute())

    def remove_target(self) -> None:
        self._apply(RemoveTargetFromRoute())

    def _apply(self, effect: Effect) -> None:
        self.state, _ = expected_effect(effect, self.state, SecretsState())


@dataclass
class MemorySecrets:
    """The referenced Secrets and the gateway Secret, as presence and checksums only."""

    state: SecretsState

    def read(self) -> SecretsState:
        return self.state

    def project_target(self) -> None:
        self._apply(ProjectCredentials())

    def decommission_source(self) -> None:
        self._apply(DecommissionSourceCredentials())

    def withdraw_target(self) -> None:
        self._apply(WithdrawTargetCredentials())

    def _apply(self, effect: Effect) -> None:
        _, self.state = expected_effect(effect, RouteState(found=False), self.state)
