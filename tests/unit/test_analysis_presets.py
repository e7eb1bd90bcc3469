"""Metric presets: overrides, and agreement with the series the gateway simulator exports under the real
gateways' names (each preset selector must select a series the simulator produced for the arm)."""

from __future__ import annotations

import re

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pmo_devenv.simulators.metrics import LiteLLMMetrics, OtelGenAIMetrics, Outcome
from pmo_devenv.simulators.routing_readers import Arm
from provider_migration.analysis.presets import LITELLM, OTEL_GENAI, QUERY_NAMES, resolve_queries
from provider_migration.analysis.queries import ArmLabels, render
from provider_migration.api.spec import Analysis

SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
PROM = {"url": "http://prometheus:9090"}


def analysis(**kw: object) -> Analysis:
    return Analysis.model_validate({"prometheus": PROM, **kw})


def test_litellm_and_otel_presets_define_every_measurement() -> None:
    assert set(resolve_queries(analysis(metrics="litellm"))) == set(QUERY_NAMES)
    assert set(resolve_queries(analysis(metrics="otel-genai"))) == set(QUERY_NAMES)


def test_user_queries_override_single_measurements() -> None:
    queries = resolve_queries(analysis(metrics="litellm", queries={"errorRate": "my_errors"}))
    assert queries["error_rate"] == "my_errors"
    assert queries["latency_p95"] == LITELLM["latency_p95"]


def test_custom_preset_has_only_the_users_queries() -> None:
    queries = resolve_queries(
        analysis(metrics="custom", queries={"requests": "r", "errorRate": "e", "latencyP95": "p"})
    )
    assert queries == {"requests": "r", "error_rate": "e", "latency_p95": "p"}


def test_failure_numerator_defaults_to_zero_when_no_failure_series_exists() -> None:
    # Labelled counters appear only after their first increment: no failures must read as 0, not "no data".
    for preset in (LITELLM, OTEL_GENAI):
        assert "or vector(0)) / " in preset["error_rate"]


def test_every_litellm_query_selects_the_arm_by_model_id() -> None:
    """`model` is the bare model name, shared by every deployment of that model: only `model_id` is the arm."""
    for name, template in LITELLM.items():
        for _, matchers in SELECTOR.findall(render(template, ArmLabels("b", "claude-sonnet-4-5"), "1m")):
            labels = {label: (op, value) for label, op, value in MATCHER.findall(matchers)}
            assert labels.get("model_id") == ("=", "b"), (name, matchers)
            assert "model" not in labels, name
    assert "litellm_llm_api_latency_metric_bucket" in LITELLM["latency_p95"]  # the provider call, not the proxy's


def _exported(metrics: LiteLLMMetrics | OtelGenAIMetrics) -> list[tuple[str, dict[str, str]]]:
    text = generate_latest(metrics.registry).decode()
    return [(s.name, s.labels) for fam in text_string_to_metric_families(text) for s in fam.samples]


def _selects(matchers: str, labels: dict[str, str]) -> bool:
    for label, op, raw in MATCHER.findall(matchers):
        value, actual = raw.encode().decode("unicode_escape"), labels.get(label, "")
        ok = {
            "=": actual == value,
            "!=": actual != value,
            "=~": re.fullmatch(value, actual) is not None,
            "!~": re.fullmatch(value, actual) is None,
        }[op]
        if not ok:
            return False
    return True


def _record_both_outcomes(metrics: LiteLLMMetrics | OtelGenAIMetrics, arm: Arm) -> None:
    metrics.record(Outcome(arm, "chat", 200, 0.4, input_tokens=120, output_tokens=300))
    metrics.record(Outcome(arm, "chat", 500, 0.1))


TARGET = Arm(
    backend="claude-target",
    weight=1,
    url="http://127.0.0.1:1",
    flavor="anthropic",
    upstream_model="claude-sonnet-4-5",
    route_model="anthropic/claude-sonnet-4-5",
)
OTHER = Arm(
    backend="gpt-source",
    weight=1,
    url="http://127.0.0.1:2",
    flavor="openai",
    upstream_model="gpt-4o",
    route_model="openai/gpt-4o",
)


@pytest.mark.parametrize(("preset", "metrics"), [(LITELLM, LiteLLMMetrics), (OTEL_GENAI, OtelGenAIMetrics)])
def test_preset_selectors_select_the_simulators_series_for_the_arm_only(preset, metrics) -> None:  # type: ignore[no-untyped-def]
    sim = metrics()
    _record_both_outcomes(sim, TARGET)
    _record_both_outcomes(sim, OTHER)
    exported = _exported(sim)
    arm = ArmLabels(backend="claude-target", model="claude-sonnet-4-5")
    other = ArmLabels(backend="gpt-source", model="gpt-4o")
    for name, template in preset.items():
        for metric, matchers in SELECTOR.findall(render(template, arm, "1m")):
            hits = [labels for sample, labels in exported if sample == metric and _selects(matchers, labels)]
            assert hits, f"{name}: {metric}{{{matchers}}} selects nothing the simulator exports"
            foreign = [
                labels
                for labels in hits
                if TARGET.backend not in labels.values()
                and TARGET.upstream_model not in labels.values()
                and TARGET.route_model not in labels.values()
            ]
            assert not foreign, f"{name}: {metric} also selects another arm's series {foreign}"
        # And the same template rendered for the other arm selects that arm.
        for metric, matchers in SELECTOR.findall(render(template, other, "1m")):
            assert any(s == metric and _selects(matchers, lb) for s, lb in exported)
