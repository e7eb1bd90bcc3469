"""Analysis against the REAL Prometheus: the gateway simulator's metric presets (LiteLLM / OTel GenAI names) are
exported by a small prometheus_client server with steady synthetic traffic, scraped every second, and queried
through PrometheusSource exactly as the operator does."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import start_http_server

from pmo_devenv import Prometheus
from pmo_devenv.net import free_port
from pmo_devenv.simulators.metrics import GatewayMetrics, Outcome, make_metrics
from pmo_devenv.simulators.routing_readers import Arm
from provider_migration.analysis import (
    MetricsUnavailable,
    PrometheusSource,
    QueryFailed,
    capture_baseline,
    run_analysis,
)
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import BaselineStatus, ForecastStatus, Phase, ProviderMigrationStatus

TOKEN = "e2e-bearer-token-4f2a"
# Both presets export llm_quality_score: the job keeps one test's series apart from the other's.
QUALITY = 'avg_over_time(llm_quality_score{job="gateway-%s",backend="{{backend}}"}[{{interval}}])'
RATE = 40.0  # requests per second per arm
TARGET = Arm("tgt-claude", 50, "http://127.0.0.1:1", "anthropic", "claude-sonnet-4-5", "anthropic/claude-sonnet-4-5")
SOURCE = Arm("src-gpt", 50, "http://127.0.0.1:2", "openai", "gpt-4o", "openai/gpt-4o")


@dataclass(frozen=True)
class Behaviour:
    fail_every: int  # every n-th request fails; 0: never
    latency_s: float
    input_tokens: int
    output_tokens: int
    quality: float


TARGET_BEHAVIOUR = Behaviour(fail_every=10, latency_s=0.4, input_tokens=100, output_tokens=50, quality=0.8)
SOURCE_BEHAVIOUR = Behaviour(fail_every=0, latency_s=0.2, input_tokens=100, output_tokens=40, quality=0.9)


class Traffic:
    """Records a steady stream of outcomes for both arms until stopped (counters must grow for rate())."""

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self.stop.wait(1 / RATE):
            n += 1
            for arm, b in ((TARGET, TARGET_BEHAVIOUR), (SOURCE, SOURCE_BEHAVIOUR)):
                failed = b.fail_every > 0 and n % b.fail_every == 0
                self.metrics.record(
                    Outcome(
                        arm, "chat", 500 if failed else 200, b.latency_s, b.input_tokens, b.output_tokens, b.quality
                    )
                )


@pytest.fixture(scope="module", params=["litellm", "otel-genai"])
def gateway(request: pytest.FixtureRequest, prometheus: Prometheus) -> Iterator[str]:
    """Exports the preset's series with live traffic, scraped by the real Prometheus; yields the preset."""
    preset: str = request.param
    metrics = make_metrics(preset)
    server, _ = start_http_server(free_port(), addr="127.0.0.1", registry=metrics.registry)
    traffic = Traffic(metrics)
    traffic.thread.start()
    job, target = f"gateway-{preset}", f"127.0.0.1:{server.server_port}"
    prometheus.add_target(job, target)
    try:
        prometheus.wait_for_target(job)
        # Enough scrapes for a 10s window to hold a few hundred requests per arm.
        prometheus.wait_for_series(f'count_over_time(up{{job="{job}"}}[1m]) >= 8', timeout=60)
        yield preset
    finally:
        prometheus.remove_target(job, target)
        traffic.stop.set()
        traffic.thread.join()
        server.shutdown()
        server.server_close()


def make_spec(preset: str, **analysis: Any) -> ProviderMigrationSpec:
    return ProviderMigrationSpec.model_validate(
        {
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
            "analysis": {
                "prometheus": {"url": "http://unused:9090"},
                "metrics": preset,
                "interval": "10s",
                "minSamples": 50,
                "baseline": {"window": "1m"},
                "rollbackOn": {"quality": {"query": QUALITY % preset}},
                **analysis,
            },
        }
    )


def test_target_analysis_measures_the_real_error_rate(gateway: str, prometheus: Prometheus) -> None:
    spec = make_spec(gateway)
    status = ProviderMigrationStatus(
        phase=Phase.PROGRESSING,
        current_step=0,
        current_weight=50,
        baseline=BaselineStatus(latency_p95=0.48, quality=0.9),
        forecast=ForecastStatus(target_cost_per_request=0.01),
    )
    source = PrometheusSource(prometheus.url, timeout_s=5, bearer_token=TOKEN)
    try:
        result = run_analysis(spec, status, source, datetime.now(UTC), namespace="support")
    finally:
        source.close()
    crit = {c.name: c for c in result.criteria}
    assert list(crit) == ["errorRate", "latencyP95", "cost", "quality"]
    # Every 10th target request fails: 10 % > 5 %.
    assert crit["errorRate"].verdict == "Fail"
    assert crit["errorRate"].value == pytest.approx(0.10, abs=0.02)
    # ~40 requests/s over the 10s window.
    assert crit["errorRate"].samples == pytest.approx(RATE * 10, rel=0.3)
    # 0.4 s lands in LiteLLM's (0.1, 0.5] / OTel's (0.32, 0.64] bucket: p95 is interpolated inside it.
    assert crit["latencyP95"].verdict == "Pass"
    assert 0.3 / 0.48 < (crit["latencyP95"].value or 0) <= 0.64 / 0.48
    # Tokens only on successes (90 %): (90 * 3 + 45 * 15) / 1e6 per request against a 0.01 forecast.
    assert crit["cost"].verdict == "Pass"
    assert crit["cost"].value == pytest.approx((90 * 3 + 45 * 15) / 1e6 / 0.01 - 1, abs=0.01)
    # Quality 0.8 against 0.9: an 11 % drop, over the 10 % allowed.
    assert crit["quality"].verdict == "Fail"
    assert crit["quality"].value == pytest.approx(1 / 9, abs=0.01)
    assert result.verdict == "Fail"


def test_source_baseline_from_the_real_prometheus(gateway: str, prometheus: Prometheus) -> None:
    source = PrometheusSource(prometheus.url, timeout_s=5)
    try:
        obs = capture_baseline(make_spec(gateway), source, datetime.now(UTC))
    finally:
        source.close()
    assert obs.error is None and obs.baseline is not None
    b = obs.baseline
    # The source never fails: its failure series does not even exist, which must read as 0, not "no data".
    assert b.error_rate == 0
    assert b.latency_p50 is not None and b.latency_p95 is not None and b.latency_p99 is not None
    assert 0.1 < b.latency_p50 <= b.latency_p95 <= b.latency_p99 <= 0.5  # 0.2 s, interpolated in its bucket
    assert b.input_tokens_per_request == pytest.approx(100, rel=0.02)
    assert b.output_tokens_per_request == pytest.approx(40, rel=0.02)
    assert b.cost_per_request == pytest.approx((100 * 2.5 + 40 * 10) / 1e6, rel=0.02)
    assert b.quality == pytest.approx(0.9)


def test_unreachable_prometheus_is_inconclusive_and_keeps_the_token_secret() -> None:
    source = PrometheusSource(f"http://127.0.0.1:{free_port()}", timeout_s=2, bearer_token=TOKEN)
    result = run_analysis(make_spec("litellm"), ProviderMigrationStatus(), source, datetime.now(UTC))
    assert result.verdict == "Inconclusive"
    assert result.criteria and all(c.verdict == "Inconclusive" for c in result.criteria)
    assert all("unreachable" in (c.message or "") for c in result.criteria)
    assert TOKEN not in result.model_dump_json()
    baseline = capture_baseline(make_spec("litellm"), source, datetime.now(UTC))
    assert baseline.baseline is None and baseline.error and "unreachable" in baseline.error


def test_http_errors_and_bad_queries(prometheus: Prometheus) -> None:
    wrong_path = PrometheusSource(f"{prometheus.url}/not-prometheus", timeout_s=2, bearer_token=TOKEN)
    with pytest.raises(MetricsUnavailable, match="HTTP 404") as unavailable:
        wrong_path.query("up")
    assert TOKEN not in str(unavailable.value)
    good = PrometheusSource(prometheus.url, timeout_s=2, bearer_token=TOKEN)
    with pytest.raises(QueryFailed, match="rejected"):
        good.query("sum(rate(x[1m]")
    with pytest.raises(QueryFailed, match="series"):
        good.query('label_replace(vector(1), "a", "x", "", "") or label_replace(vector(2), "a", "y", "", "")')
    assert good.query('absent_metric_for_pmo_tests{a="b"}') is None
    assert good.query("vector(0) / vector(0)") is None  # NaN
    assert good.query("vector(2) * 3") == 6


def test_fractional_timeouts_are_accepted_by_prometheus(prometheus: Prometheus) -> None:
    assert PrometheusSource(prometheus.url, timeout_s=2.5).query("vector(1)") == 1


def test_a_silent_server_times_out_as_unavailable() -> None:
    with socket.socket() as listener:  # accepts connections (kernel backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(MetricsUnavailable, match=r"did not answer within 0\.5s"):
            PrometheusSource(f"http://127.0.0.1:{port}", timeout_s=0.5, bearer_token=TOKEN).query("up")
