"""ProviderMigration status: all progress lives here, so a restarted operator resumes exactly.

Every field is declared in the CRD (the API server silently prunes undeclared ones). Never a secret
value: credentials appear only as checksums.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic.json_schema import JsonDict

from .base import ApiModel
from .reasons import PauseReason

HISTORY_LIMIT = 50
OUTBOX_LIMIT = 32
Text = Annotated[str, Field(max_length=4096)]
STEP_INDEX = (
    "0-based index into spec.strategy.steps, -1 before the first step; people read it as step index + 1 (status.step)."
)
HANDLED = "Request id of the last `{}` annotation the operator acted on."


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
    """A standard Kubernetes condition (metav1.Condition)."""

    type: Annotated[str, Field(max_length=316)] = Field(description="Condition type, e.g. Ready or Progressing.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: Annotated[str, Field(max_length=1024)] = Field(description="CamelCase reason of the last transition.")
    message: Annotated[str, Field(max_length=32768)] = Field(default="", description="Human-readable detail.")
    last_transition_time: datetime = Field(description="When status last changed.")
    observed_generation: int | None = Field(default=None, description="metadata.generation the condition is about.")


class ActionFailure(StatusModel):
    """A routing or credential change that failed, tick after tick: kept in status so a restarted operator
    keeps backing off (and says why) instead of retrying every few seconds."""

    action: Annotated[str, Field(max_length=64)] = Field(description="The change that failed, e.g. SetWeights.")
    reason: Text = Field(description="Why, in words safe to show (the API status or the adapter's own words).")
    count: Annotated[int, Field(ge=1)] = Field(description="Failed tries in a row.")
    since: datetime = Field(description="When the first of them failed.")
    next_try_at: datetime = Field(description="No new try before then, unless the spec or a command changes.")
    inputs: Annotated[str, Field(max_length=64)] = Field(
        description="metadata.generation and a digest of the command annotations at the last try."
    )
    message_before: Text | None = Field(default=None, description="status.message before it told of the failure.")


class BaselineStatus(StatusModel):
    """The source's behaviour before any traffic moved: what the target is compared with."""

    captured_at: datetime | None = Field(default=None, description="When the baseline was measured.")
    window: str | None = Field(default=None, description="Window it was measured over (spec.analysis.baseline).")
    request_rate: float | None = Field(default=None, description="Source requests per second.")
    error_rate: float | None = Field(default=None, description="Source failed/total requests, 0..1.")
    latency_p50: float | None = Field(default=None, description="Source median latency, seconds.")
    latency_p95: float | None = Field(default=None, description="Source p95 latency, seconds.")
    latency_p99: float | None = Field(default=None, description="Source p99 latency, seconds.")
    cost_per_request: float | None = Field(default=None, description="Source cost per request, forecast currency.")
    input_tokens_per_request: float | None = Field(default=None, description="Source input tokens per request.")
    output_tokens_per_request: float | None = Field(default=None, description="Source output tokens per request.")
    quality: float | None = Field(default=None, description="Source quality score (spec...quality.query).")


class ForecastStatus(StatusModel):
    """Expected spend per request on each side at the source's token mix; cost analysis compares against it."""

    currency: str = Field(default="USD", description="Currency of both costs (from spec pricing).")
    source_cost_per_request: float | None = Field(default=None, description="Forecast source cost per request.")
    target_cost_per_request: float | None = Field(default=None, description="Forecast target cost per request.")
    target_to_source_ratio: float | None = Field(default=None, description="Target cost / source cost.")


Verdict = Literal["Pass", "Fail", "Inconclusive"]


class CriterionResult(StatusModel):
    """One criterion of one analysis."""

    name: Annotated[str, Field(max_length=63)] = Field(
        description="errorRate, latencyP95, cost, quality, or a spec.analysis.custom name."
    )
    verdict: Verdict = Field(description="Pass, Fail or Inconclusive (no data or too few samples).")
    value: float | None = Field(default=None, description="The measured value.")
    threshold: float | None = Field(default=None, description="The limit it was compared with.")
    samples: float | None = Field(default=None, description="Requests the target served in the window.")
    query: Text | None = Field(default=None, description="The PromQL that was run.")
    message: Text | None = Field(default=None, description="Why the verdict, in words (query errors included).")


class AnalysisStatus(StatusModel):
    """The most recent analysis."""

    time: datetime = Field(description="When it ran.")
    verdict: Verdict = Field(description="Pass if every criterion passed, Fail if one failed, else Inconclusive.")
    step: int | None = Field(default=None, description=STEP_INDEX)
    weight: int | None = Field(default=None, description="Target share during the analysis, percent.")
    criteria: list[CriterionResult] = Field(default_factory=list, max_length=20, description="Each criterion's result.")


class HistoryEntry(StatusModel):
    """One decision of the operator (the same as its Event)."""

    time: datetime = Field(description="When the decision was made.")
    phase: Phase = Field(description="Phase entered.")
    step: int = Field(description=STEP_INDEX)
    weight: int = Field(description="Target share at that point, percent.")
    reason: Annotated[str, Field(max_length=128)] = Field(description="CamelCase reason, as on the Event.")
    message: Text = Field(default="", description="What happened, in words.")
    by: Annotated[str, Field(max_length=512)] | None = Field(
        default=None,
        description="User the API server authenticated for the command behind this decision (promote, approve, "
        "abort, retry, pause, resume), when there was one.",
    )


class Notification(StatusModel):
    """One notification in the outbox: written with the decision it tells of, sent after that is recorded."""

    sequence: int = Field(description="Position among this migration's notifications, from 1.")
    time: datetime = Field(description="When the decision was made.")
    trigger: Annotated[str, Field(max_length=63)] = Field(description="Trigger name (started, rolling-back, ...).")
    reason: Annotated[str, Field(max_length=128)] = Field(description="CamelCase reason, as on the Event.")
    message: Text = Field(default="", description="What happened, in words (as on the Event).")
    phase: Phase = Field(description="Phase at that point.")
    step: int = Field(description="Step number as people read it (1-based, 0 before the first step).")
    weight: int = Field(description="Target share at that point, percent.")
    by: Annotated[str, Field(max_length=512)] | None = Field(
        default=None, description="User the API server authenticated for the command that caused it, if any."
    )


class SubscriptionStatus(StatusModel):
    """Delivery state of one subscribed service: what was sent, so a restart neither repeats nor skips."""

    service: Annotated[str, Field(max_length=253)] = Field(description="The service name.")
    delivered: int = Field(default=0, description="Sequence of the last notification delivered (or given up).")
    failures: int = Field(default=0, description="Failed delivery attempts in a row.")
    last_error: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None, description="Why the last attempt failed (never a URL or token)."
    )
    missed: int = Field(default=0, description="Notifications that left the outbox before they could be sent.")


class NotificationsStatus(StatusModel):
    """A bounded outbox of notifications and each subscription's delivery position."""

    sequence: int = Field(default=0, description="Sequence number of the newest notification.")
    outbox: list[Notification] = Field(
        default_factory=list, max_length=OUTBOX_LIMIT, description=f"The last {OUTBOX_LIMIT} notifications."
    )
    subscriptions: list[SubscriptionStatus] = Field(
        default_factory=list,
        max_length=20,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["service"]},
        description="Delivery state per subscribed service.",
    )


class HandledCommands(StatusModel):
    """Last request id handled for each command annotation."""

    promote: Annotated[str, Field(max_length=253)] | None = Field(default=None, description=HANDLED.format("promote"))
    abort: Annotated[str, Field(max_length=253)] | None = Field(default=None, description=HANDLED.format("abort"))
    approve: Annotated[str, Field(max_length=253)] | None = Field(default=None, description=HANDLED.format("approve"))
    retry: Annotated[str, Field(max_length=253)] | None = Field(default=None, description=HANDLED.format("retry"))


class CredentialsStatus(StatusModel):
    """SHA-256 checksums (truncated) of referenced Secret values: detects rotation without storing a value."""

    source_checksum: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="Checksum of the source's key when last read."
    )
    target_checksum: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="Checksum of the target's key when last projected."
    )
    target_projected: bool = Field(default=False, description="The target's key is in spec.gatewaySecret.")
    target_key_existed: bool = Field(
        default=False,
        description="The gateway key already held the target's key before the operator projected it; "
        "it is left in place on abort, rollback and deletion.",
    )
    source_decommissioned: bool = Field(
        default=False, description="The source's key was removed from spec.gatewaySecret."
    )
    source_removed_from_route: bool = Field(
        default=False, description="The source's entry was removed from the routing object."
    )
    target_entry_added: bool = Field(
        default=False,
        description="The operator added the target's entry to the routing object (it was not there before its "
        "first write); it is removed again on abort, rollback and deletion.",
    )


class ProviderSummary(StatusModel):
    """One provider's golden-set results."""

    pass_rate: float | None = Field(default=None, description="Items passing every scorer / items, 0..1.")
    latency_p50: float | None = Field(default=None, description="Median request latency, seconds.")
    latency_p95: float | None = Field(default=None, description="p95 request latency, seconds.")
    input_tokens: int | None = Field(default=None, description="Input tokens used.")
    output_tokens: int | None = Field(default=None, description="Output tokens used.")
    cost: float | None = Field(default=None, description="Cost of the run at spec pricing.")
    errors: int | None = Field(default=None, description="Requests that failed.")
    items: int | None = Field(default=None, description="Items sent.")


class EvaluationRun(StatusModel):
    """A golden-set run, recorded before it starts: paid requests go out at most once per spec generation."""

    generation: int = Field(description="metadata.generation of the spec it runs.")
    started_at: datetime = Field(description="When it started.")


class EvaluationStatus(StatusModel):
    """The golden-set evaluation's outcome."""

    verdict: Literal["Pass", "Fail", "Error"] = Field(
        description="Pass: traffic may move; Fail: the target scored too low; Error: it could not run."
    )
    completed_at: datetime = Field(description="When it finished.")
    source: ProviderSummary = Field(default_factory=ProviderSummary, description="The source's results.")
    target: ProviderSummary = Field(default_factory=ProviderSummary, description="The target's results.")
    results_config_map: Annotated[str, Field(max_length=253)] | None = Field(
        default=None, description="ConfigMap holding the per-item results."
    )
    message: Text = Field(default="", description="Summary in words.")


# Stored as given: a spec's schema lives on spec (and its CEL rules would judge every status write).
_OPAQUE: JsonDict = {"x-kubernetes-preserve-unknown-fields": True}


class TemplateStatus(StatusModel):
    """The template as it was when the migration started: later edits of it apply only to later migrations."""

    kind: Annotated[str, Field(max_length=63)] = Field(description="MigrationTemplate or ClusterMigrationTemplate.")
    name: Annotated[str, Field(max_length=253)] = Field(description="Its name.")
    resource_version: Annotated[str, Field(max_length=64)] = Field(description="Its resourceVersion when read.")
    resolved_at: datetime = Field(description="When it was read.")
    spec: dict[str, Any] = Field(
        default_factory=dict, json_schema_extra=_OPAQUE, description="Its spec when read: what the migration uses."
    )


class ProviderMigrationStatus(StatusModel):
    phase: Phase = Field(
        default=Phase.PENDING,
        description="Pending, Initializing, Evaluating, Progressing, Paused, AwaitingApproval, Stabilizing, "
        "RollingBack, Blocked; terminal: Succeeded, RolledBack, Failed.",
    )
    observed_generation: int | None = Field(default=None, description="metadata.generation last acted on.")
    step: int = Field(
        default=0,
        description="Step number as people read it (kubectl get STEP, pmo, Events, the report): "
        "1..len(spec.strategy.steps), 0 before the first step. Always currentStep + 1.",
    )
    current_step: int = Field(default=-1, description=STEP_INDEX)
    steps_checksum: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="Checksum of the steps currentStep counts in: an edit of them is a decision."
    )
    current_weight: int = Field(default=0, description="Target share confirmed in the routing object, percent.")
    mirror_percent: int = Field(default=0, description="Share of source traffic mirrored to the target, percent.")
    step_started_at: datetime | None = Field(default=None, description="When the current step began.")
    started_at: datetime | None = Field(default=None, description="When the migration began.")
    completed_at: datetime | None = Field(default=None, description="When it reached a terminal phase.")
    baseline: BaselineStatus | None = Field(default=None, description="The source's behaviour before the migration.")
    forecast: ForecastStatus | None = Field(default=None, description="Expected cost per request on each side.")
    last_analysis: AnalysisStatus | None = Field(default=None, description="The most recent analysis.")
    failures: int = Field(default=0, description="Failed analyses so far (compared with spec.analysis.failureLimit).")
    inconclusives: int = Field(
        default=0, description="Inconclusive analyses in a row (compared with spec.analysis.inconclusiveLimit)."
    )
    rollback_reason: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None, description="Why the migration rolled back, in words."
    )
    credentials: CredentialsStatus = Field(
        default_factory=CredentialsStatus, description="What the operator did with the keys (checksums only)."
    )
    evaluation: EvaluationStatus | None = Field(default=None, description="The golden-set evaluation's outcome.")
    evaluation_run: EvaluationRun | None = Field(
        default=None, description="The golden-set run, recorded before it starts (only `pmo retry` runs it again)."
    )
    handled_commands: HandledCommands = Field(
        default_factory=HandledCommands, description="Request ids of the commands already acted on."
    )
    history: list[HistoryEntry] = Field(
        default_factory=list,
        max_length=HISTORY_LIMIT,
        description=f"The operator's decisions, oldest first (the last {HISTORY_LIMIT}).",
    )
    notifications: NotificationsStatus | None = Field(
        default=None, description="Notifications of this migration: the outbox and what each service was sent."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=8,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        description="Standard conditions (Ready, Progressing, ...) for kubectl wait and Argo CD.",
    )
    reason: Annotated[str, Field(max_length=128)] | None = Field(
        default=None, description="CamelCase reason of the current phase (kubectl get -o wide REASON)."
    )
    pause_reason: PauseReason | None = Field(
        default=None,
        description="While Paused: PausedBySpec (spec.paused; `pmo resume` continues) or AnalysisInconclusive "
        "(too many analyses without data; `pmo promote` continues).",
    )
    message: Text | None = Field(default=None, description="The current state in words.")
    action_failure: ActionFailure | None = Field(
        default=None, description="A routing or credential change that keeps failing; gone once one succeeds."
    )
    template: TemplateStatus | None = Field(
        default=None, description="The spec.templateRef template, recorded when the migration started."
    )
    effective_spec: dict[str, Any] | None = Field(
        default=None,
        json_schema_extra=_OPAQUE,
        description="With a template: status.template.spec merged with this spec (this spec wins), as validated "
        "and used by the operator.",
    )

    @model_validator(mode="after")
    def _pause_reason_of_older_objects(self) -> ProviderMigrationStatus:
        # Before status.pauseReason existed the cause was only in status.reason.
        if self.phase == Phase.PAUSED and self.pause_reason is None and self.reason in set(PauseReason):
            self.pause_reason = PauseReason(self.reason)
        return self

    def to_wire(self) -> dict[str, Any]:
        # `step` is derived, never decided: it cannot disagree with currentStep.
        return {**super().to_wire(), "step": max(self.current_step, -1) + 1}
