"""A MetricSource for unit tests: answers by what a query measures, records what was asked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provider_migration.analysis.source import MetricsError

PROM = {"url": "http://prometheus.monitoring:9090"}


def kind_of(promql: str) -> str:
    if promql.startswith("(scalar("):
        return "spend_per_request"
    if promql.startswith("scalar(") and "input_tokens" in promql:
        return "input_per_request"
    if promql.startswith("scalar(") and "output_tokens" in promql:
        return "output_per_request"
    for marker, kind in (
        ("histogram_quantile(0.50", "p50"),
        ("histogram_quantile(0.95", "p95"),
        ("histogram_quantile(0.99", "p99"),
        ("failure_responses", "error_rate"),
        ("llm_quality_score", "quality"),
        ("litellm_deployment_total_requests_total", "requests"),
    ):
        if marker in promql:
            return kind
    return promql  # user queries are keyed by their rendered text


class FakeSource:
    def __init__(self, values: Mapping[str, float | MetricsError | None]) -> None:
        self.values = dict(values)
        self.asked: list[str] = []

    def query(self, promql: str) -> float | None:
        self.asked.append(promql)
        answer = self.values.get(kind_of(promql))
        if isinstance(answer, MetricsError):
            raise answer
        return answer


def spec_dict(**analysis: Any) -> dict[str, Any]:
    return {
        "route": {"kind": "ConfigMap", "name": "llm-gateway", "modelName": "chat"},
        "source": {
            "provider": "openai",
            "model": "gpt-4o",
            "backend": "src-gpt",
            "pricing": {"inputPerMillion": 2.5, "outputPerMillion": 10},
        },
        "target": {
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "backend": "tgt-claude",
            "pricing": {"inputPerMillion": 3, "outputPerMillion": 15},
        },
        "analysis": {"prometheus": PROM, "interval": "1m", "minSamples": 10, **analysis},
    }
