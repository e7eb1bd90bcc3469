"""ProviderMigration status: all progress lives here, so a restarted operator resumes exactly.

Every field is declared in the CRD (the API server silently prunes undeclared ones). Never a secret
value: credentials appear only as checksums.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from .base import ApiModel

HISTORY_LIMIT = 50
Text = Annotated[str, Field(max_length=4096)]


class Phase(StrEnum):
    PENDING = "Pending"
    INITIALIZING = "Initializing"
    EVALUATING = "Evaluating"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    AWAITING_APPROVAL = "AwaitingApproval"
    STABILIZING = "Stabilizing"
    SUCCEEDED = "Succeeded"
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"
    BLOCKED = "Blocked"
    FAILED = "Failed"


TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.ROLLED_BACK, Phase.FAILED})


class StatusModel(ApiModel):
    # Tolerate fields written by a newer operator version instead of failing to read status.
    model_config = ApiModel.model_config | ConfigDict(extra="ignore")


class Condition(StatusModel):
    """metav1.Condition."""

    type: Annotated[str, Field(max_length=316)]
    status: Literal["True", "False", "Unknown"]
    reason: Annotated[str, Field(max_length=1024)]
    message: Annotated[str, Field(max_length=32768)] = ""
    last_transition_time: datetime
    observed_generation: int | None = None


class BaselineStatus(StatusModel):
    captured_at: datetime | None = None
    window: str | None = None
    request_rate: float | None = None
    error_rate: float | None = None
    latency_p50: float | None = None
    latency_p95: float | None = None
    latency_p99: float | None = None
    cost_per_request: float | None = None
    input_tokens_per_request: float | None = None
    output_tokens_per_request: float | None = None
    quality: float | None = None


class ForecastStatus(StatusModel):
    """Expected spend per request on each side at the source's token mix; cost analysis compares against it."""

    currency: str = "USD"
    source_cost_per_request: float | None = None
    target_cost_per_request: float | None = None
    target_to_source_ratio: float | None = None


Verdict = Literal["Pass", "Fail", "Inconclusive"]


class CriterionResult(StatusModel):
    name: Annotated[str, Field(max_length=63)]
    verdict: Verdict
    value: float | None = None
    threshold: float | None = None
    samples: float | None = None
    query: Text | None = None
    message: Text | None = None


class AnalysisStatus(StatusModel):
    time: datetime
    verdict: Verdict
    step: int | None = None
    weight: int | None = None
    criteria: list[CriterionResult] = Field(default_factory=list, max_length=20)


class HistoryEntry(StatusModel):
    time: datetime
    phase: Phase
    step: int
    weight: int
    reason: Annotated[str, Field(max_length=128)]
    message: Text = ""


class HandledCommands(StatusModel):
    """Last request id handled for each command annotation."""

    promote: Annotated[str, Field(max_length=253)] | None = None
    abort: Annotated[str, Field(max_length=253)] | None = None
    approve: Annotated[str, Field(max_length=253)] | None = None
    retry: Annotated[str, Field(max_length=253)] | None = None


class CredentialsStatus(StatusModel):
    """SHA-256 checksums (truncated) of referenced Secret values: detects rotation without storing a value."""

    source_checksum: Annotated[str, Field(max_length=64)] | None = None
    target_checksum: Annotated[str, Field(max_length=64)] | None = None
    target_projected: bool = False
    source_decommissioned: bool = False
    source_removed_from_route: bool = False


class ProviderSummary(StatusModel):
    pass_rate: float | None = None
    latency_p50: float | None = None
    latency_p95: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    errors: int | None = None
    items: int | None = None


class EvaluationStatus(StatusModel):
    verdict: Literal["Pass", "Fail", "Error"]
    completed_at: datetime
    source: ProviderSummary = Field(default_factory=ProviderSummary)
    target: ProviderSummary = Field(default_factory=ProviderSummary)
    results_config_map: Annotated[str, Field(max_length=253)] | None = None
    message: Text = ""


class ProviderMigrationStatus(StatusModel):
    phase: Phase = Phase.PENDING
    observed_generation: int | None = None
    current_step: int = Field(default=-1, description="Index into spec.strategy.steps; -1 before the first step.")
    current_weight: int = Field(default=0, description="Target share confirmed in the routing object, percent.")
    mirror_percent: int = 0
    step_started_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    baseline: BaselineStatus | None = None
    forecast: ForecastStatus | None = None
    last_analysis: AnalysisStatus | None = None
    failures: int = 0
    inconclusives: int = 0
    rollback_reason: Annotated[str, Field(max_length=1024)] | None = None
    credentials: CredentialsStatus = Field(default_factory=CredentialsStatus)
    evaluation: EvaluationStatus | None = None
    handled_commands: HandledCommands = Field(default_factory=HandledCommands)
    history: list[HistoryEntry] = Field(default_factory=list, max_length=HISTORY_LIMIT)
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=8,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    reason: Annotated[str, Field(max_length=128)] | None = None
    message: Text | None = None
