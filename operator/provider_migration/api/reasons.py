"""Every reason the operator writes: `status.reason`, history entries and Events (CamelCase, as Kubernetes has
them). The wire values never change, so objects written by any version stay readable; `status.reason` stays a
plain string on the wire (a reason from a newer version is shown, not refused).

docs/architecture.md has the table of what each means.
"""

from __future__ import annotations

from enum import StrEnum


class ProgressReason(StrEnum):
    """status.reason while the rollout moves on by itself (or waits at a gate)."""

    INITIALIZING = "Initializing"
    RETRYING = "Retrying"
    EVALUATING = "Evaluating"
    UNBLOCKED = "Unblocked"
    STEP_ADVANCED = "StepAdvanced"
    STEPS_CHANGED = "StepsChanged"  # spec.strategy.steps edited mid-rollout: the current step re-derived
    AWAITING_APPROVAL = "AwaitingApproval"
    RESUMED = "Resumed"  # spec.paused went back to false
    PROMOTED = "Promoted"  # `pmo promote` ended a pause
    STABILIZING = "Stabilizing"
    SUCCEEDED = "Succeeded"


class PauseReason(StrEnum):
    """Why a migration is Paused (also `status.pauseReason`): decides what resumes it."""

    BY_SPEC = "PausedBySpec"  # spec.paused: `pmo resume`
    ANALYSIS_INCONCLUSIVE = "AnalysisInconclusive"  # inconclusiveLimit analyses in a row: `pmo promote`


class BlockedReason(StrEnum):
    """Why a migration is Blocked: a precondition that holds it where it is until it clears."""

    ROUTE_IN_USE = "RouteInUse"
    ROUTE_NOT_FOUND = "RouteNotFound"
    ROUTE_KIND_NOT_SERVED = "RouteKindNotServed"  # the route's kind has no CRD on this cluster
    ROUTE_INVALID = "RouteInvalid"
    SOURCE_NOT_IN_ROUTE = "SourceNotInRoute"
    MIRRORING_UNSUPPORTED = "MirroringUnsupported"
    SECRET_NOT_FOUND = "SecretNotFound"
    EVALUATION_FAILED = "EvaluationFailed"
    EVALUATION_INTERRUPTED = "EvaluationInterrupted"  # a run started and recorded no outcome: never re-run by itself
    BASELINE_UNAVAILABLE = "BaselineUnavailable"
    NOT_PERMITTED = "NotPermitted"  # the migration's ServiceAccount lacks a grant the spec needs
    CREDENTIAL_URL_NOT_ALLOWED = "CredentialURLNotAllowed"  # a credential would go to a URL the admin did not allow
    GATEWAY_KEY_CONFLICT = "GatewayKeyConflict"  # the target's gateway key holds a value the operator did not put there
    TEMPLATE_NOT_FOUND = "TemplateNotFound"  # spec.templateRef names no template
    TEMPLATE_INVALID = "TemplateInvalid"  # the template itself is unusable (a chain, a migration's field)
    TEMPLATE_MERGE_INVALID = "TemplateMergeInvalid"  # template + migration is not a valid spec


class RollbackReason(StrEnum):
    """Why a migration is RollingBack or RolledBack (`status.rollbackReason` has it in words)."""

    ERROR_RATE = "ErrorRate"
    LATENCY = "Latency"
    COST = "Cost"
    QUALITY = "Quality"
    CUSTOM_CRITERION = "CustomCriterion"
    ANALYSIS_FAILED = "AnalysisFailed"  # failed without a named criterion
    ABORTED = "Aborted"  # `pmo abort`


class FailureReason(StrEnum):
    """Why a migration is Failed."""

    INVALID_SPEC = "InvalidSpec"  # a spec the models refuse although the API server accepted it


class EventReason(StrEnum):
    """Reasons only Events and history entries carry (the status keeps the cause, e.g. ErrorRate)."""

    PAUSED = "Paused"
    BLOCKED = "Blocked"
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"
    APPROVED = "Approved"
    PROMOTED = "Promoted"
    ANALYSIS_FAILED = "AnalysisFailed"
    BASELINE_CAPTURED = "BaselineCaptured"
    EVALUATION_PASSED = "EvaluationPassed"
    CREDENTIALS_PROJECTED = "CredentialsProjected"
    CREDENTIALS_ROTATED = "CredentialsRotated"
    CREDENTIALS_DECOMMISSIONED = "CredentialsDecommissioned"
    CREDENTIALS_KEPT = "CredentialsKept"
    CREDENTIALS_WITHDRAWN = "CredentialsWithdrawn"
    WEIGHTS_RESTORED = "WeightsRestored"
    COMMAND_IGNORED = "CommandIgnored"  # a command the phase does not act on: handled as ignored, never later
    ACTION_FAILED = "ActionFailed"  # a routing or credential change kept failing (status.actionFailure)


StatusReason = ProgressReason | PauseReason | BlockedReason | RollbackReason | FailureReason
STATUS_REASONS = frozenset(
    r.value for group in (ProgressReason, PauseReason, BlockedReason, RollbackReason, FailureReason) for r in group
)
EVENT_REASONS = STATUS_REASONS | {r.value for r in EventReason}
