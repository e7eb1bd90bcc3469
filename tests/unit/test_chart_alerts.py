"""The chart's PrometheusRule, evaluated by Prometheus' own rule engine (`promtool test rules`) over
synthetic operator series: each alert fires past its threshold, stays quiet below it, and the post-migration
alerts only concern migrations that have all traffic on the target (phase Stabilizing)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from helm_chart import CHART, one, render
from provider_migration.controller.metrics import OperatorMetrics

ALL_ALERTS = {"metrics": {"prometheusRule": {"enabled": True}}}
NS = "support"


def _promtool() -> str:
    path = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    if path is None:
        message = "promtool not found (it comes with Prometheus: `make setup` or `apt-get install prometheus`)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def _series(metric: str, values: str, **labels: str) -> dict[str, str]:
    text = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"series": f"{metric}{{{text}}}", "values": values}


def _phase(name: str, phase: str) -> dict[str, str]:
    return _series("pmo_migration_phase", "1x40", namespace=NS, name=name, phase=phase)


def _alert(name: str, **labels: str) -> dict[str, Any]:
    return {"exp_labels": {"namespace": NS, "name": name, "severity": "warning", **labels}}


def _promtool_test(
    tmp_path: Path, values: dict[str, Any], tests: list[dict[str, Any]], *, annotations: bool = False
) -> None:
    """promtool compares annotations too; tests that are not about the wording leave them out."""
    rule = one(render(values), "PrometheusRule")
    if not annotations:
        for group in rule["spec"]["groups"]:
            for r in group["rules"]:
                r.pop("annotations", None)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    (tmp_path / "tests.yaml").write_text(
        yaml.safe_dump(
            {
                "rule_files": ["rules.yaml"],
                "evaluation_interval": "1m",
                "tests": tests,
            }
        )
    )
    result = subprocess.run(
        [_promtool(), "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_are_valid_prometheus_rules(tmp_path: Path) -> None:
    rule = one(render(ALL_ALERTS), "PrometheusRule")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    result = subprocess.run(
        [_promtool(), "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_error_rate_alert_fires_only_five_points_above_baseline_after_migration(tmp_path: Path) -> None:
    series = []
    for name, rate, phase in (
        ("over", "0.12", "Stabilizing"),
        ("within", "0.09", "Stabilizing"),
        ("still-moving", "0.50", "Progressing"),
    ):
        series += [
            _series("pmo_analysis_value", f"{rate}x40", namespace=NS, name=name, criterion="errorRate"),
            _series("pmo_baseline_error_rate", "0.05x40", namespace=NS, name=name),
            _phase(name, phase),
        ]
    alert = "ProviderMigrationErrorRateAboveBaseline"
    firing = _alert("over")  # `- on(namespace, name)` keeps only the matching labels
    firing["exp_annotations"] = {
        "summary": f"{NS}/over: target error rate more than 5 points above the source baseline",
        "description": "The error rate on the new provider is 7% above the source's baseline. "
        f"Check `kubectl describe pmig -n {NS} over`; `pmo abort` moves traffic back.",
    }
    _promtool_test(
        tmp_path,
        ALL_ALERTS,
        [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": "5m", "alertname": alert, "exp_alerts": []},  # `for: 10m` not yet elapsed
                    {"eval_time": "15m", "alertname": alert, "exp_alerts": [firing]},
                ],
            }
        ],
        annotations=True,
    )


def test_latency_alert_fires_above_one_and_a_half_times_the_baseline(tmp_path: Path) -> None:
    series = []
    for name, ratio in (("slow", "1.6"), ("fine", "1.4")):
        series += [
            _series("pmo_analysis_value", f"{ratio}x40", namespace=NS, name=name, criterion="latencyP95"),
            _phase(name, "Stabilizing"),
        ]
    _promtool_test(
        tmp_path,
        ALL_ALERTS,
        [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": "15m",
                        "alertname": "ProviderMigrationLatencyAboveBaseline",
                        "exp_alerts": [_alert("slow", criterion="latencyP95")],
                    },
                ],
            }
        ],
    )


def test_cost_alert_fires_ten_percent_over_forecast_and_follows_the_values(tmp_path: Path) -> None:
    series = []
    for name, overage in (("pricey", "0.15"), ("on-budget", "0.05")):
        series += [
            _series("pmo_analysis_value", f"{overage}x40", namespace=NS, name=name, criterion="cost"),
            _phase(name, "Stabilizing"),
        ]
    test: dict[str, Any] = {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            {
                "eval_time": "15m",
                "alertname": "ProviderMigrationCostOverForecast",
                "exp_alerts": [_alert("pricey", criterion="cost")],
            },
        ],
    }
    _promtool_test(tmp_path, ALL_ALERTS, [test])
    # With the limit raised to 20 % neither migration is over.
    test["alert_rule_test"][0]["exp_alerts"] = []
    _promtool_test(tmp_path, {"metrics": {"prometheusRule": {"enabled": True, "costOverForecast": 0.2}}}, [test])


def test_operator_alerts_rollback_stuck_errors(tmp_path: Path) -> None:
    series = [
        _series("pmo_rollbacks_total", "0 0 0 1x30", namespace=NS, name="rolled", reason="AnalysisFailed"),
        _series("pmo_rollbacks_total", "0x30", namespace=NS, name="steady", reason="AnalysisFailed"),
        _phase("blocked", "Blocked"),
        _series("pmo_migration_phase", "0x40", namespace=NS, name="steady", phase="Blocked"),
        _series("pmo_reconcile_errors_total", "0+1x40", namespace=NS, name="flaky"),
    ]
    _promtool_test(
        tmp_path,
        ALL_ALERTS,
        [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": "5m",
                        "alertname": "ProviderMigrationRolledBack",
                        "exp_alerts": [_alert("rolled", reason="AnalysisFailed")],
                    },
                    {"eval_time": "15m", "alertname": "ProviderMigrationStuck", "exp_alerts": [_alert("blocked")]},
                    {
                        "eval_time": "30m",
                        "alertname": "ProviderMigrationReconcileErrors",
                        "exp_alerts": [_alert("flaky")],
                    },
                ],
            }
        ],
    )


def test_stopped_ticks_alert_only_while_migrations_are_active(tmp_path: Path) -> None:
    alert = "ProviderMigrationOperatorTicksStopped"
    stalled = {
        "interval": "1m",
        "input_series": [
            _series("pmo_last_tick_timestamp_seconds", "0x40"),
            _phase("moving", "Progressing"),
        ],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": alert, "exp_alerts": []},
            {"eval_time": "25m", "alertname": alert, "exp_alerts": [{"exp_labels": {"severity": "critical"}}]},
        ],
    }
    ticking = {
        "interval": "1m",
        "input_series": [
            _series("pmo_last_tick_timestamp_seconds", "0+60x40"),
            _phase("moving", "Progressing"),
        ],
        "alert_rule_test": [{"eval_time": "25m", "alertname": alert, "exp_alerts": []}],
    }
    idle = {
        "interval": "1m",
        "input_series": [
            _series("pmo_last_tick_timestamp_seconds", "0x40"),
            _phase("done", "Succeeded"),
        ],
        "alert_rule_test": [{"eval_time": "25m", "alertname": alert, "exp_alerts": []}],
    }
    _promtool_test(tmp_path, ALL_ALERTS, [stalled, ticking, idle])


def _metric_names(text: str) -> set[str]:
    return set(re.findall(r"\b(pmo_[a-z_]+?)(?:_bucket|_count|_sum)?\b", text))


def _exported() -> set[str]:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    OperatorMetrics(registry)
    # prometheus_client names a counter family without the `_total` its series carry.
    return {f"{m.name}_total" if m.type == "counter" else m.name for m in registry.collect()}


def test_alerts_and_dashboard_use_only_metrics_the_operator_exports() -> None:
    rule = one(render(ALL_ALERTS), "PrometheusRule")
    used = _metric_names(yaml.safe_dump(rule["spec"]["groups"]))
    used |= _metric_names((CHART / "files/grafana/provider-migrations.json").read_text())
    assert {"pmo_analysis_value", "pmo_baseline_error_rate", "pmo_migration_phase"} <= used
    assert used <= _exported(), f"not exported by the operator: {sorted(used - _exported())}"
