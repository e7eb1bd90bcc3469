"""ProviderMigration spec (v1alpha1).

Every cross-field rule exists twice on purpose: as CEL in the CRD, so the API server rejects a bad
manifest with a field path, and as a pydantic validator with the same message, so `pmo` commands and
the operator judge a spec exactly as the server does (tests/unit/test_invalid_examples.py keeps them agreeing).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from .base import ApiModel, cel
from .durations import Duration, seconds

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


class Reload(ApiModel):
    deployment: Name = Field(description="Deployment rolled (pod-template annotation) after the config changes.")


class RouteRef(ApiModel):
    """The routing object the operator edits, in the migration's namespace."""

    kind: Literal["ConfigMap", "HTTPRoute", "AIGatewayRoute"]
    name: Name
    model_name: Annotated[str, Field(min_length=1, max_length=253)] = Field(
        description="The model name clients call (LiteLLM model_name, AI Gateway x-ai-eg-model header)."
    )
    rule: Annotated[str, Field(max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")] | None = Field(
        default=None, description="Name of the HTTPRoute/AIGatewayRoute rule carrying both backends."
    )
    config_key: KeyName = Field(default="config.yaml", description="ConfigMap key holding the LiteLLM config.")
    reload: Reload | None = None


class Credentials(ApiModel):
    secret_name: Name
    key: KeyName = "api-key"
    gateway_key: KeyName | None = Field(
        default=None,
        description="Key under which the gateway reads this provider's key from spec.gatewaySecret "
        "(default: <PROVIDER>_API_KEY for LiteLLM, apiKey for Envoy AI Gateway).",
    )


class Pricing(ApiModel):
    input_per_million: Annotated[float, Field(ge=0, le=10000)]
    output_per_million: Annotated[float, Field(ge=0, le=10000)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", max_length=3)] = "USD"


class Endpoint(ApiModel):
    provider: Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")]
    model: Annotated[str, Field(min_length=1, max_length=253)]
    backend: Annotated[str, Field(min_length=1, max_length=253)] = Field(
        description="Entry/backend name inside the routing object (LiteLLM model_info.id, backendRef name)."
    )
    api_base: Annotated[str, Field(max_length=2048, pattern=r"^https?://")] | None = Field(
        default=None, description="Provider API base URL, used when the operator adds this entry to a LiteLLM config."
    )
    credentials: Credentials | None = None
    pricing: Pricing | None = None

    def litellm_model(self) -> str:
        return self.model if "/" in self.model else f"{self.provider}/{self.model}"


class ApprovalGate(ApiModel):
    message: Annotated[str, Field(max_length=1024)] | None = None


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
    model_config = with_cel(
        cel(
            f"{_WEIGHTS}.isSorted() && self.steps.all(s, !has(s.weight) || "
            "self.steps.filter(t, has(t.weight) && t.weight == s.weight).size() == 1)",
            "step weights must be strictly increasing",
            field_path=".steps",
        ),
        cel(
            f"self.type == 'BigBang' || (size({_WEIGHTS}) > 0 && {_WEIGHTS}[size({_WEIGHTS}) - 1] == 100)",
            "the last weight step must be 100",
            field_path=".steps",
        ),
        cel(
            f"self.type != 'BigBang' || (size({_WEIGHTS}) == 1 && {_WEIGHTS}[0] == 100)",
            "BigBang has exactly one weight step, of 100",
            field_path=".steps",
        ),
        cel(
            "self.type == 'Parallel' || self.steps.all(s, !has(s.mirror))",
            "mirror steps are only allowed with the Parallel strategy",
            field_path=".steps",
        ),
        cel(
            "self.type != 'Parallel' || (size(self.steps) > 0 && has(self.steps[0].mirror))",
            "Parallel starts with a mirror step",
            field_path=".steps",
        ),
    )

    type: Literal["Phased", "BigBang", "Parallel"] = "Phased"
    # Required: CEL cannot read an absent list ("no such key"), and every strategy needs a step anyway.
    steps: list[Step] = Field(min_length=1, max_length=20)

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


class SecretKeyRef(ApiModel):
    name: Name
    key: KeyName


class PrometheusSource(ApiModel):
    url: Annotated[str, Field(max_length=2048, pattern=r"^https?://")]
    auth_secret: SecretKeyRef | None = Field(
        default=None, description="Secret key holding a bearer token sent as Authorization header."
    )
    timeout: Duration = "10s"


class ErrorRateCriterion(ApiModel):
    above: Fraction = 0.05
    enabled: bool = True


class LatencyCriterion(ApiModel):
    ratio_to_baseline: Annotated[float, Field(gt=1, le=100)] = 2.0
    enabled: bool = True


class CostCriterion(ApiModel):
    over_forecast: Annotated[float, Field(ge=0, le=10)] = 0.10
    enabled: bool = True


class QualityCriterion(ApiModel):
    degradation: Fraction = 0.10
    query: PromQL | None = Field(
        default=None,
        description="PromQL giving a quality score (higher is better) for {{backend}}; "
        "without it the quality criterion is not evaluated.",
    )
    enabled: bool = True


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

    error_rate: ErrorRateCriterion = Field(default_factory=_default_error_rate)
    latency_p95: LatencyCriterion = Field(default_factory=_default_latency)
    cost: CostCriterion = Field(default_factory=_default_cost)
    quality: QualityCriterion = Field(default_factory=_default_quality)


class CustomCriterion(ApiModel):
    model_config = with_cel(
        cel("has(self.above) != has(self.below)", "a custom criterion sets exactly one of above or below")
    )

    name: Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-zA-Z][-_a-zA-Z0-9]*$")]
    query: PromQL
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
    latency_p50: PromQL | None = None
    latency_p95: PromQL | None = None
    latency_p99: PromQL | None = None
    input_tokens: PromQL | None = Field(default=None, description="Input tokens per second of {{backend}}.")
    output_tokens: PromQL | None = Field(default=None, description="Output tokens per second of {{backend}}.")


class Baseline(ApiModel):
    window: Duration = "7d"


def _default_rollback_on() -> RollbackOn:
    return RollbackOn()


def _default_baseline() -> Baseline:
    return Baseline()


class Analysis(ApiModel):
    model_config = with_cel(
        cel(
            "self.metrics != 'custom' || (has(self.queries) && has(self.queries.requests) "
            "&& has(self.queries.errorRate) && has(self.queries.latencyP95))",
            "metrics: custom needs queries.requests, queries.errorRate and queries.latencyP95",
            field_path=".queries",
        ),
        cel(
            "!self.interval.matches('^0*[0-4]s$') && !self.interval.matches('^0+[smhd]$')",
            "interval must be at least 5s",
            field_path=".interval",
        ),
    )

    prometheus: PrometheusSource
    metrics: Literal["litellm", "otel-genai", "custom"] = "litellm"
    queries: Queries | None = None
    interval: Duration = "1m"
    failure_limit: Annotated[int, Field(ge=0, le=100)] = 0
    inconclusive_limit: Annotated[int, Field(ge=1, le=100)] = 3
    min_samples: Annotated[int, Field(ge=0, le=1_000_000)] = 10
    baseline: Baseline = Field(default_factory=_default_baseline)
    rollback_on: RollbackOn = Field(default_factory=_default_rollback_on)
    custom: list[CustomCriterion] = Field(default_factory=list, max_length=10)

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
    key: KeyName = "dataset.jsonl"


class Scorer(ApiModel):
    type: Literal["exact", "contains", "regex", "jsonSchema", "numeric", "length"]
    value: Annotated[str, Field(max_length=65536)] | None = Field(
        default=None, description="Pattern/schema/expected value overriding each item's own expectation."
    )
    tolerance: Annotated[float, Field(ge=0)] | None = None
    min: Annotated[int, Field(ge=0)] | None = None
    max: Annotated[int, Field(ge=0)] | None = None


class Evaluation(ApiModel):
    """Golden-set gate run before any traffic moves."""

    dataset: Dataset
    scorers: list[Scorer] = Field(default_factory=lambda: [Scorer(type="contains")], max_length=10)
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    max_requests: Annotated[int, Field(ge=1, le=100_000)] = 200
    timeout: Duration = "60s"


class Cleanup(ApiModel):
    stabilization: Duration = "7d"
    decommission_source_credentials: bool = True
    remove_source_from_route: bool = True


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
    )

    route: Annotated[
        RouteRef,
        Field(json_schema_extra={"x-kubernetes-validations": [cel("self == oldSelf", "route is immutable")]}),
    ]
    source: Annotated[Endpoint, Field(json_schema_extra={"x-kubernetes-validations": [IMMUTABLE_ENDPOINT]})]
    target: Annotated[Endpoint, Field(json_schema_extra={"x-kubernetes-validations": [IMMUTABLE_ENDPOINT]})]
    gateway_secret: Name | None = Field(default=None, description="Secret the gateway reads provider keys from.")
    strategy: Strategy = Field(default_factory=_default_strategy)
    analysis: Analysis | None = None
    evaluation: Evaluation | None = None
    cleanup: Cleanup = Field(default_factory=_default_cleanup)
    paused: bool = False

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
