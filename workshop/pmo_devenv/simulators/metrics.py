"""Metric presets the gateway simulator exports (test and demo tooling only).

Names and labels follow the real gateways (see shared/reference/llm-gateways.md) so the operator's
preset queries run unchanged against the simulator:
- `litellm`: per-deployment counters by `model_id`, `litellm_request_total_latency_metric`, token counters.
- `otel-genai`: Envoy AI Gateway's `gen_ai_server_request_duration_seconds` and `gen_ai_client_token_usage`,
  where the arm is the upstream model (`gen_ai_request_model`); failures carry `error_type="_OTHER"`.
Both add `llm_quality_score` (decaying mean of the providers' quality per arm) and simulator-only series
prefixed `llm_gateway_sim_`. Each instance owns a private CollectorRegistry.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pmo_devenv.simulators.routing_readers import Arm

PRESETS = ("litellm", "otel-genai")
LITELLM_LATENCY_BUCKETS = (
    0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0,
    6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 15.0, 20.0, 25.0, 30.0, 60.0, 120.0, 180.0, 240.0, 300.0,
)  # fmt: skip
OTEL_DURATION_BUCKETS = tuple(0.01 * 2**i for i in range(14))  # 0.01 .. 81.92 s
OTEL_TOKEN_BUCKETS = tuple(float(4**i) for i in range(14))  # 1 .. 67108864
QUALITY_ALPHA = 0.2  # weight of the newest response in the decaying mean
OTEL_ERROR_TYPE = "_OTHER"


@dataclass(frozen=True)
class Outcome:
    """One upstream call as the gateway saw it."""

    arm: Arm
    requested_model: str
    status: int  # HTTP status; 500 for connection failures
    latency_s: float
    input_tokens: int = 0
    output_tokens: int = 0
    quality: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class GatewayMetrics:
    """Series shared by both presets; subclasses add the preset's own."""

    preset = ""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._lock = threading.Lock()
        self._quality: dict[str, float] = {}
        self.sim_requests = Counter(
            "llm_gateway_sim_requests",
            "Simulator: requests per arm and outcome (success, failure, mirrored)",
            ["backend", "outcome"],
            registry=self.registry,
        )
        self.sim_weight = Gauge(
            "llm_gateway_sim_route_weight",
            "Simulator: weight per arm as last read from the routing object",
            ["backend"],
            registry=self.registry,
        )

    def record(self, out: Outcome) -> None:
        self.sim_requests.labels(out.arm.backend, "success" if out.ok else "failure").inc()
        self._record_preset(out)
        if out.ok and out.quality is not None:
            with self._lock:
                prev = self._quality.get(out.arm.backend)
                value = out.quality if prev is None else prev + QUALITY_ALPHA * (out.quality - prev)
                self._quality[out.arm.backend] = value
            self._set_quality(out.arm, value)

    def record_mirror(self, backend: str) -> None:
        self.sim_requests.labels(backend, "mirrored").inc()

    def set_weights(self, weights: dict[str, float]) -> None:
        self.sim_weight.clear()
        for backend, weight in weights.items():
            self.sim_weight.labels(backend).set(weight)

    def _record_preset(self, out: Outcome) -> None:
        raise NotImplementedError

    def _set_quality(self, arm: Arm, value: float) -> None:
        raise NotImplementedError


class LiteLLMMetrics(GatewayMetrics):
    preset = "litellm"

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        reg = self.registry
        deployment = ["requested_model", "litellm_model_name", "model_id", "api_base", "api_provider"]
        self.total = Counter("litellm_deployment_total_requests", "LLM deployment requests", deployment, registry=reg)
        self.success = Counter(
            "litellm_deployment_success_responses", "LLM deployment successes", deployment, registry=reg
        )
        self.failure = Counter(
            "litellm_deployment_failure_responses",
            "LLM deployment failures",
            [*deployment, "exception_status", "exception_class"],
            registry=reg,
        )
        self.latency = Histogram(
            "litellm_request_total_latency_metric",
            "Total latency (seconds) of a request to LiteLLM",
            ["requested_model", "model", "model_id"],
            buckets=LITELLM_LATENCY_BUCKETS,
            registry=reg,
        )
        self.api_latency = Histogram(
            "litellm_llm_api_latency_metric",
            "Latency (seconds) of the provider call",
            ["requested_model", "model", "model_id"],
            buckets=LITELLM_LATENCY_BUCKETS,
            registry=reg,
        )
        tokens = ["requested_model", "model", "model_id"]
        self.input_tokens = Counter("litellm_input_tokens_metric", "Input tokens", tokens, registry=reg)
        self.output_tokens = Counter("litellm_output_tokens_metric", "Output tokens", tokens, registry=reg)
        self.quality = Gauge(
            "llm_quality_score", "Decaying mean quality per arm", ["backend", "model_id"], registry=reg
        )

    def _record_preset(self, out: Outcome) -> None:
        arm = out.arm
        labels = (out.requested_model, arm.route_model, arm.backend, arm.url or "", arm.flavor)
        self.total.labels(*labels).inc()
        if not out.ok:
            self.failure.labels(*labels, str(out.status), _exception_class(out.status)).inc()
            return
        self.success.labels(*labels).inc()
        short = (out.requested_model, arm.route_model, arm.backend)
        self.latency.labels(*short).observe(out.latency_s)
        self.api_latency.labels(*short).observe(out.latency_s)
        self.input_tokens.labels(*short).inc(out.input_tokens)
        self.output_tokens.labels(*short).inc(out.output_tokens)

    def _set_quality(self, arm: Arm, value: float) -> None:
        self.quality.labels(arm.backend, arm.backend).set(value)


class OtelGenAIMetrics(GatewayMetrics):
    preset = "otel-genai"

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        common = ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_original_model", "gen_ai_request_model"]
        self.duration = Histogram(
            "gen_ai_server_request_duration_seconds",
            "GenAI server request duration",
            [*common, "error_type"],
            buckets=OTEL_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Histogram(
            "gen_ai_client_token_usage",
            "Number of tokens used per request",
            [*common, "gen_ai_token_type"],
            buckets=OTEL_TOKEN_BUCKETS,
            registry=self.registry,
        )
        self.quality = Gauge(
            "llm_quality_score",
            "Decaying mean quality per arm",
            ["backend", "gen_ai_request_model"],
            registry=self.registry,
        )

    def _record_preset(self, out: Outcome) -> None:
        arm = out.arm
        common = ("chat", arm.flavor, out.requested_model, arm.upstream_model)
        # Empty error_type on success: Prometheus drops empty labels, so `error_type!=""` selects failures.
        self.duration.labels(*common, "" if out.ok else OTEL_ERROR_TYPE).observe(out.latency_s)
        if out.ok:
            self.tokens.labels(*common, "input").observe(out.input_tokens)
            self.tokens.labels(*common, "output").observe(out.output_tokens)

    def _set_quality(self, arm: Arm, value: float) -> None:
        self.quality.labels(arm.backend, arm.upstream_model).set(value)


def make_metrics(preset: str, registry: CollectorRegistry | None = None) -> GatewayMetrics:
    if preset == "litellm":
        return LiteLLMMetrics(registry)
    if preset in ("otel-genai", "otel_genai", "otel"):
        return OtelGenAIMetrics(registry)
    raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")


def _exception_class(status: int) -> str:
    # LiteLLM's exception class names for the statuses the simulator produces.
    return {
        400: "BadRequestError",
        401: "AuthenticationError",
        404: "NotFoundError",
        408: "Timeout",
        429: "RateLimitError",
        503: "ServiceUnavailableError",
    }.get(status, "InternalServerError" if status >= 500 else "APIError")
