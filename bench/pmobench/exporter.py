"""One process exporting LiteLLM's series for any number of backends, computed rather than simulated.

The gateway simulator (pmo_devenv.simulators) follows one routing object and sends real
requests; a thousand of those would measure the simulators, not the operator. Here every counter is the
integral of a per-backend rate that the benchmark sets (and may change mid-run to inject a failure), so a
scrape costs one pass over the backends and nothing runs between scrapes.

Series and labels are those the operator's `litellm` preset queries (analysis/presets.py); the latency
histogram has few buckets to keep 2,000 backends at about 26,000 series.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass
class Backend:
    """One LiteLLM deployment: `model_id` = backend, `model` = the LiteLLM model string."""

    model_id: str
    model: str
    rps: float = 2.0
    error_fraction: float = 0.0
    mean_latency_s: float = 0.5  # latencies uniform on [0, 2 * mean]: p95 = 1.9 * mean
    input_tokens: float = 500.0
    output_tokens: float = 200.0
    # Integrated state: requests and failures so far, as of `as_of` (time.monotonic()).
    total: float = 0.0
    failures: float = 0.0
    as_of: float = field(default_factory=time.monotonic)

    def advance(self, now: float) -> None:
        dt = max(now - self.as_of, 0.0)
        self.total += self.rps * dt
        self.failures += self.rps * self.error_fraction * dt
        self.as_of = now

    @property
    def successes(self) -> float:
        return self.total - self.failures

    def below(self, le: float) -> float:
        """Successful requests with a latency of at most `le` seconds."""
        return self.successes * min(le / (2 * self.mean_latency_s), 1.0)


class LiteLLMExporter(Collector):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backends: dict[str, Backend] = {}
        self.scrapes = 0

    def add(self, backends: Iterable[Backend]) -> None:
        with self._lock:
            for b in backends:
                self._backends[b.model_id] = b

    def set_error_fraction(self, model_id: str, fraction: float) -> None:
        """From now on `fraction` of the backend's requests fail (counted up to now at the old rate)."""
        with self._lock:
            backend = self._backends[model_id]
            backend.advance(time.monotonic())
            backend.error_fraction = fraction

    def serve(self, port: int) -> None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        start_http_server(port, addr="127.0.0.1", registry=registry)

    def collect(self) -> Iterator[Metric]:
        now = time.monotonic()
        deployment = ["model_id", "api_provider"]
        total = CounterMetricFamily("litellm_deployment_total_requests", "LLM deployment requests", labels=deployment)
        failed = CounterMetricFamily(
            "litellm_deployment_failure_responses", "LLM deployment failures", labels=deployment
        )
        latency = HistogramMetricFamily(
            "litellm_llm_api_latency_metric", "Provider call latency (seconds)", labels=["model", "model_id"]
        )
        tokens_in = CounterMetricFamily("litellm_input_tokens_metric", "Input tokens", labels=["model", "model_id"])
        tokens_out = CounterMetricFamily("litellm_output_tokens_metric", "Output tokens", labels=["model", "model_id"])
        with self._lock:
            self.scrapes += 1
            for b in self._backends.values():
                b.advance(now)
                provider = b.model.split("/", 1)[0]
                total.add_metric([b.model_id, provider], b.total)
                failed.add_metric([b.model_id, provider], b.failures)
                buckets = [(str(le), b.below(le)) for le in LATENCY_BUCKETS] + [("+Inf", b.successes)]
                latency.add_metric([b.model, b.model_id], buckets, b.successes * b.mean_latency_s)
                tokens_in.add_metric([b.model, b.model_id], b.successes * b.input_tokens)
                tokens_out.add_metric([b.model, b.model_id], b.successes * b.output_tokens)
        yield from (total, failed, latency, tokens_in, tokens_out)
