"""The plan: current state (given or from Prometheus), comparison matrix, true cost, ROI and its renderings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from provider_migration.analysis.source import QueryFailed
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.cli.main import main
from provider_migration.planning.current_state import MONTH_SECONDS, from_prometheus, given, with_given_volume
from provider_migration.planning.plan import build_plan
from provider_migration.planning.render import markdown, plan_sections
from provider_migration.planning.true_cost import TrueCostInputs

MANIFEST: dict[str, Any] = {
    "apiVersion": "migrations.llmops.dev/v1alpha1",
    "kind": "ProviderMigration",
    "metadata": {"name": "support-bot", "namespace": "support"},
    "spec": {
        "route": {"kind": "ConfigMap", "name": "llm-gateway", "modelName": "chat"},
        "source": {
            "provider": "openai",
            "model": "gpt-4o",
            "backend": "openai-gpt-4o",
            "pricing": {"inputPerMillion": 2.5, "outputPerMillion": 10},
        },
        "target": {"provider": "anthropic", "model": "claude-haiku-4-5", "backend": "anthropic-haiku"},
    },
}
SPEC = ProviderMigrationSpec.from_wire(MANIFEST["spec"])
NO_TEAM = TrueCostInputs(effort_hours=0, hourly_rate=0, learning_curve_hours=0)


def test_matrix_prices_every_option_at_the_route_volume() -> None:
    state = given(SPEC, 300_000_000, 100_000_000)
    plan = build_plan(SPEC, "m", "ns", state, ["gemini/gemini-2.5-flash", "acme/unknown-1"], NO_TEAM)
    rows = {r.role + ":" + r.ref: r for r in plan.matrix}
    source, target = rows["source:openai/gpt-4o"], rows["target:anthropic/claude-haiku-4-5"]
    candidate, unknown = rows["candidate:gemini/gemini-2.5-flash"], rows["candidate:acme/unknown-1"]
    assert source.monthly_cost == pytest.approx(750 + 1000) and source.pricing_origin == "spec"
    assert target.monthly_cost == pytest.approx(300 + 500) and target.pricing_origin.startswith("catalog")
    assert candidate.monthly_cost == pytest.approx(300 * 0.30 + 100 * 2.50)
    assert target.monthly_delta_vs_source == pytest.approx(800 - 1750)
    assert target.blended_per_million == pytest.approx(0.75 * 1 + 0.25 * 5)
    assert "soc2-type2" in target.compliance
    assert unknown.pricing is None and unknown.monthly_cost is None and unknown.notes == "not in the price catalog"
    assert plan.roi is not None and plan.roi.monthly_savings == pytest.approx(950)


def test_candidate_must_name_a_provider() -> None:
    with pytest.raises(ValueError, match="provider/model"):
        build_plan(SPEC, "m", "ns", given(SPEC, 1, 1), ["gpt-4o"], NO_TEAM)


def test_without_a_volume_there_is_a_matrix_but_no_roi() -> None:
    plan = build_plan(SPEC, "m", "ns", given(SPEC, None, None), [], NO_TEAM)
    assert plan.roi is None and plan.true_cost == []
    assert plan.matrix[0].monthly_cost is None and plan.matrix[0].blended_per_million == pytest.approx(4.375)
    assert any("no token volume" in n for n in plan.notes)


class FakePrometheus:
    """Answers by measurement and arm, as the presets' queries would be answered."""

    def __init__(self, values: dict[tuple[str, str], float | None], failing: frozenset[str] = frozenset()) -> None:
        self.values, self.failing = values, failing
        self.asked: list[str] = []

    def query(self, promql: str) -> float | None:
        self.asked.append(promql)
        arm = "source" if "gpt-4o" in promql else "target"  # backend openai-gpt-4o or model gpt-4o
        for marker, kind in (
            ("histogram_quantile(0.50", "p50"),
            ("histogram_quantile(0.95", "p95"),
            ("failure_responses", "error_rate"),
            ("input_tokens", "input"),
            ("output_tokens", "output"),
            ("total_requests", "requests"),
        ):
            if marker in promql:
                if kind in self.failing:
                    raise QueryFailed("Prometheus rejected the query: bad_data")
                return self.values.get((arm, kind))
        raise AssertionError(promql)


def test_current_state_from_prometheus_turns_30_day_rates_into_monthly_figures() -> None:
    prom = FakePrometheus({
        ("source", "input"): 100.0, ("source", "output"): 40.0, ("source", "requests"): 2.0,
        ("source", "p50"): 0.8, ("source", "p95"): 2.0, ("source", "error_rate"): 0.01,
        ("target", "input"): 10.0, ("target", "output"): 5.0, ("target", "requests"): 0.2,
        ("target", "p95"): 1.5, ("target", "error_rate"): 0.03,
    })  # fmt: skip
    state = from_prometheus(SPEC, "support", prom.query, "prometheus test")
    assert all("[30d]" in q for q in prom.asked)
    assert state.source.monthly_input_tokens == pytest.approx(100 * MONTH_SECONDS)
    assert state.target.monthly_requests == pytest.approx(0.2 * MONTH_SECONDS)
    assert state.monthly_volume is not None and state.monthly_volume.input == pytest.approx(110 * MONTH_SECONDS)

    plan = build_plan(SPEC, "m", "support", state, [], TrueCostInputs(effort_hours=10, hourly_rate=100))
    source, target = plan.matrix[0], plan.matrix[1]
    assert (source.latency_p95, source.error_rate, target.latency_p95) == (2.0, 0.01, 1.5)
    errors = next(line for line in plan.true_cost if line.item.startswith("Error handling"))
    requests = 2.2 * MONTH_SECONDS
    target_api = (110 * 1.0 + 45 * 5.0) * MONTH_SECONDS / 1e6
    assert errors.target == pytest.approx(0.02 * requests * target_api / requests)
    # Today's API bill prices each backend's own traffic at its own rates.
    api = plan.true_cost[0]
    assert api.current == pytest.approx((100 * 2.5 + 40 * 10 + 10 * 1 + 5 * 5) * MONTH_SECONDS / 1e6)


def test_failed_queries_leave_figures_unknown_and_say_why() -> None:
    prom = FakePrometheus({("source", "input"): 1.0, ("source", "output"): 1.0}, failing=frozenset({"p95"}))
    state = from_prometheus(SPEC, "support", prom.query, "prometheus test")
    assert state.source.latency_p95 is None and state.source.monthly_input_tokens is not None
    assert any("latency_p95" in p and "bad_data" in p for p in state.problems)


def test_given_volume_overrides_measured_tokens_but_keeps_latency() -> None:
    prom = FakePrometheus({("source", "input"): 1.0, ("source", "output"): 1.0, ("source", "p95"): 3.0})
    state = with_given_volume(from_prometheus(SPEC, "ns", prom.query, "prom"), 1000, 500)
    assert (state.source.monthly_input_tokens, state.source.monthly_output_tokens) == (1000, 500)
    assert state.source.latency_p95 == 3.0


def test_markdown_and_json_renderings_carry_the_same_figures() -> None:
    plan = build_plan(SPEC, "m", "ns", given(SPEC, 300_000_000, 100_000_000), [], NO_TEAM)
    text = markdown(plan_sections(plan), heading="plan")
    assert "## True cost (USD)" in text and "## ROI" in text
    assert "| target | anthropic/claude-haiku-4-5 | 1.00 | 5.00 | 2.00 | 800.00 | -950.00 |" in text
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["matrix"][1]["monthly_cost"] == pytest.approx(800)
    assert data["roi"]["monthly_savings"] == pytest.approx(950)


def test_pmo_plan_from_a_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "migration.yaml"
    path.write_text(yaml.safe_dump_all([{"kind": "ConfigMap", "metadata": {"name": "x"}}, MANIFEST]))
    volume = ["--monthly-input-tokens", "3e8", "--monthly-output-tokens", "1e8"]
    team = ["--effort-hours", "10", "--hourly-rate", "100"]
    argv = ["plan", "-f", str(path), *volume, "--candidate", "openai/gpt-5-mini", *team, "--format", "json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["migration"] == {"name": "support-bot", "namespace": "support"}
    assert [r["ref"] for r in out["matrix"]] == ["openai/gpt-4o", "anthropic/claude-haiku-4-5", "openai/gpt-5-mini"]
    assert out["roi"]["migration_cost"] == pytest.approx((10 + 2.5) * 100)  # learning curve: a quarter of effort

    assert main(["plan", "-f", str(path), "--format", "markdown"]) == 0
    assert "# Migration plan: support/support-bot" in capsys.readouterr().out


def test_pmo_plan_refuses_a_file_without_a_migration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "other.yaml"
    path.write_text("kind: ConfigMap\n")
    assert main(["plan", "-f", str(path)]) == 2
    assert "no ProviderMigration" in capsys.readouterr().err
    assert main(["plan"]) == 2


def test_pmo_plan_with_an_unreachable_prometheus_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(MANIFEST))
    assert main(["plan", "-f", str(path), "--prometheus", "http://127.0.0.1:9"]) == 1
    assert "unreachable" in capsys.readouterr().err
