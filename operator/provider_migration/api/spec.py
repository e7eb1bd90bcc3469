"""ProviderMigration spec (v1alpha1).

Every cross-field rule exists twice on purpose: as CEL in the CRD, so the API server rejects a bad
manifest with a field path, and as a pydantic validator with the same message, so `pmo` commands and
the operator judge a spec exactly as the server does (tests/unit/test_invalid_examples.py keeps them agreeing).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from .base import ApiModel, cel
from .durations import Duration, seconds
from .notifications import Trigger

Name = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
KeyName = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")]
Fraction = Annotated[float, Field(ge=0, le=1)]
PromQL = Annotated[str, Field(min_length=1, max_length=4096)]


def with_cel(*rules: dict[str, str]) -> ConfigDict:
    """The model's config plus its CEL rules, emitted as `x-kubernetes-validations` on its schema."""
    return ApiModel.model_config | ConfigDict(json_schema_extra={"x-kubernetes-validations": [{**r} for r in rules]})


IMMUTABLE_ENDPOINT = cel(
    "self.provider == oldSelf.provider && self.model == oldSelf.model && self.backend == oldSelf.backend",
    "provider, model and backend are immutable once the migration exists; create a new migration instead",
)


# Provider names whose LiteLLM prefix differs: `vllm/` is LiteLLM's in-process vLLM library, the OpenAI-compatible
# vLLM server is `hosted_vllm/`; Google AI Studio is `gemini/`.
LITELLM_PROVIDER_PREFIX = {"vllm": "hosted_vllm", "google": "gemini", "azure-openai": "azure"}


class SecretKeyRef(ApiModel):
    """A key of a Secret in the migration's namespace."""

    name: Name = Field(description="Secret name.")
    key: KeyName = Field(description="Key within the Secret.")


class Verify(ApiModel):
    """Where the operator asks the LiteLLM proxy what it serves, so a step counts only once it is loaded."""

    url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] = Field(
        description="Base URL of the LiteLLM proxy (its Service), queried as GET <url>/v1/model/info."
    )
    key_secret: SecretKeyRef = Field(description="Secret key holding a LiteLLM key allowed to list models.")


class Reload(ApiModel):
    deployment: Name = Field(description="Deployment rolled (pod-template annotation) after the config changes.")


class RouteRef(ApiModel):
    """The routing object the operator edits, in the migration's namespace."""

    kind: Literal["ConfigMap", "HTTPRoute", "AIGatewayRoute"] = Field(
        description="Kind of the routing object: ConfigMap (a LiteLLM config), HTTPRoute (Gateway API) or "
        "AIGatewayRoute (Envoy AI Gateway)."
    )
    name: Name = Field(description="Name of the routing object, in the migration's namespace.")
    model_name: Annotated[str, Field(min_length=1, max_length=253)] = Field(
        description="The model name clients call (LiteLLM model_name, AI Gateway x-ai-eg-model header)."
    )
    rule: Annotated[str, Field(max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")] | None = Field(
        default=None, description="Name of the HTTPRoute/AIGatewayRoute rule carrying both backends."
    )
    config_key: KeyName = Field(default="config.yaml", description="ConfigMap key holding the LiteLLM config.")
    reload: Reload | None = Field(
        default=None, description="Deployment to roll after a ConfigMap change, for a gateway that reads its file once."
    )
    verify: Verify | None = Field(
        default=None,
        description="LiteLLM only: confirm with the proxy (GET /v1/model/info) that it serves the written weights "
        "before a step counts as applied; a written deployment it did not create blocks the migration.",
    )


class Credentials(ApiModel):
    """Where the provider's API key is: a Secret key in the migration's namespace (never copied into status)."""

    secret_name: Name = Field(description="Secret holding the provider's API key.")
    key: KeyName = Field(default="api-key", description="Key of that Secret holding the API key.")
    gateway_key: KeyName | None = Field(
        default=None,
        description="Key under which the gateway reads this provider's key from spec.gatewaySecret "
        "(default: <PROVIDER>_API_KEY for LiteLLM, apiKey for Envoy AI Gateway).",
    )


class Pricing(ApiModel):
    """List prices, used for the cost forecast, the cost criterion and the report."""

    input_per_million: Annotated[float, Field(ge=0, le=10000)] = Field(
        description="Price of one million input (prompt) tokens."
    )
    output_per_million: Annotated[float, Field(ge=0, le=10000)] = Field(
        description="Price of one million output (completion) tokens."
    )
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", max_length=3)] = Field(
        default="USD", description="ISO 4217 currency code of both prices."
    )

    def cost(self, input_tokens: float, output_tokens: float) -> float:
        """Spend for these tokens at the list prices: the one place the per-million formula lives."""
        return (input_tokens * self.input_per_million + output_tokens * self.output_per_million) / 1_000_000


class Endpoint(ApiModel):
    """One side of the migration: a provider's model as the routing object names it. Immutable."""

    provider: Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")] = Field(
        description="Provider name (openai, anthropic, vertex_ai, ...), as LiteLLM spells it."
    )
    model: Annotated[str, Field(min_length=1, max_length=253)] = Field(
        description="Model as the provider names it (gpt-4o-mini, claude-3-5-haiku-latest, ...)."
    )
    backend: Annotated[str, Field(min_length=1, max_length=253)] = Field(
        description="Entry/backend name inside the routing object (LiteLLM model_info.id, backendRef name)."
    )
    api_base: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] | None = Field(
        default=None, description="Provider API base URL, used when the operator adds this entry to a LiteLLM config."
    )
    credentials: Credentials | None = Field(
        default=None,
        description="This provider's API key; on the target, the operator projects it into spec.gatewaySecret.",
    )
    pricing: Pricing | None = Field(
        default=None, description="List prices; without them on both sides cost is neither forecast nor checked."
    )

    def litellm_model(self) -> str:
        """LiteLLM's model string: the provider prefix, in LiteLLM's vocabulary, before every model name
        (`together_ai/meta-llama/...`: a name containing "/" needs it too, or LiteLLM skips the deployment).
        A name already starting with that prefix is taken as written."""
        prefix = LITELLM_PROVIDER_PREFIX.get(self.provider, self.provider)
        return self.model if self.model.startswith(prefix + "/") else f"{prefix}/{self.model}"


class ApprovalGate(ApiModel):
    """A human decision point: the migration waits in AwaitingApproval until `pmo approve`."""

    message: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None, description="Shown while waiting (status.message, `pmo status`, the Event)."
    )


class Step(ApiModel):
    """Exactly one of weight, approval or mirror."""

    model_config = with_cel(
        cel(
            "[has(self.weight), has(self.approval), has(self.mirror)].filter(x, x).size() == 1",
            "a step sets exactly one of weight, approval or mirror",
        ),
        cel("!has(self.approval) || !has(self.pause)", "an approval step cannot have a pause"),
    )

    weight: Annotated[int, Field(ge=1, le=100)] | None = Field(default=None, description="Target share, percent.")
    pause: Duration | None = Field(default=None, description="How long to hold this step before the next one.")
    approval: ApprovalGate | None = Field(default=None, description="Wait for `pmo approve`.")
    mirror: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None, description="Percent of source traffic mirrored to the target (responses discarded)."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        if sum(x is not None for x in (self.weight, self.approval, self.mirror)) != 1:
            raise ValueError("a step sets exactly one of weight, approval or mirror")
        if self.approval is not None and self.pause is not None:
            raise ValueError("an approval step cannot have a pause")
        return self


# The API server's CEL has no cel.bind, so the weight list is spelled out where it is used; with at most
# 20 steps the quadratic duplicate check stays far inside the cost budget.
_WEIGHTS = "self.steps.filter(s, has(s.weight)).map(s, s.weight)"


class Strategy(ApiModel):
    """How traffic moves to the target, step by step."""

    # The rules hold on a partial strategy too (a template's, or a templated migration's override): each one
    # runs only when the fields it reads are present. An untyped strategy of a migration without a template is
    # Phased; its rules are on ProviderMigrationSpec (a nested object cannot see spec.templateRef).
    model_config = with_cel(
        cel(
            f"!has(self.steps) || ({_WEIGHTS}.isSorted() && self.steps.all(s, !has(s.weight) || "
            "self.steps.filter(t, has(t.weight) && t.weight == s.weight).size() == 1))",
            "step weights must be strictly increasing",
            field_path=".steps",
        ),
        cel(
            f"!has(self.type) || !has(self.steps) || self.type == 'BigBang' || "
            f"(size({_WEIGHTS}) > 0 && {_WEIGHTS}[size({_WEIGHTS}) - 1] == 100)",
            "the last weight step must be 100",
            field_path=".steps",
        ),
        cel(
            f"!has(self.type) || !has(self.steps) || self.type != 'BigBang' || "
            f"(size({_WEIGHTS}) == 1 && {_WEIGHTS}[0] == 100)",
            "BigBang has exactly one weight step, of 100",
            field_path=".steps",
        ),
        cel(
            "!has(self.type) || !has(self.steps) || self.type == 'Parallel' || self.steps.all(s, !has(s.mirror))",
            "mirror steps are only allowed with the Parallel strategy",
            field_path=".steps",
        ),
        cel(
            "!has(self.type) || !has(self.steps) || self.type != 'Parallel' || "
            "(size(self.steps) > 0 && has(self.steps[0].mirror))",
            "Parallel starts with a mirror step",
            field_path=".steps",
        ),
    )

    type: Literal["Phased", "BigBang", "Parallel"] = Field(
        default="Phased",
        description="Phased: increasing weight steps; BigBang: one step to 100; "
        "Parallel: mirror steps first, then weight steps.",
    )
    # Required (of the effective spec): every strategy needs a step.
    steps: list[Step] = Field(
        min_length=1,
        max_length=20,
        description="Run in order; people number them from 1 (`kubectl get` STEP, `pmo`, Events, the report).",
    )

    @model_validator(mode="after")
    def _steps_consistent(self) -> Strategy:
        weights = [s.weight for s in self.steps if s.weight is not None]
        if any(b <= a for a, b in pairwise(weights)):
            raise ValueError("step weights must be strictly increasing")
        if self.type != "BigBang" and (not weights or weights[-1] != 100):
            raise ValueError("the last weight step must be 100")
        if self.type == "BigBang" and weights != [100]:
            raise ValueError("BigBang has exactly one weight step, of 100")
        if self.type != "Parallel" and any(s.mirror is not None for s in self.steps):
            raise ValueError("mirror steps are only allowed with the Parallel strategy")
        if self.type == "Parallel" and (not self.steps or self.steps[0].mirror is None):
            raise ValueError("Parallel starts with a mirror step")
        return self


class PrometheusSource(ApiModel):
    """The Prometheus (or compatible) API the analysis queries."""

    url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] = Field(
        description="Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090."
    )
    auth_secret: SecretKeyRef | None = Field(
        default=None, description="Secret key holding a bearer token sent as Authorization header."
    )
    # At most 30 s: a tick waits for its queries (and the tick decides the commands).
    timeout: Annotated[str, Field(pattern=r"^0*([1-9]|[12][0-9]|30)s$", max_length=8)] = Field(
        default="10s", description="Timeout of each query, 1s to 30s."
    )


class ErrorRateCriterion(ApiModel):
    """Roll back when the target's error rate is above a fraction."""

    above: Fraction = Field(default=0.05, description="Highest acceptable failed/total ratio of the target, 0..1.")
    enabled: bool = Field(default=True, description="Evaluate this criterion.")


class LatencyCriterion(ApiModel):
    """Roll back when the target's p95 latency exceeds the source's baseline p95 by a factor."""

    ratio_to_baseline: Annotated[float, Field(gt=1, le=100)] = Field(
        default=2.0, description="Highest acceptable target p95 / baseline p95 (2 = twice as slow)."
    )
    enabled: bool = Field(default=True, description="Evaluate this criterion.")


class CostCriterion(ApiModel):
    """Roll back when the target costs more per request than forecast (needs pricing on both sides)."""

    over_forecast: Annotated[float, Field(ge=0, le=10)] = Field(
        default=0.10, description="Highest acceptable excess over the forecast cost per request (0.1 = 10 %)."
    )
    enabled: bool = Field(default=True, description="Evaluate this criterion.")


class QualityCriterion(ApiModel):
    """Roll back when the target's quality score drops below the baseline's (needs a query)."""

    degradation: Fraction = Field(
        default=0.10, description="Highest acceptable relative drop from the baseline score (0.1 = 10 %)."
    )
    query: PromQL | None = Field(
        default=None,
        description="PromQL giving a quality score (higher is better) for {{backend}}; "
        "without it the quality criterion is not evaluated.",
    )
    enabled: bool = Field(default=True, description="Evaluate this criterion.")


def _default_error_rate() -> ErrorRateCriterion:
    return ErrorRateCriterion()


def _default_latency() -> LatencyCriterion:
    return LatencyCriterion()


def _default_cost() -> CostCriterion:
    return CostCriterion()


def _default_quality() -> QualityCriterion:
    return QualityCriterion()


class RollbackOn(ApiModel):
    """The migration playbook's defaults: 5 % errors, 2x baseline p95, 10 % over forecast, 10 % quality drop."""

    error_rate: ErrorRateCriterion = Field(
        default_factory=_default_error_rate, description="Target error rate above a fraction (default 5 %)."
    )
    latency_p95: LatencyCriterion = Field(
        default_factory=_default_latency, description="Target p95 latency above a multiple of the baseline (2x)."
    )
    cost: CostCriterion = Field(
        default_factory=_default_cost, description="Target cost per request above the forecast (by 10 %)."
    )
    quality: QualityCriterion = Field(
        default_factory=_default_quality, description="Target quality score below the baseline (by 10 %)."
    )


class CustomCriterion(ApiModel):
    """A PromQL threshold of your own; failing it counts as an analysis failure."""

    model_config = with_cel(
        cel("has(self.above) != has(self.below)", "a custom criterion sets exactly one of above or below")
    )

    name: Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-zA-Z][-_a-zA-Z0-9]*$")] = Field(
        description="Criterion name, shown in status.lastAnalysis.criteria."
    )
    query: PromQL = Field(
        description="PromQL returning one number; placeholders {{backend}}, {{model}}, {{namespace}}, {{interval}}."
    )
    above: float | None = Field(default=None, description="Fail when the value is above this.")
    below: float | None = Field(default=None, description="Fail when the value is below this.")

    @model_validator(mode="after")
    def _one_bound(self) -> CustomCriterion:
        if (self.above is None) == (self.below is None):
            raise ValueError("a custom criterion sets exactly one of above or below")
        return self


class Queries(ApiModel):
    """PromQL overriding the preset; placeholders {{backend}}, {{model}}, {{namespace}}, {{interval}}."""

    requests: PromQL | None = Field(default=None, description="Request rate (per second) of {{backend}}.")
    error_rate: PromQL | None = Field(default=None, description="Failed / total requests of {{backend}}, 0..1.")
    latency_p50: PromQL | None = Field(default=None, description="Median latency (seconds) of {{backend}}.")
    latency_p95: PromQL | None = Field(default=None, description="95th percentile latency (seconds) of {{backend}}.")
    latency_p99: PromQL | None = Field(default=None, description="99th percentile latency (seconds) of {{backend}}.")
    input_tokens: PromQL | None = Field(default=None, description="Input tokens per second of {{backend}}.")
    output_tokens: PromQL | None = Field(default=None, description="Output tokens per second of {{backend}}.")


class Baseline(ApiModel):
    """The source's behaviour before the migration, captured once at the start."""

    window: Duration = Field(default="7d", description="How far back the source's baseline is measured.")


def _default_rollback_on() -> RollbackOn:
    return RollbackOn()


def _default_baseline() -> Baseline:
    return Baseline()


class Analysis(ApiModel):
    """Metric analysis after each step: promote on Pass, roll back on Fail."""

    model_config = with_cel(
        cel(
            "!has(self.interval) || (!self.interval.matches('^0*[0-4]s$') && !self.interval.matches('^0+[smhd]$'))",
            "interval must be at least 5s",
            field_path=".interval",
        ),
    )

    prometheus: PrometheusSource = Field(description="Where the metrics are.")
    metrics: Literal["litellm", "otel-genai", "custom"] = Field(
        default="litellm",
        description="Query preset: litellm (LiteLLM proxy metrics), otel-genai (OpenTelemetry GenAI semantic "
        "conventions) or custom (spec.analysis.queries gives every query).",
    )
    queries: Queries | None = Field(default=None, description="PromQL replacing the preset's, query by query.")
    interval: Duration = Field(default="1m", description="How often the analysis runs, and the query window.")
    failure_limit: Annotated[int, Field(ge=0, le=100)] = Field(
        default=0, description="Failed analyses tolerated before rolling back (0: the first one rolls back)."
    )
    inconclusive_limit: Annotated[int, Field(ge=1, le=100)] = Field(
        default=3, description="Inconclusive analyses in a row (too few samples, no data) before rolling back."
    )
    min_samples: Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        default=10, description="Requests the target must have served in a window for a verdict."
    )
    baseline: Baseline = Field(default_factory=_default_baseline, description="How the source's baseline is taken.")
    rollback_on: RollbackOn = Field(
        default_factory=_default_rollback_on, description="The built-in criteria and their thresholds."
    )
    custom: list[CustomCriterion] = Field(
        default_factory=list, max_length=10, description="Extra PromQL criteria of your own."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Analysis:
        q = self.queries
        if self.metrics == "custom" and (q is None or not (q.requests and q.error_rate and q.latency_p95)):
            raise ValueError("metrics: custom needs queries.requests, queries.errorRate and queries.latencyP95")
        if seconds(self.interval) < 5:
            raise ValueError("interval must be at least 5s")
        return self


class Dataset(ApiModel):
    config_map: Name = Field(description="ConfigMap holding the golden set as JSON lines.")
    key: KeyName = Field(default="dataset.jsonl", description="Key of that ConfigMap holding the JSON lines.")


class Scorer(ApiModel):
    """How one answer is scored against its expectation; an item passes when every scorer passes."""

    type: Literal["exact", "contains", "regex", "jsonSchema", "numeric", "length"] = Field(
        description="exact, contains (the expected text), regex, jsonSchema (the answer validates), "
        "numeric (within tolerance) or length (min..max characters)."
    )
    value: Annotated[str, Field(max_length=65536)] | None = Field(
        default=None, description="Pattern/schema/expected value overriding each item's own expectation."
    )
    tolerance: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="numeric: largest accepted absolute difference."
    )
    min: Annotated[int, Field(ge=0)] | None = Field(default=None, description="length: fewest characters.")
    max: Annotated[int, Field(ge=0)] | None = Field(default=None, description="length: most characters.")


class Evaluation(ApiModel):
    """Golden-set gate run before any traffic moves."""

    dataset: Dataset = Field(description="The golden set: prompts and expected answers.")
    scorers: list[Scorer] = Field(
        default_factory=lambda: [Scorer(type="contains")], max_length=10, description="How answers are scored."
    )
    concurrency: Annotated[int, Field(ge=1, le=64)] = Field(
        default=4, description="Requests in flight to each provider."
    )
    max_requests: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=200, description="Most requests sent to each provider (items beyond are skipped)."
    )
    timeout: Duration = Field(default="60s", description="Timeout of each request.")


class Cleanup(ApiModel):
    """What happens once all traffic is on the target."""

    stabilization: Duration = Field(
        default="7d", description="How long to watch at 100 % (still ready to roll back) before Succeeded."
    )
    decommission_source_credentials: bool = Field(
        default=True, description="After stabilization, remove the source's key from spec.gatewaySecret."
    )
    remove_source_from_route: bool = Field(
        default=True, description="After stabilization, remove the source's entry from the routing object."
    )


def _trigger(value: object) -> object:
    return Trigger(value) if isinstance(value, str) else value


class NotificationSubscription(ApiModel):
    """Tell a notification service (configured once per cluster, see the chart's `notifications` values)."""

    service: Name = Field(description="Name of a service in the operator's notifications configuration.")
    # from_wire parses strictly, and a strict enum takes only Trigger instances: the JSON string is converted first.
    triggers: list[Annotated[Trigger, BeforeValidator(_trigger)]] | None = Field(
        default=None,
        max_length=len(Trigger),
        description="Which happenings to send (started, step-advanced, awaiting-approval, approved, promoted, "
        "paused, blocked, rolling-back, rolled-back, succeeded, credentials-decommissioned); default: all.",
    )


# The parts of a spec a template may hold; everything else (route, source, target, credentials) is the migration's.
TEMPLATE_SECTIONS = ("strategy", "analysis", "evaluation", "cleanup", "notifications")
NO_TEMPLATE_NAMESPACE = (
    "a templateRef has no namespace: a MigrationTemplate is read from the migration's own namespace, "
    "a ClusterMigrationTemplate is cluster-wide"
)


class TemplateRef(ApiModel):
    """The template a migration starts from (its own fields win). Kind and name only: never another namespace."""

    model_config = with_cel(cel("!has(self.__namespace__)", NO_TEMPLATE_NAMESPACE, field_path=".namespace"))

    kind: Literal["MigrationTemplate", "ClusterMigrationTemplate"] = Field(
        description="MigrationTemplate (in the migration's namespace) or ClusterMigrationTemplate (cluster-wide)."
    )
    name: Name = Field(description="Name of the template.")
    namespace: Annotated[str, Field(max_length=253)] | None = Field(
        default=None, description="Refused when set: templates are never read from another namespace."
    )

    @model_validator(mode="after")
    def _same_namespace(self) -> TemplateRef:
        if self.namespace is not None:
            raise ValueError(NO_TEMPLATE_NAMESPACE)
        return self


TEMPLATE_REF_IMMUTABLE = "templateRef is immutable: a migration keeps the template it was created with"

# A nested object cannot see spec.templateRef, so the rules that would misjudge a templated migration's partial
# override live here, guarded by it (with a template they are judged on the merged spec, by the operator).
_UNTYPED = "has(self.templateRef) || !has(self.strategy) || has(self.strategy.type) || !has(self.strategy.steps) || "
_SPEC_WEIGHTS = "self.strategy.steps.filter(s, has(s.weight)).map(s, s.weight)"
UNTEMPLATED_RULES = (
    cel(
        _UNTYPED + f"(size({_SPEC_WEIGHTS}) > 0 && {_SPEC_WEIGHTS}[size({_SPEC_WEIGHTS}) - 1] == 100)",
        "the last weight step must be 100",
        field_path=".strategy.steps",
    ),
    cel(
        _UNTYPED + "self.strategy.steps.all(s, !has(s.mirror))",
        "mirror steps are only allowed with the Parallel strategy",
        field_path=".strategy.steps",
    ),
    cel(
        "has(self.templateRef) || !has(self.analysis) || !has(self.analysis.metrics) || "
        "self.analysis.metrics != 'custom' || (has(self.analysis.queries) && has(self.analysis.queries.requests) "
        "&& has(self.analysis.queries.errorRate) && has(self.analysis.queries.latencyP95))",
        "metrics: custom needs queries.requests, queries.errorRate and queries.latencyP95",
        field_path=".analysis.queries",
    ),
    cel(
        "has(self.templateRef) == has(oldSelf.templateRef)",
        TEMPLATE_REF_IMMUTABLE,
        field_path=".templateRef",
    ),
)


def _default_strategy() -> Strategy:
    return Strategy(type="BigBang", steps=[Step(weight=100)])


def _default_cleanup() -> Cleanup:
    return Cleanup()


class ProviderMigrationSpec(ApiModel):
    model_config = with_cel(
        cel(
            "self.source.backend != self.target.backend",
            "source and target must use different backends",
            field_path=".target.backend",
        ),
        cel(
            "self.source.provider != self.target.provider || self.source.model != self.target.model",
            "source and target must differ in provider or model",
            field_path=".target",
        ),
        cel(
            "!has(self.target.credentials) || has(self.gatewaySecret)",
            "gatewaySecret is required when target.credentials is set",
            field_path=".gatewaySecret",
        ),
        *UNTEMPLATED_RULES,
    )

    template_ref: (
        Annotated[
            TemplateRef,
            Field(json_schema_extra={"x-kubernetes-validations": [cel("self == oldSelf", TEMPLATE_REF_IMMUTABLE)]}),
        ]
        | None
    ) = Field(
        default=None,
        description="A MigrationTemplate or ClusterMigrationTemplate giving strategy, analysis, evaluation and "
        "cleanup; this spec states only what differs (maps merge, lists replace, this spec wins). Resolved once, "
        "when the migration starts (status.template). Immutable.",
    )

    route: Annotated[
        RouteRef,
        Field(json_schema_extra={"x-kubernetes-validations": [cel("self == oldSelf", "route is immutable")]}),
    ] = Field(description="The routing object whose weights the operator moves. Immutable.")
    source: Annotated[Endpoint, Field(json_schema_extra={"x-kubernetes-validations": [IMMUTABLE_ENDPOINT]})] = Field(
        description="Where the traffic is now."
    )
    target: Annotated[Endpoint, Field(json_schema_extra={"x-kubernetes-validations": [IMMUTABLE_ENDPOINT]})] = Field(
        description="Where the traffic goes."
    )
    gateway_secret: Name | None = Field(default=None, description="Secret the gateway reads provider keys from.")
    service_account_name: Name | None = Field(
        default=None,
        description="ServiceAccount of this namespace the operator acts as for every object this migration reads "
        "or writes (default: the operator's --service-account, pmo-migrator); its RBAC decides what it may touch.",
    )
    strategy: Strategy = Field(
        default_factory=_default_strategy, description="The steps (default: BigBang, one step to 100 %)."
    )
    analysis: Analysis | None = Field(
        default=None, description="Metric analysis after each step; without it steps advance on their pauses alone."
    )
    evaluation: Evaluation | None = Field(
        default=None, description="Golden-set evaluation of the target before any traffic moves."
    )
    cleanup: Cleanup = Field(default_factory=_default_cleanup, description="Stabilization and clean-up at the end.")
    paused: bool = Field(default=False, description="Hold at the current step (`pmo pause` / `pmo resume`).")
    notifications: list[NotificationSubscription] | None = Field(
        default=None,
        max_length=10,
        description="Notification services to tell about this migration. Unset: the namespace's default "
        "subscriptions from the operator's configuration; an empty list: none.",
    )

    @model_validator(mode="after")
    def _distinct(self) -> ProviderMigrationSpec:
        if self.source.backend == self.target.backend:
            raise ValueError("source and target must use different backends")
        if self.source.provider == self.target.provider and self.source.model == self.target.model:
            raise ValueError("source and target must differ in provider or model")
        if self.target.credentials is not None and not self.gateway_secret:
            raise ValueError("gatewaySecret is required when target.credentials is set")
        return self

    @classmethod
    def from_wire(cls, data: object) -> ProviderMigrationSpec:
        """Parse `spec` as stored or applied: camelCase keys only and JSON types only, as the API server
        judges it (snake_case aliases and "10" for 10 would otherwise slip through pydantic's lax mode)."""
        return cls.model_validate(data, strict=True, by_alias=True, by_name=False)
