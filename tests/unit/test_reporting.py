"""Reports from a fixture ProviderMigration: facts, plots (decodable PNGs), criteria over time judged by the
operator's criteria, fallbacks when Prometheus has nothing, and self-contained HTML and Markdown."""

from __future__ import annotations

import base64
import copy
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from provider_migration.analysis.source import MetricsUnavailable, QueryFailed
from provider_migration.api.status import ProviderMigrationStatus
from provider_migration.reporting import Report, build_report, render_html, render_markdown
from provider_migration.reporting.collect import phase_durations
from provider_migration.reporting.markdown import image_files
from provider_migration.reporting.source import MAX_POINTS, parse_matrix, step_for

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
FAULT_AT = 30  # minutes: the target's p95 triples from here on


def ts(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def history(minutes: float, phase: str, step: int, weight: int, reason: str, message: str = "") -> dict[str, Any]:
    return {"time": ts(minutes), "phase": phase, "step": step, "weight": weight, "reason": reason, "message": message}


SUMMARY = {"latencyP50": 0.9, "inputTokens": 30000, "outputTokens": 12000, "errors": 0, "items": 50}
OBJ: dict[str, Any] = {
    "apiVersion": "migrations.llmops.dev/v1alpha1",
    "kind": "ProviderMigration",
    "metadata": {"name": "support-bot", "namespace": "support", "creationTimestamp": ts(-1), "generation": 1},
    "spec": {
        "route": {"kind": "ConfigMap", "name": "llm-gateway", "modelName": "chat"},
        "source": {
            "provider": "openai",
            "model": "gpt-4o",
            "backend": "openai-gpt-4o",
            "pricing": {"inputPerMillion": 2.5, "outputPerMillion": 10},
        },
        "target": {
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "backend": "anthropic-claude",
            "pricing": {"inputPerMillion": 3, "outputPerMillion": 15},
        },
        "strategy": {"type": "Phased", "steps": [{"weight": 10, "pause": "15m"}, {"weight": 50}, {"weight": 100}]},
        "analysis": {"prometheus": {"url": "http://prometheus:9090"}, "interval": "1m"},
        "evaluation": {"dataset": {"configMap": "golden"}},
    },
    "status": {
        "phase": "RolledBack",
        "reason": "Latency",
        "message": "All traffic is back on the source. Latency: p95 6s is 3.00x | the source's 2s",
        "currentStep": 1,
        "currentWeight": 0,
        "startedAt": ts(0),
        "completedAt": ts(40),
        "rollbackReason": "Latency: p95 6s is 3.00x the source's 2s (limit 2x)",
        "baseline": {
            "capturedAt": ts(0),
            "latencyP95": 2.0,
            "inputTokensPerRequest": 600,
            "outputTokensPerRequest": 250,
        },
        "forecast": {
            "currency": "USD",
            "sourceCostPerRequest": 0.004,
            "targetCostPerRequest": 0.00555,
            "targetToSourceRatio": 1.3875,
        },
        "lastAnalysis": {
            "time": ts(39),
            "verdict": "Fail",
            "step": 1,
            "weight": 50,
            "criteria": [
                {"name": "errorRate", "verdict": "Pass", "value": 0.012, "threshold": 0.05, "message": "1.20% ok"},
                {"name": "latencyP95", "verdict": "Fail", "value": 3.0, "threshold": 2.0, "message": "<b>3.00x</b>"},
                {"name": "cost", "verdict": "Pass", "value": 0.04, "threshold": 0.1, "message": "+4.0%"},
            ],
        },
        "evaluation": {
            "verdict": "Pass",
            "completedAt": ts(2),
            "message": "target passes 47/50",
            "resultsConfigMap": "support-bot-eval",
            "source": {**SUMMARY, "passRate": 0.96, "latencyP95": 2.1, "cost": 0.2},
            "target": {**SUMMARY, "passRate": 0.94, "latencyP95": 2.4, "cost": 0.28},
        },
        "history": [
            history(0, "Initializing", -1, 0, "Initializing"),
            history(0.5, "Initializing", -1, 0, "BaselineCaptured", "Source baseline captured"),
            history(1, "Evaluating", -1, 0, "Evaluating"),
            history(3, "Progressing", 0, 10, "StepAdvanced", "Step 1/3: weight 10%, pause 15m"),
            history(18, "Progressing", 1, 50, "StepAdvanced", "Step 2/3: weight 50%"),
            history(39, "RollingBack", 1, 50, "RollingBack", "latencyP95 p95 6s is 3.00x"),
            history(40, "RolledBack", 1, 0, "RolledBack", "All traffic is back on the source."),
        ],
    },
}


def share_at(when: datetime) -> float:
    minutes = (when - T0).total_seconds() / 60
    return 0.0 if minutes < 3 else 0.1 if minutes < 18 else 0.5 if minutes < 39 else 0.0


class FakePrometheus:
    """Answers the LiteLLM preset's range queries like a gateway serving `rps` requests per second would."""

    url = "http://prometheus.test:9090"

    def __init__(self, rps: float = 10.0, empty: bool = False) -> None:
        self.rps, self.empty = rps, empty
        self.asked: list[str] = []

    def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[tuple[datetime, float]]:
        self.asked.append(promql)
        points, when = [], start
        while when <= end and not self.empty:
            share = share_at(when)
            value = self.value(promql, share, (when - T0).total_seconds() / 60)
            if value is not None:
                points.append((when, value))
            when += timedelta(seconds=step)
        return points

    def value(self, promql: str, share: float, minutes: float) -> float | None:
        if "openai-gpt-4o" in promql or "gpt-4o" in promql:
            return self.source_value(promql, 1 - share)
        if "histogram_quantile(0.95" in promql:
            return (6.0 if minutes >= FAULT_AT else 2.3) if share else None
        if "failure_responses" in promql:
            return 0.012 if share else None
        if "/ 1e6 /" in promql:
            return 0.0058 if share else None
        if "total_requests_total" in promql:
            return self.rps * share
        return None

    def source_value(self, promql: str, share: float) -> float | None:
        """The source arm: steady, and serving what the target does not."""
        if "histogram_quantile(0.95" in promql:
            return 2.0
        if "failure_responses" in promql:
            return 0.004
        if "/ 1e6 /" in promql:
            return 0.0041
        if "total_requests_total" in promql:
            return self.rps * share
        return None


def with_spec(**changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(OBJ)
    obj["spec"].update(changes)
    return obj


def pngs_in(html: str) -> list[Image.Image]:
    images: list[Image.Image] = []
    for data in re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html):
        raw = base64.b64decode(data, validate=True)
        assert raw.startswith(b"\x89PNG\r\n\x1a\n")
        image = Image.open(io.BytesIO(raw))
        image.load()
        images.append(image)
    return images


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report(OBJ, FakePrometheus(), now=NOW)


def test_html_embeds_every_plot_as_a_decodable_png(report: Report) -> None:
    html = render_html(report)
    images = pngs_in(html)
    # timeline, three criteria over time, evaluation, cost
    assert len(images) == len(report.figures) == 6
    assert all(img.width > 400 and img.height > 150 for img in images)
    assert html.count("<img ") == 6


def test_html_is_self_contained(report: Report) -> None:
    html = render_html(report)
    assert "<script" not in html and "<link" not in html
    assert not re.search(r'(src|href)="(?!data:)', html), "an external asset is referenced"
    assert "<b>3.00x</b>" not in html and "&lt;b&gt;3.00x&lt;/b&gt;" in html, "status text is escaped"


def test_key_facts_appear(report: Report) -> None:
    html = render_html(report)
    facts = dict(report.facts)
    assert facts["Migration"] == "support/support-bot"
    assert facts["Source → target"] == "openai/gpt-4o → anthropic/claude-sonnet-4-5"
    assert facts["Phase"] == "RolledBack (Latency)"
    assert facts["Duration"] == "40m" and facts["Time to full traffic"] == "never reached 100 %"
    for text in ("RolledBack (Latency)", "StepAdvanced", "Step 2/3: weight 50%", "96.0%", "94.0%", "support-bot-eval"):
        assert text in html
    assert "0.00555" in html and "0.0058" in html and "+4.5%" in html  # forecast, actual, actual against forecast


def test_criteria_over_time_are_judged_by_the_operators_criteria(report: Report) -> None:
    assert report.metrics_from == "prometheus"
    series = {s.name: s for s in report.criteria}
    assert list(series) == ["errorRate", "latencyP95", "cost"]
    latency = series["latencyP95"]
    assert latency.threshold == 2.0
    before = [p for p in latency.points if p.time < T0 + timedelta(minutes=FAULT_AT)]
    after = [p for p in latency.points if p.time >= T0 + timedelta(minutes=FAULT_AT)]
    assert (
        before
        and {p.verdict for p in before} == {"Pass"}
        and [p.value for p in before] == pytest.approx([1.15] * len(before))
    )
    assert (
        after
        and {p.verdict for p in after} == {"Fail"}
        and [p.value for p in after] == pytest.approx([3.0] * len(after))
    )
    cost = series["cost"]
    assert [p.value for p in cost.points] == pytest.approx([0.0058 / 0.00555 - 1] * len(cost.points))
    assert not series["errorRate"].failed
    # No point where the target carried no traffic, and only the target arm was asked about.
    assert all(share_at(p.time) > 0 for p in latency.points)


def test_the_target_is_judged_and_the_source_plotted_beside_it(report: Report) -> None:
    series = {s.name: s for s in report.criteria}
    assert all(share_at(p.time) > 0 for s in series.values() for p in s.points), "target points are the target's"
    assert {v for _, v in series["latencyP95"].source_points} == {2.0}
    assert {v for _, v in series["errorRate"].source_points} == {0.004}
    # Thresholds in the values' own units: 5 % errors, 2 x the 2 s baseline, forecast + 10 %.
    assert series["errorRate"].raw_threshold == 0.05 and series["errorRate"].unit == "%"
    assert series["latencyP95"].raw_threshold == pytest.approx(4.0)
    assert series["cost"].raw_threshold == pytest.approx(0.00555 * 1.1)


def test_too_few_requests_mark_points_inconclusive_but_keep_their_value() -> None:
    obj = with_spec(analysis={**OBJ["spec"]["analysis"], "minSamples": 100})
    report = build_report(obj, FakePrometheus(rps=10), now=NOW)  # 10 % of 10 rps: 60 requests a minute
    latency = next(s for s in report.criteria if s.name == "latencyP95")
    low = [p for p in latency.points if share_at(p.time) == 0.1]
    assert (
        low
        and {p.verdict for p in low} == {"Inconclusive"}
        and [p.value for p in low] == pytest.approx([1.15] * len(low))
    )


def test_without_prometheus_the_last_analysis_is_shown_and_said_so() -> None:
    report = build_report(OBJ, None, now=NOW)
    html = render_html(report)
    assert report.metrics_from == "status" and report.criteria == []
    assert "No Prometheus given" in html
    assert "Last analysis" in [f.title for f in report.figures]
    assert len(pngs_in(html)) == len(report.figures) == 4  # timeline, last analysis, evaluation, cost
    # The actual cost comes from the last analysis' cost criterion: forecast x (1 + 4 %).
    assert f"{0.00555 * 1.04:.6g} (last analysis)" in html


def test_prometheus_without_data_for_the_arm_falls_back_and_says_so() -> None:
    report = build_report(OBJ, FakePrometheus(empty=True), now=NOW)
    html = render_html(report)
    assert report.metrics_from == "status"
    assert "has no metrics for the target arm (anthropic-claude)" in html
    assert "Last analysis" in [f.title for f in report.figures]


def test_unreachable_prometheus_falls_back_and_says_so() -> None:
    class Down:
        url = "http://down:9090"

        def query_range(self, *args: object) -> list[tuple[datetime, float]]:
            raise MetricsUnavailable("Prometheus at http://down:9090 is unreachable: ConnectionError")

    html = render_html(build_report(OBJ, Down(), now=NOW))
    assert "is unreachable: ConnectionError: falling back to the last analysis" in html


def test_a_rejected_query_is_named_and_the_others_still_charted() -> None:
    class Picky(FakePrometheus):
        def query_range(self, promql: str, *args: Any) -> list[tuple[datetime, float]]:
            if "failure_responses" in promql:
                raise QueryFailed("Prometheus rejected the query: bad_data")
            return super().query_range(promql, *args)

    report = build_report(OBJ, Picky(), now=NOW)
    series = {s.name: s for s in report.criteria}
    assert series["errorRate"].problem == "Prometheus rejected the query: bad_data"
    assert series["latencyP95"].points and report.metrics_from == "prometheus"


def test_without_analysis_the_preset_is_charted_for_reference() -> None:
    obj = with_spec()
    del obj["spec"]["analysis"]
    report = build_report(obj, FakePrometheus(), now=NOW)
    html = render_html(report)
    assert "spec.analysis is not set: the charts use the litellm preset" in html
    assert [s.name for s in report.criteria] == ["errorRate", "latencyP95", "cost"]


def test_an_active_migration_runs_until_now() -> None:
    obj = copy.deepcopy(OBJ)
    status = obj["status"]
    status.update(phase="Progressing", reason="StepAdvanced", completedAt=None)
    status["history"] = status["history"][:5]
    report = build_report(obj, None, now=T0 + timedelta(minutes=25))
    assert dict(report.facts)["Duration"] == "25m so far"
    durations = dict(
        phase_durations(ProviderMigrationStatus.model_validate(status).history, T0 + timedelta(minutes=25))
    )
    assert durations == {"Initializing": 60, "Evaluating": 120, "Progressing": 22 * 60}


def test_phase_durations_skip_terminal_phases(report: Report) -> None:
    table = next(t for s in report.sections for t in s.tables if t.title == "Time in each phase")
    assert {label: value for label, value in table.rows} == {
        "Initializing": "1m",
        "Evaluating": "2m",
        "Progressing": "36m",
        "RollingBack": "1m",
    }


def test_markdown_has_the_same_content(report: Report) -> None:
    md = render_markdown(report)
    assert md.startswith("# Migration report: support/support-bot")
    for title in (
        "## Phase and weight timeline",
        "## Analysis criteria",
        "## Decisions",
        "## Evaluation",
        "## Cost: forecast against actual",
    ):
        assert title in md
    assert "base64" not in md, "figures are linked files, not inline data"
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    files = image_files(report, "images")
    assert linked == list(files) and len(files) == 6 and linked[0] == "images/01-phase-and-weight-timeline.png"
    assert all(png.startswith(b"\x89PNG") for png in files.values())
    assert "3.00x \\| the source's 2s" in md, "a pipe inside a cell is escaped"
    assert "| Phase | RolledBack (Latency) |" in md


def test_parse_matrix_and_step() -> None:
    assert parse_matrix([]) == []
    points = parse_matrix([{"metric": {}, "values": [[1.0, "2"], [2.0, "NaN"], [3.0, "+Inf"], [4.0, "5"]]}])
    assert [v for _, v in points] == [2.0, 5.0]
    with pytest.raises(QueryFailed, match="2 series"):
        parse_matrix([{"values": []}, {"values": []}])
    assert step_for(T0, T0 + timedelta(minutes=10), 60) == 60
    assert step_for(T0, T0 + timedelta(days=30), 60) == pytest.approx(30 * 86400 / MAX_POINTS)


def test_the_verdict_line_says_what_happened_where_and_why(report: Report) -> None:
    assert report.verdict == (
        "Rolled back at step 2/3 with 50% of traffic on the target: Latency: p95 6s is 3.00x the source's 2s "
        "(limit 2x)."
    )
    assert '<p class="verdict">Rolled back at step 2/3' in render_html(report)
    done = copy.deepcopy(OBJ)
    done["status"].update(phase="Succeeded", reason="Succeeded", currentStep=2, currentWeight=100)
    assert build_report(done, None, now=NOW).verdict.startswith("Succeeded: all traffic moved to anthropic/")


def test_the_strategy_that_ran_comes_from_history_not_todays_spec() -> None:
    edited = with_spec(strategy={"type": "BigBang", "steps": [{"weight": 100}]})  # edited after the rollback
    facts = dict(build_report(edited, None, now=NOW).facts)
    assert facts["Strategy (spec)"] == "BigBang: 100%"
    assert facts["Steps that ran (history)"] == "10% → 50% → rolled back from 50%"
    mirrored = copy.deepcopy(OBJ)
    mirrored["status"]["history"][3].update(weight=0, message="Step 1/4: mirror 20%, pause 15m")
    assert dict(build_report(mirrored, None, now=NOW).facts)["Steps that ran (history)"].startswith("mirror 20% → 50%")


def test_blast_radius_counts_what_the_target_served_and_failed(report: Report) -> None:
    # 10 rps: 10 % for 15 minutes, then 50 % for 21 minutes, 1.2 % of it failing.
    assert dict(report.facts)["Blast radius"] == (
        "at most 50% of traffic reached the target; it served about 7,200 requests, of which about 86 failed (1.2%)"
    )
    without = dict(build_report(OBJ, None, now=NOW).facts)["Blast radius"]
    assert without.startswith("at most 50% of traffic") and "need Prometheus" in without


def test_cost_at_production_volume() -> None:
    obj = copy.deepcopy(OBJ)
    obj["status"]["baseline"]["requestRate"] = 10.0
    report = build_report(obj, FakePrometheus(), now=NOW)
    table = next(t for s in report.sections for t in s.tables if t.title.startswith("At production volume"))
    assert table.title == "At production volume: 10 requests/s (the source's baseline), 25,920,000 requests / 30 days"
    rows = {r[0]: r[1:] for r in table.rows}
    assert rows["Source (today)"] == ["103,680", "—"]  # 0.004 per request
    assert rows["Target, forecast"] == ["143,856", "+40,176"]  # 0.00555 per request
    assert "No production volume" in render_html(build_report(OBJ, None, now=NOW))


def test_approvals_name_the_step_request_and_the_client_that_sent_it() -> None:
    obj = copy.deepcopy(OBJ)
    obj["spec"]["strategy"]["steps"].insert(1, {"approval": {}})
    obj["status"]["history"].insert(
        4, history(10, "Progressing", 1, 10, "Approved", "Approval at step 2/4 given by request 2026-11-20T09:10Z")
    )
    obj["status"]["history"][4]["by"] = "alice@example.com"
    obj["metadata"]["managedFields"] = [
        {
            "manager": "pmo",
            "operation": "Update",
            "time": "2026-11-20T09:10:00Z",
            "fieldsV1": {"f:metadata": {"f:annotations": {"f:migrations.llmops.dev/approve": {}}}},
        }
    ]
    facts = dict(build_report(obj, None, now=NOW).facts)
    assert facts["Approvals"] == (
        "2026-11-20 09:10:00 UTC: Approval at step 2/4 given by request 2026-11-20T09:10Z (by alice@example.com); "
        "annotation last set by pmo at 2026-11-20T09:10:00Z"
    )
    assert dict(build_report(OBJ, None, now=NOW).facts)["Approvals"] == "no approval gate in the strategy"


def test_criteria_charts_show_separate_points_from_zero_with_percentages(report: Report) -> None:
    import numpy as np
    from matplotlib.figure import Figure as MplFigure

    from provider_migration.reporting.plots import draw_criterion

    errors = next(s for s in report.criteria if s.name == "errorRate")
    ax = MplFigure().add_subplot()
    draw_criterion(ax, errors, [T0 + timedelta(minutes=18)])
    # Only the threshold and the step change are lines; the measurements are unjoined markers.
    assert all(len(np.asarray(line.get_xdata())) == 2 for line in ax.get_lines()) and len(ax.get_lines()) == 2
    assert ax.get_ylim()[0] == 0, "no negative error axis"
    assert np.asarray(ax.get_lines()[0].get_ydata())[0] == pytest.approx(5.0), "the threshold in percent"
    assert {label for label in ax.get_legend_handles_labels()[1]} >= {"source", "target"}
    table = next(t for s in report.sections for t in s.tables if t.title.startswith("Last analysis"))
    assert [r[2:4] for r in table.rows] == [
        ["1.2%", "5.0%"],
        ["3.00x baseline", "2.00x baseline"],
        ["+4.0% over forecast", "+10.0% over forecast"],
    ]
