"""Metric presets: PromQL per measurement for the gateways' own metric names (shared/reference/llm-gateways.md).

Every query returns one series without labels (aggregated with `sum`), or nothing when there is no data.
- `litellm`: the arm is the deployment's `model_id` (= the backend name, LiteLLM's `model_info.id`) in every
  query, tokens included (`model` is the bare model name, shared by every deployment of that model whatever the
  provider). Requests and errors are LiteLLM's per-deployment counters: with retries (`num_retries`, 2 by
  default) a failed attempt counts once at the deployment that failed, a client request once per deployment
  it reached. Latency is `litellm_llm_api_latency_metric`, the provider call itself: the proxy-side
  `litellm_request_total_latency_metric` includes time spent on failed attempts at *other* deployments before
  the one that answered, which inflates the source's baseline when the target fails (measured with the real
  proxy, tests/e2e/test_litellm_conformance.py).
- `otel-genai` (Envoy AI Gateway): the arm is `gen_ai_request_model` (= the endpoint's model, after
  `modelNameOverride`); failures are the series with a non-empty `error_type`; latency counts successes only,
  as LiteLLM's does.
- `custom`: nothing; `spec.analysis.queries` supplies every query.
A failure counter has no series until the first failure, hence `or vector(0)` on the numerator.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from provider_migration.api.spec import Analysis

QUERY_NAMES: Final = (
    "requests",
    "error_rate",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "input_tokens",
    "output_tokens",
)


def _ratio(failed: str, total: str) -> str:
    return f"(sum(rate({failed}[{{{{interval}}}}])) or vector(0)) / sum(rate({total}[{{{{interval}}}}]))"


def _rate(series: str) -> str:
    return f"sum(rate({series}[{{{{interval}}}}]))"


def _quantiles(bucket: str) -> dict[str, str]:
    return {
        f"latency_p{q}": f"histogram_quantile(0.{q}, sum by (le) (rate({bucket}[{{{{interval}}}}])))"
        for q in (50, 95, 99)
    }


_LITELLM_ARM = 'model_id="{{backend}}"'
LITELLM: Final = MappingProxyType(
    {
        "requests": _rate(f"litellm_deployment_total_requests_total{{{_LITELLM_ARM}}}"),
        "error_rate": _ratio(
            f"litellm_deployment_failure_responses_total{{{_LITELLM_ARM}}}",
            f"litellm_deployment_total_requests_total{{{_LITELLM_ARM}}}",
        ),
        **_quantiles(f"litellm_llm_api_latency_metric_bucket{{{_LITELLM_ARM}}}"),
        "input_tokens": _rate(f"litellm_input_tokens_metric_total{{{_LITELLM_ARM}}}"),
        "output_tokens": _rate(f"litellm_output_tokens_metric_total{{{_LITELLM_ARM}}}"),
    }
)

_OTEL_ARM = 'gen_ai_request_model="{{model}}"'
OTEL_GENAI: Final = MappingProxyType(
    {
        "requests": _rate(f"gen_ai_server_request_duration_seconds_count{{{_OTEL_ARM}}}"),
        "error_rate": _ratio(
            f'gen_ai_server_request_duration_seconds_count{{{_OTEL_ARM},error_type!=""}}',
            f"gen_ai_server_request_duration_seconds_count{{{_OTEL_ARM}}}",
        ),
        **_quantiles(f'gen_ai_server_request_duration_seconds_bucket{{{_OTEL_ARM},error_type=""}}'),
        "input_tokens": _rate(f'gen_ai_client_token_usage_sum{{{_OTEL_ARM},gen_ai_token_type="input"}}'),
        "output_tokens": _rate(f'gen_ai_client_token_usage_sum{{{_OTEL_ARM},gen_ai_token_type="output"}}'),
    }
)

PRESETS: Final = MappingProxyType({"litellm": LITELLM, "otel-genai": OTEL_GENAI, "custom": MappingProxyType({})})


def resolve_queries(analysis: Analysis) -> dict[str, str]:
    """Templates per measurement: the preset's, overridden one by one by `spec.analysis.queries`.

    A measurement missing from the result has no query (only possible with `custom`).
    """
    queries = dict(PRESETS[analysis.metrics])
    if analysis.queries is not None:
        for name in QUERY_NAMES:
            override = getattr(analysis.queries, name)
            if override:
                queries[name] = override
    return queries
