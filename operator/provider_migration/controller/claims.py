"""Which migration drives a route: the oldest active one per (namespace, route kind, name, model name)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from provider_migration.api.status import TERMINAL_PHASES

ClaimKey = tuple[str, str, str, str]
Claim = tuple[str, str, str]  # (creationTimestamp, name, phase)


def claim_key(namespace: str, spec: dict[str, Any]) -> ClaimKey | None:
    route = spec.get("route") or {}
    if not all(isinstance(route.get(k), str) for k in ("kind", "name", "modelName")):
        return None
    return (namespace, route["kind"], route["name"], route["modelName"])


def holder(claims: Iterable[Claim], me: str) -> str | None:
    """The other migration that owns the route before `me`, or None if `me` may drive it."""
    for claim in sorted(c for c in claims if c[2] not in TERMINAL_PHASES):
        return None if claim[1] == me else claim[1]
    return None
