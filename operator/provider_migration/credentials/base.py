"""Interface for projecting provider keys into the gateway's Secret. Values never leave this module's calls."""

from __future__ import annotations

from typing import Protocol

from provider_migration.core.observations import SecretsState


class CredentialManager(Protocol):
    """Bound to one migration (namespace + spec)."""

    def read(self) -> SecretsState:
        """Presence and SHA-256 checksums of source, target and gateway keys."""
        ...

    def project_target(self) -> None:
        """Copy the target key into the gateway Secret under the gateway's key name; no write when equal."""
        ...

    def withdraw_target(self) -> None:
        """Remove the target key from the gateway Secret if this migration projected it; no-op otherwise."""
        ...

    def decommission_source(self) -> None:
        """Remove the source key from the gateway Secret; no-op when already gone."""
        ...
