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
from provider_migration.controller.notify import NotificationMetrics

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
    NotificationMetrics(registry)
    # prometheus_client names a counter family without the `_total` its series carry.
    return {f"{m.name}_total" if m.type == "counter" else m.name for m in registry.collect()}


def test_alerts_and_dashboard_use_only_metrics_the_operator_exports() -> None:
    rule = one(render(ALL_ALERTS), "PrometheusRule")
    used = _metric_names(yaml.safe_dump(rule["spec"]["groups"]))
    used |= _metric_names((CHART / "files/grafana/provider-migrations.json").read_text())
    assert {"pmo_analysis_value", "pmo_baseline_error_rate", "pmo_migration_phase"} <= used
    assert used <= _exported(), f"not exported by the operator: {sorted(used - _exported())}"


def _since(name: str, minute: int) -> dict[str, str]:
    """Entered its phase `minute` minutes into the test (promtool's clock starts at Unix time 0)."""
    return _series("pmo_migration_phase_since_timestamp_seconds", f"{minute * 60}x90", namespace=NS, name=name)


def test_waiting_alerts_fire_once_people_were_needed_longer_than_configured(tmp_path: Path) -> None:
    series = [
        _since("gate", 0), _phase("gate", "AwaitingApproval"),
        _since("paused", 10), _phase("paused", "Paused"),
        _since("blocked", 0), _phase("blocked", "Blocked"),
        _since("moving", 0), _phase("moving", "Progressing"),  # long in its phase, but nobody is needed
    ]  # fmt: skip
    for one_series in series:
        one_series["values"] = one_series["values"].replace("x40", "x90")
    approval, paused, blocked = (f"ProviderMigration{w}" for w in ("AwaitingApproval", "Paused", "Blocked"))
    gate = _alert("gate")
    gate["exp_annotations"] = {
        "summary": f"{NS}/gate has waited at an approval gate for 1h 1m 0s",
        "description": "`pmo approve` lets it continue, `pmo abort` rolls it back.",
    }
    only_approval = {"metrics": {"prometheusRule": {"enabled": True, "operatorAlerts": False}}}
    _promtool_test(
        tmp_path,
        only_approval,
        [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [{"eval_time": "61m", "alertname": approval, "exp_alerts": [gate]}],
            }
        ],
        annotations=True,
    )
    _promtool_test(
        tmp_path,
        only_approval,
        [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": "59m", "alertname": approval, "exp_alerts": []},
                    {"eval_time": "61m", "alertname": approval, "exp_alerts": [_alert("gate")]},
                    {"eval_time": "39m", "alertname": paused, "exp_alerts": []},  # paused 29 of 30 minutes
                    {"eval_time": "41m", "alertname": paused, "exp_alerts": [_alert("paused")]},
                    {"eval_time": "14m", "alertname": blocked, "exp_alerts": []},
                    {"eval_time": "16m", "alertname": blocked, "exp_alerts": [_alert("blocked")]},
                ],
            }
        ],
    )
    # The times come from values; 0 turns an alert off.
    waiting = {"awaitingApprovalSeconds": 7200, "pausedSeconds": 0, "blockedSeconds": 900}
    values = {"metrics": {"prometheusRule": {"enabled": True, "operatorAlerts": False, "waiting": waiting}}}
    rules = {r["alert"] for g in one(render(values), "PrometheusRule")["spec"]["groups"] for r in g["rules"]}
    assert paused not in rules and {approval, blocked} <= rules
    _promtool_test(
        tmp_path,
        values,
        [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [{"eval_time": "61m", "alertname": approval, "exp_alerts": []}],
            }
        ],
    )


def test_the_phase_start_survives_restarts_because_it_comes_from_history() -> None:
    from datetime import UTC, datetime, timedelta

    from provider_migration.api.status import HistoryEntry, Phase, ProviderMigrationStatus
    from provider_migration.controller.metrics import phase_entered

    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def entry(minute: int, phase: Phase, reason: str) -> HistoryEntry:
        return HistoryEntry(time=t0 + timedelta(minutes=minute), phase=phase, step=0, weight=10, reason=reason)

    status = ProviderMigrationStatus(
        phase=Phase.BLOCKED,
        history=[
            entry(0, Phase.PROGRESSING, "StepAdvanced"),
            entry(5, Phase.BLOCKED, "Blocked"),
            entry(9, Phase.BLOCKED, "Blocked"),  # another cause, still blocked
        ],
    )
    assert phase_entered(status) == t0 + timedelta(minutes=5)
    assert phase_entered(ProviderMigrationStatus()) is None


def test_notification_failure_alert_names_the_service(tmp_path: Path) -> None:
    series = [
        _series("pmo_notification_failures", "0 1 2 3 4 5x40", namespace=NS, name="m", service="oncall"),
        _series("pmo_notification_failures", "1 0x40", namespace=NS, name="m", service="chat"),
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
                        "eval_time": "20m",
                        "alertname": "ProviderMigrationNotificationsFailing",
                        "exp_alerts": [_alert("m", service="oncall")],
                    }
                ],
            }
        ],
    )
