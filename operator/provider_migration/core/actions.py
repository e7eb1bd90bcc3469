"""What a decision asks the controller to do. Every action is idempotent: repeating one is harmless."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from .observations import RouteState, SecretsState


@dataclass(frozen=True)
class SetWeights:
    """Percent of traffic to each side (sums to 100); mirror is the share of requests copied to the target."""

    source: int
    target: int
    mirror: int = 0


@dataclass(frozen=True)
class ProjectCredentials:
    """Copy the target's key into the gateway Secret under the key the gateway reads."""


@dataclass(frozen=True)
class DecommissionSourceCredentials:
    """Remove the source key from the gateway Secret (never the user's own source Secret)."""


@dataclass(frozen=True)
class RemoveSourceFromRoute:
    """Drop the source entry/backendRef from the routing object."""


@dataclass(frozen=True)
class PostEvent:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


Action = SetWeights | ProjectCredentials | DecommissionSourceCredentials | RemoveSourceFromRoute | PostEvent


def expected_effect(action: Action, route: RouteState, secrets: SecretsState) -> tuple[RouteState, SecretsState]:
    """What the world looks like once an action took effect: the contract adapters implement, and the model
    that simulations and tests of decide() run against."""
    if isinstance(action, SetWeights):
        route = replace(
            route, source_weight=action.source, target_weight=action.target, target_present=True,
            mirror_percent=action.mirror,
        )  # fmt: skip
    elif isinstance(action, ProjectCredentials):
        secrets = replace(secrets, target_projected=True)
    elif isinstance(action, DecommissionSourceCredentials):
        secrets = replace(secrets, source_in_gateway=False)
    elif isinstance(action, RemoveSourceFromRoute):
        route = replace(route, source_present=False)
    return route, secrets
