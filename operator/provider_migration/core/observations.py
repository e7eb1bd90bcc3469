"""What the adapters read from the world before each decision. Plain frozen data, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from provider_migration.api.reasons import BlockedReason
from provider_migration.api.status import AnalysisStatus, BaselineStatus, EvaluationStatus


@dataclass(frozen=True)
class RouteState:
    """The routing object as the gateway sees it, weights normalised to percent of the group."""

    found: bool
    error: str | None = None  # malformed object: a clear reason, never an exception
    served: bool = True  # False: the API server does not serve the route's kind at all (no CRD)
    source_present: bool = False
    target_present: bool = False
    source_weight: int = 0
    target_weight: int = 0
    mirror_percent: int = 0
    supports_mirroring: bool = False
    # Written but not yet confirmed served by the gateway (a roll in progress): the reason, or None.
    unverified: str | None = None
    # Another entry of the routing object reads the source's gateway key: it must not be decommissioned.
    source_key_shared: bool = False


@dataclass(frozen=True)
class SecretsState:
    """Presence and checksums of the referenced Secrets. Checksums only: never a value."""

    missing: tuple[str, ...] = ()  # human-readable references, e.g. "Secret support/openai-key key api-key"
    source_checksum: str | None = None
    target_checksum: str | None = None
    target_projected: bool = False  # the gateway Secret holds the target key with its current value
    source_in_gateway: bool = True  # the gateway Secret still holds the source key
    # The gateway key the target is projected into holds something this migration did not put there (another
    # team's value, another migration's projection): projecting would overwrite it. A reason, or None.
    target_key_conflict: str | None = None
    target_key_existed: bool = False  # it already held the target's key before any projection: left in place
    source_key_foreign: bool = False  # the source's gateway key holds something other than the source's key


@dataclass(frozen=True)
class BaselineObservation:
    baseline: BaselineStatus | None = None
    error: str | None = None  # Prometheus unreachable, no data, too few samples


@dataclass(frozen=True)
class Observations:
    generation: int
    route: RouteState
    secrets: SecretsState = field(default_factory=SecretsState)
    commands: Mapping[str, str] = field(default_factory=dict)  # command -> request id from annotations
    # command (or "paused") -> the user the API server authenticated for its latest change
    authors: Mapping[str, str] = field(default_factory=dict)
    route_in_use_by: str | None = None  # another active migration driving the same route and model
    analysis: AnalysisStatus | None = None  # present only when an analysis ran for this tick
    baseline: BaselineObservation | None = None  # present only when a capture was requested
    evaluation: EvaluationStatus | None = None  # present only when an evaluation ran
    # The migration may not act (its ServiceAccount lacks a permission, a credential would go to a URL the
    # admin did not allow): (status reason, message). Nothing else was observed then.
    refused: tuple[BlockedReason, str] | None = None


@dataclass(frozen=True)
class Needs:
    """Which expensive observations the next decision wants (Prometheus queries, golden-set runs)."""

    analysis: bool = False
    baseline: bool = False
    evaluation: bool = False
