"""Analysis: rollback criteria measured in Prometheus (metric presets for LiteLLM, OpenTelemetry GenAI, custom).

Synchronous: the controller calls `run_analysis` / `capture_baseline` from a worker thread.
"""

from .analyzer import MAX_ANALYSIS_QUERIES, run_analysis
from .baseline import MAX_BASELINE_QUERIES, capture_baseline
from .criteria import overall_verdict
from .prometheus import PrometheusSource
from .source import MetricsError, MetricSource, MetricsUnavailable, QueryFailed

__all__ = [
    "MAX_ANALYSIS_QUERIES",
    "MAX_BASELINE_QUERIES",
    "MetricSource",
    "MetricsError",
    "MetricsUnavailable",
    "PrometheusSource",
    "QueryFailed",
    "capture_baseline",
    "overall_verdict",
    "run_analysis",
]
