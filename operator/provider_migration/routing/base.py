"""The one small interface every routing target implements (LiteLLM ConfigMap, HTTPRoute, AIGatewayRoute)."""

from __future__ import annotations

from typing import Protocol

from provider_migration.core.observations import RouteState


class RouteAdapter(Protocol):
    """Bound to one migration's route; every write is server-side apply owning only weight-bearing fields."""

    supports_mirroring: bool

    def read(self) -> RouteState:
        """Current weights as the gateway applies them; a missing or malformed object is a RouteState, not an error."""
        ...

    def apply_weights(self, source: int, target: int, mirror: int) -> None:
        """Set both arms (and the mirror share); adds the target entry if missing; no write when already so."""
        ...

    def remove_source(self) -> None:
        """Remove the source entry/backendRef (cleanup after stabilisation); no-op when already gone."""
        ...

    def remove_target(self) -> None:
        """Remove the target entry/backendRef the operator added (abort, rollback, deletion); refuses while it
        takes traffic; no-op when already gone."""
        ...
