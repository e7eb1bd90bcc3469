"""build_report(): a ProviderMigration object (as read from the API server) and, optionally, Prometheus in;
a Report out. Everything shown comes from the object's status, or from range queries over its lifetime."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from provider_migration.api.reasons import EventReason, ProgressReason
from provider_migration.api.status import TERMINAL_PHASES, HistoryEntry, ProviderMigrationStatus
from provider_migration.views.migration import Migration

from . import plots
from .model import CriterionSeries, Report, Section, Table
from .series import criterion_series, effective_analysis
from .source import RangeSource

DASH = "—"
# History entries where the split changed: the vertical lines on the criterion charts.
STEP_CHANGES = (ProgressReason.STEP_ADVANCED, ProgressReason.STABILIZING, EventReason.ROLLING_BACK)


def build_report(obj: dict[str, Any], source: RangeSource | None, now: datetime | None = None) -> Report:
    """`source` None: no Prometheus; the criteria come from the last analysis recorded in status."""
    now = now or datetime.now(UTC)
    mig = Migration.from_object(obj)
    if mig.spec is None:
        raise ValueError(f"{mig.namespace}/{mig.name}: the spec cannot be read ({'; '.join(mig.problems)})")
    st = mig.status
    start = st.started_at or mig.created or (st.history[0].time if st.history else now)
    end = st.completed_at if st.completed_at and mig.known_phase in TERMINAL_PHASES else now
    report = Report(
        name=mig.name,
        namespace=mig.namespace,
        generated_at=now,
        phase=mig.phase,
        reason=st.reason,
        facts=facts(mig, start, end),
        sections=[],
        criteria=[],
        metrics_from="status",
    )
    if mig.problems:
        report.notes.append("fields this pmo version cannot read were left out: " + ", ".join(mig.problems))
    report.sections.append(timeline_section(st, end))
    report.sections.append(criteria_section(report, mig, source, start, end))
    report.sections.append(decisions_section(st.history, start))
    report.sections.append(evaluation_section(mig))
    report.sections.append(cost_section(mig, report.criteria))
    return report


# ----- header ------------------------------------------------------------------------------------------


def duration_text(total: float | None) -> str:
    if total is None:
        return DASH
    s = round(total)
    parts = [(s // 86400, "d"), (s % 86400 // 3600, "h"), (s % 3600 // 60, "m"), (s % 60, "s")]
    return "".join(f"{n}{u}" for n, u in parts if n) or "0s"


def time_text(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when else DASH


def facts(mig: Migration, start: datetime, end: datetime) -> list[tuple[str, str]]:
    spec, st = mig.spec, mig.status
    assert spec is not None
    full = next((h.time for h in sorted(st.history, key=lambda h: h.time) if h.weight == 100), None)
    steps = ", ".join(
        "approval"
        if s.approval
        else (f"mirror {s.mirror}%" if s.mirror else f"{s.weight}%") + (f" for {s.pause}" if s.pause else "")
        for s in spec.strategy.steps
    )
    out = [
        ("Migration", f"{mig.namespace}/{mig.name}"),
        ("Source → target", f"{spec.source.provider}/{spec.source.model} → {spec.target.provider}/{spec.target.model}"),
        ("Route", f"{spec.route.kind} {spec.route.name}, model {spec.route.model_name}"),
        ("Strategy", f"{spec.strategy.type}: {steps}"),
        ("Phase", mig.phase + (f" ({st.reason})" if st.reason and st.reason != mig.phase else "")),
        ("Message", st.message or DASH),
        ("Started", time_text(start)),
        ("Completed", time_text(st.completed_at)),
        ("Duration", duration_text((end - start).total_seconds()) + ("" if st.completed_at else " so far")),
        ("Time to full traffic", duration_text((full - start).total_seconds()) if full else "never reached 100 %"),
    ]
    if st.rollback_reason:
        out.append(("Rollback reason", st.rollback_reason))
    return out


# ----- sections ----------------------------------------------------------------------------------------


def phase_durations(history: list[HistoryEntry], end: datetime) -> list[tuple[str, float]]:
    """Time spent in each phase, in order of first entry; terminal phases take no time."""
    entries = sorted(history, key=lambda h: h.time)
    totals: dict[str, float] = {}
    for entry, nxt in zip(entries, [*entries[1:], None], strict=True):
        if entry.phase in TERMINAL_PHASES:
            continue
        until = nxt.time if nxt is not None else end
        totals[entry.phase.value] = totals.get(entry.phase.value, 0.0) + max((until - entry.time).total_seconds(), 0)
    return list(totals.items())


def timeline_section(st: ProviderMigrationStatus, end: datetime) -> Section:
    section = Section("Phase and weight timeline")
    if not st.history:
        section.notes.append("status.history is empty: the operator has not recorded a decision yet")
        return section
    section.figures.append(plots.weight_timeline(st.history, end))
    rows = [[phase, duration_text(total)] for phase, total in phase_durations(st.history, end)]
    section.tables.append(Table(["Phase", "Time spent"], rows, "Time in each phase"))
    if len(st.history) >= 50:
        section.notes.append("status.history keeps the last 50 decisions: earlier ones are not shown")
    return section


def criteria_section(
    report: Report, mig: Migration, source: RangeSource | None, start: datetime, end: datetime
) -> Section:
    spec, st = mig.spec, mig.status
    assert spec is not None
    section = Section("Analysis criteria")
    charted = False
    if source is None:
        section.notes.append("No Prometheus given: the values below are the last analysis recorded in status.")
        _, note = effective_analysis(spec)
        if note and spec.analysis is None:
            section.notes.append("spec.analysis is not set: this migration never rolled back on metrics.")
    else:
        where = getattr(source, "url", "the metrics source")
        result = criterion_series(spec, st, source, start, end, mig.namespace)
        section.notes.extend(result.notes)
        if result.unavailable:
            section.notes.append(f"{result.unavailable}: falling back to the last analysis recorded in status.")
        else:
            report.criteria = result.series
            steps = [h.time for h in st.history if h.reason in STEP_CHANGES]
            for series in result.series:
                if series.points:
                    section.figures.append(plots.criterion_over_time(series, steps))
                    charted = True
                else:
                    section.notes.append(f"{series.name}: {series.problem or 'no data'} (query: {series.query})")
            if charted:
                report.metrics_from = "prometheus"
                section.notes.insert(
                    0,
                    f"Values over the migration's lifetime from Prometheus at {where}, "
                    "judged point by point by the operator's own criteria.",
                )
            elif result.series:
                section.notes.append(
                    f"Prometheus at {where} has no metrics for the target arm "
                    f"({spec.target.backend}) over the migration's lifetime: falling back to the "
                    "last analysis recorded in status."
                )
    last = st.last_analysis
    if last is None:
        section.notes.append("No analysis is recorded in status.")
        return section
    rows = [
        [c.name, c.verdict, _num(c.value), _num(c.threshold), _num(c.samples, ".0f"), c.message or ""]
        for c in last.criteria
    ]
    title = (
        f"Last analysis: {last.verdict} at {time_text(last.time)}, step {(last.step or 0) + 1}, weight {last.weight}%"
    )
    section.tables.append(Table(["Criterion", "Verdict", "Value", "Threshold", "Samples", "Message"], rows, title))
    if not charted:
        figure = plots.last_analysis(last.criteria)
        if figure is not None:
            section.figures.append(figure)
    return section


def decisions_section(history: list[HistoryEntry], start: datetime) -> Section:
    section = Section("Decisions")
    rows = [
        [
            time_text(h.time),
            "+" + duration_text((h.time - start).total_seconds()),
            h.phase.value,
            str(h.step + 1),
            f"{h.weight}%",
            h.reason,
            h.message,
        ]
        for h in sorted(history, key=lambda h: h.time)
    ]
    section.tables.append(Table(["Time", "Offset", "Phase", "Step", "Weight", "Reason", "Message"], rows))
    if not rows:
        section.notes.append("No decisions recorded yet.")
    return section


def evaluation_section(mig: Migration) -> Section:
    spec, ev = mig.spec, mig.status.evaluation
    assert spec is not None
    section = Section("Evaluation")
    if ev is None:
        section.notes.append(
            "No golden-set evaluation is configured (spec.evaluation)."
            if spec.evaluation is None
            else "spec.evaluation is set but no result is recorded in status yet."
        )
        return section
    section.notes.append(f"Verdict {ev.verdict} at {time_text(ev.completed_at)}. {ev.message}".strip())
    if ev.results_config_map:
        section.notes.append(f"Per-item results: ConfigMap {mig.namespace}/{ev.results_config_map}.")
    fields = [
        ("Pass rate", "pass_rate", ".1%"),
        ("Latency p50 (s)", "latency_p50", ".3f"),
        ("Latency p95 (s)", "latency_p95", ".3f"),
        ("Input tokens", "input_tokens", ",.0f"),
        ("Output tokens", "output_tokens", ",.0f"),
        ("Cost", "cost", ".4g"),
        ("Errors", "errors", ",.0f"),
        ("Items", "items", ",.0f"),
    ]
    rows = [[label, _num(getattr(ev.source, f), fmt), _num(getattr(ev.target, f), fmt)] for label, f, fmt in fields]
    section.tables.append(Table(["", "Source", "Target"], rows, "Golden set, source against target"))
    section.figures.append(plots.evaluation(ev))
    return section


def cost_section(mig: Migration, series: list[CriterionSeries]) -> Section:
    spec, st = mig.spec, mig.status
    assert spec is not None
    section = Section("Cost: forecast against actual")
    fc = st.forecast
    if fc is None:
        section.notes.append("No cost forecast in status: it needs pricing on both sides and a baseline token mix.")
        return section
    actual, origin = measured_cost(series, st)
    over = spec.analysis.rollback_on.cost.over_forecast if spec.analysis else None
    limit = fc.target_cost_per_request * (1 + over) if fc.target_cost_per_request is not None and over else None
    rows = [
        ["Source, per request (baseline mix)", _num(fc.source_cost_per_request, ".6g")],
        ["Target forecast, per request", _num(fc.target_cost_per_request, ".6g")],
        ["Target / source", _num(fc.target_to_source_ratio, ".3f")],
        ["Target actual, per request", _num(actual, ".6g") + (f" ({origin})" if origin else "")],
    ]
    if actual is not None and fc.target_cost_per_request:
        rows.append(["Actual against forecast", f"{actual / fc.target_cost_per_request - 1:+.1%}"])
    if limit is not None:
        rows.append([f"Rollback above (forecast +{over:.0%})", _num(limit, ".6g")])
    section.tables.append(Table(["", fc.currency], rows))
    if actual is None:
        section.notes.append("No measured cost: no Prometheus data and no cost criterion in the last analysis.")
    bars = [
        ("source (forecast)", fc.source_cost_per_request),
        ("target forecast", fc.target_cost_per_request),
        ("target actual", actual),
    ]
    figure = plots.cost(bars, limit, fc.currency)
    if figure is not None:
        section.figures.append(figure)
    return section


def measured_cost(series: list[CriterionSeries], st: ProviderMigrationStatus) -> tuple[float | None, str]:
    """The target's actual spend per request: request-weighted over the lifetime from Prometheus, else the
    last analysis' cost criterion (its value is the overage on the forecast)."""
    cost = next((s for s in series if s.name == "cost" and s.points), None)
    if cost is not None:
        weighted = [(p.raw, p.samples) for p in cost.points if p.samples]
        if weighted:
            total = sum(w for _, w in weighted)
            return sum(v * w for v, w in weighted) / total, "Prometheus, request-weighted over the lifetime"
        return sum(p.raw for p in cost.points) / len(cost.points), "Prometheus, mean over the lifetime"
    last = st.last_analysis
    criterion = next((c for c in last.criteria if c.name == "cost"), None) if last else None
    fc = st.forecast
    if criterion and criterion.value is not None and fc and fc.target_cost_per_request is not None:
        return fc.target_cost_per_request * (1 + criterion.value), "last analysis"
    return None, ""


def _num(value: float | None, fmt: str = ".4g") -> str:
    return DASH if value is None else format(value, fmt)
