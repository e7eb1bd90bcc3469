"""Rendering of `pmo get/status/watch` from status models, without a cluster."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console, RenderableType

from provider_migration.views import terminal as render
from provider_migration.views.migration import Migration
from provider_migration.views.terminal import SOURCE_BAR, TARGET_BAR

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def iso(delta: timedelta) -> str:
    return (NOW - delta).isoformat().replace("+00:00", "Z")


def migration(status: dict[str, Any] | None = None, name: str = "bot", **spec: Any) -> Migration:
    body = {
        "route": {"kind": "ConfigMap", "name": "gw", "modelName": "chat"},
        "source": {"provider": "openai", "model": "gpt-4o", "backend": "openai-gpt-4o"},
        "target": {"provider": "anthropic", "model": "claude-sonnet-4", "backend": "claude"},
        "strategy": {
            "type": "Phased",
            "steps": [
                {"weight": 10, "pause": "15m"},
                {"approval": {"message": "check the dashboards"}},
                {"weight": 100},
            ],
        },
        **spec,
    }
    meta = {"name": name, "namespace": "support", "creationTimestamp": iso(timedelta(hours=2)), "generation": 1}
    obj: dict[str, Any] = {"metadata": meta, "spec": body}
    if status is not None:
        obj["status"] = status
    return Migration.from_object(obj)


def text(renderable: RenderableType, width: int = 120) -> str:
    console = Console(record=True, width=width)
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "<invalid>"),
        (-0.5, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (599, "9m59s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 25 * 60, "3h25m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (2 * 86400, "2d"),
        (2 * 86400 + 5 * 3600, "2d5h"),
        (8 * 86400, "8d"),
        (400 * 86400, "400d"),
        (2 * 365 * 86400 + 10 * 86400, "2y10d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration_matches_kubectl_age(seconds: float, expected: str) -> None:
    assert render.human_duration(seconds) == expected


def test_table_has_kubectl_columns_and_one_aligned_row_per_migration() -> None:
    migs = [
        migration({"phase": "Progressing", "currentStep": 0, "currentWeight": 10}, name="bot"),
        migration(None, name="a-much-longer-name"),
    ]
    lines = render.table(migs, NOW).splitlines()
    assert lines[0].split() == ["NAME", "PHASE", "STEP", "WEIGHT", "SOURCE", "TARGET", "AGE"]
    assert lines[1].split() == [
        "bot",
        "Progressing",
        "1/3",
        "10%",
        "openai/gpt-4o",
        "anthropic/claude-sonnet-4",
        "120m",
    ]
    assert lines[2].split()[:4] == ["a-much-longer-name", "Pending", "0/3", "0%"]
    # Columns line up: each header starts where its values start.
    assert lines[0].index("PHASE") == lines[1].index("Progressing") == lines[2].index("Pending")


def test_table_all_namespaces_leads_with_namespace() -> None:
    lines = render.table([migration({"phase": "Succeeded"})], NOW, all_namespaces=True).splitlines()
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert lines[1].split()[:3] == ["support", "bot", "Succeeded"]


@pytest.mark.parametrize(("target", "target_cells"), [(0, 0), (1, 1), (10, 4), (50, 20), (99, 39), (100, 40)])
def test_weight_bar_splits_cells_by_share(target: int, target_cells: int) -> None:
    bar = render.weight_bar(target, width=40).plain
    assert bar.count(TARGET_BAR) == target_cells
    assert bar.count(SOURCE_BAR) == 40 - target_cells
    assert bar.startswith(f"source {100 - target}% ") and bar.endswith(f" {target}% target")


def test_steps_mark_done_current_and_pending_with_the_pause_countdown() -> None:
    mig = migration({"phase": "Progressing", "currentStep": 0, "stepStartedAt": iso(timedelta(minutes=5))})
    lines = render.steps_view(mig, NOW).plain.splitlines()
    assert lines == [
        "▶ 1. weight 10%, pause 15m (10m left)",
        "  2. approval gate: check the dashboards",
        "  3. weight 100%",
    ]
    later = migration({"phase": "AwaitingApproval", "currentStep": 1})
    assert render.steps_view(later, NOW).plain.splitlines()[:2] == [
        "✔ 1. weight 10%",
        "▶ 2. approval gate: check the dashboards",
    ]
    done = migration({"phase": "Succeeded", "currentStep": 2, "currentWeight": 100})
    assert all(line.startswith("✔") for line in render.steps_view(done, NOW).plain.splitlines())


def test_status_view_shows_analysis_criteria_against_thresholds() -> None:
    status = {
        "phase": "RollingBack",
        "reason": "AnalysisFailed",
        "message": "errorRate 0.12 above 0.05",
        "rollbackReason": "errorRate breached",
        "currentStep": 0,
        "currentWeight": 10,
        "failures": 1,
        "lastAnalysis": {
            "time": iso(timedelta(seconds=30)),
            "verdict": "Fail",
            "step": 0,
            "weight": 10,
            "criteria": [
                {"name": "errorRate", "verdict": "Fail", "value": 0.12, "threshold": 0.05, "samples": 250},
                {"name": "latencyP95", "verdict": "Pass", "value": 1.4, "threshold": 2.0, "samples": 250},
            ],
        },
    }
    out = text(render.status_view(migration(status, analysis={"prometheus": {"url": "http://prom:9090"}}), NOW))
    assert "RollingBack (AnalysisFailed)" in out
    assert "errorRate breached" in out
    assert "failures 1/0" in out and "inconclusive 0/3" in out
    assert "Last analysis 30s ago, step 1, weight 10%: Fail" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("errorRate", "latencyP95"))}
    assert rows["errorRate"][:5] == ["errorRate", "0.12", "0.05", "Fail", "250"]
    assert rows["latencyP95"][:4] == ["latencyP95", "1.4", "2", "Pass"]


def test_status_view_shows_baseline_forecast_mirror_conditions_and_recent_history() -> None:
    history = [
        {"time": iso(timedelta(minutes=60 - i)), "phase": "Progressing", "step": 0, "weight": 0, "reason": f"R{i}"}
        for i in range(8)
    ]
    status = {
        "phase": "Progressing",
        "currentStep": 0,
        "mirrorPercent": 20,
        "baseline": {"window": "7d", "latencyP95": 1.9, "errorRate": 0.004, "capturedAt": iso(timedelta(hours=1))},
        "forecast": {"sourceCostPerRequest": 0.0021, "targetCostPerRequest": 0.0018, "targetToSourceRatio": 0.857},
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "Progressing",
                "lastTransitionTime": iso(timedelta(minutes=3)),
            }
        ],
        "history": history,
    }
    steps = {"type": "Parallel", "steps": [{"mirror": 20, "pause": "1h"}, {"weight": 100}]}
    out = text(render.status_view(migration(status, strategy=steps), NOW, history=3))
    assert "20% of source requests copied to the target" in out
    assert "p95 1.9s" in out and "errors 0.4%" in out and "captured 60m ago" in out
    assert "target 0.0018 USD/request (0.86x)" in out
    assert any(line.split()[:4] == ["Ready", "False", "Progressing", "3m"] for line in out.splitlines())
    assert "History (last 3 of 8)" in out
    assert re.findall(r"\bR\d\b", out) == ["R5", "R6", "R7"]


def test_status_view_flags_unhandled_commands_stale_status_and_spec_pause() -> None:
    mig = migration({"phase": "Paused", "observedGeneration": 1, "handledCommands": {"promote": "old"}}, paused=True)
    raw = {
        **mig.raw,
        "metadata": {**mig.raw["metadata"], "generation": 2, "annotations": {"migrations.llmops.dev/promote": "new"}},
    }
    out = text(render.status_view(Migration.from_object(raw), NOW))
    assert "promote (new), not yet handled by the operator" in out
    assert "has not yet seen the latest spec" in out
    assert "spec.paused" in out


def test_status_view_says_what_ends_a_pause_on_analyses_without_data() -> None:
    mig = migration({"phase": "Paused", "reason": "AnalysisInconclusive", "currentStep": 0})
    out = text(render.status_view(mig, NOW))
    assert "`pmo promote` continues" in out and "spec.paused" not in out
    resumed = migration({"phase": "Progressing", "reason": "Promoted", "pauseReason": "AnalysisInconclusive"})
    assert "`pmo promote` continues" not in text(render.status_view(resumed, NOW))


def test_status_view_of_a_migration_without_status() -> None:
    out = text(render.status_view(migration(None), NOW))
    assert "Pending" in out and "0/3" in out
    assert "source 100%" in out and "0% target" in out
    assert "Last analysis" not in out


def test_summary_is_json_ready_and_keeps_an_unknown_phase() -> None:
    mig = migration({"phase": "Verifying", "currentStep": 1, "currentWeight": 50})
    summary = render.summary(mig)
    assert summary["phase"] == summary["status"]["phase"] == "Verifying"
    assert summary["status"]["currentWeight"] == 50 and summary["steps"] == 3
    assert summary["problems"] == ["status.phase"]


def test_status_line_for_logs() -> None:
    mig = migration({"phase": "Paused", "reason": "PausedBySpec", "currentStep": 0, "currentWeight": 10})
    assert render.status_line(mig, NOW) == "12:00:00  bot  Paused  step 1/3  weight 10%  PausedBySpec"


def test_watch_view_adds_when_it_was_read() -> None:
    out = text(render.watch_view(migration({"phase": "Progressing", "currentStep": 0}), NOW))
    assert "Progressing" in out and "support/bot read at 12:00:00 UTC" in out
