"""What a decision asks the controller to do. Every action is idempotent: repeating one is harmless."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


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
