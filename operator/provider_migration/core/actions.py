"""What a decision asks the controller to do: effects on the routing object and the Secrets (each idempotent:
repeating one is harmless), and Events that tell people about it."""

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
class WithdrawTargetCredentials:
    """Remove the target key this migration projected into the gateway Secret (abort, rollback, deletion);
    a key that was there before the projection stays."""


@dataclass(frozen=True)
class DecommissionSourceCredentials:
    """Remove the source key from the gateway Secret (never the user's own source Secret)."""


@dataclass(frozen=True)
class RemoveSourceFromRoute:
    """Drop the source entry/backendRef from the routing object."""


@dataclass(frozen=True)
class RemoveTargetFromRoute:
    """Drop the (weight-0) target entry/backendRef the operator added (abort, rollback, deletion); one that
    was there before the migration stays."""


Effect = (
    SetWeights
    | ProjectCredentials
    | WithdrawTargetCredentials
    | DecommissionSourceCredentials
    | RemoveSourceFromRoute
    | RemoveTargetFromRoute
)


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event about the migration; posted only once the decision's status is recorded."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str
    by: str | None = None  # the user the API server authenticated for the command behind it, if any


def expected_effect(effect: Effect, route: RouteState, secrets: SecretsState) -> tuple[RouteState, SecretsState]:
    """What the world looks like once an effect is applied: the contract adapters implement, and the model
    that simulations and tests of decide() run against."""
    if isinstance(effect, SetWeights):
        route = replace(
            route, source_weight=effect.source, target_weight=effect.target, target_present=True,
            mirror_percent=effect.mirror,
        )  # fmt: skip
    elif isinstance(effect, ProjectCredentials):
        secrets = replace(secrets, target_projected=True)
    elif isinstance(effect, WithdrawTargetCredentials):
        secrets = replace(secrets, target_projected=False)
    elif isinstance(effect, DecommissionSourceCredentials):
        secrets = replace(secrets, source_in_gateway=False)
    elif isinstance(effect, RemoveSourceFromRoute):
        route = replace(route, source_present=False)
    elif isinstance(effect, RemoveTargetFromRoute):
        route = replace(route, target_present=False, target_weight=0, mirror_percent=0)
    return route, secrets
