"""build_report(): a ProviderMigration object (as read from the API server) and, optionally, Prometheus in;
a Report out. Everything shown comes from the object's status, or from range queries over its lifetime."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from provider_migration.api.constants import command_annotation
from provider_migration.api.reasons import EventReason, ProgressReason
from provider_migration.api.status import TERMINAL_PHASES, HistoryEntry, Phase, ProviderMigrationStatus
from provider_migration.views.migration import Migration

from . import plots
from .model import CriterionSeries, Report, Section, Table, criterion_value_text
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
    blast: list[float | None] = [None, None]
    report.sections.append(criteria_section(report, mig, source, start, end, blast))
    report.facts.insert(_after(report.facts, "Time to full traffic"), ("Blast radius", blast_radius(st, *blast)))
    report.sections.append(decisions_section(st.history, start))
    report.sections.append(evaluation_section(mig))
    report.sections.append(cost_section(mig, report.criteria))
    report.verdict = verdict_line(mig, start, end)
    return report


def _after(facts: list[tuple[str, str]], label: str) -> int:
    return next((i + 1 for i, (k, _) in enumerate(facts) if k == label), len(facts))


# ----- the decision-maker's lines ------------------------------------------------------------------------


def step_text(mig: Migration, index: int) -> str:
    """Step numbers as everywhere else: 1-based of the spec's steps, 0 before the first."""
    return f"{max(index, -1) + 1}/{len(mig.steps)}"


def verdict_line(mig: Migration, start: datetime, end: datetime) -> str:
    spec, st = mig.spec, mig.status
    assert spec is not None
    target = f"{spec.target.provider}/{spec.target.model}"
    took = duration_text((end - start).total_seconds())
    rolled = next((h for h in reversed(st.history) if h.reason == EventReason.ROLLING_BACK), None)
    phase = mig.known_phase
    if phase == Phase.SUCCEEDED:
        tolerated = f" ({st.failures} failed analyses tolerated)" if st.failures else ""
        return f"Succeeded: all traffic moved to {target} in {took}; no criterion stopped it{tolerated}."
    if phase in (Phase.ROLLED_BACK, Phase.ROLLING_BACK):
        where = f"step {step_text(mig, rolled.step)} with {rolled.weight}% of traffic on the target" if rolled else ""
        done = "Rolled back" if phase == Phase.ROLLED_BACK else "Rolling back"
        return f"{done} at {where or 'an unknown step'}: {st.rollback_reason or st.reason or 'no reason recorded'}."
    if phase == Phase.FAILED:
        return f"Failed: {st.message or st.reason or 'no reason recorded'}."
    reason = f" ({st.reason})" if st.reason and st.reason != mig.phase else ""
    return (
        f"In progress for {took}: {mig.phase}{reason} at step {step_text(mig, st.current_step)}, "
        f"{st.current_weight}% of traffic on {target}."
    )


def blast_radius(st: ProviderMigrationStatus, served: float | None, failed: float | None) -> str:
    peak = max((h.weight for h in st.history), default=st.current_weight)
    share = f"at most {peak}% of traffic reached the target"
    if served is None:
        return f"{share}; request counts need Prometheus (status keeps none)"
    text = f"{share}; it served about {served:,.0f} requests"
    if failed is not None:
        rate = f" ({failed / served:.1%})" if served else ""
        text += f", of which about {failed:,.0f} failed{rate}"
    return text


def steps_run(mig: Migration) -> str:
    """What actually ran, from history (the spec may have been edited since): each split reached, in order."""
    parts: list[str] = []
    for h in sorted(mig.status.history, key=lambda h: h.time):
        if h.reason == ProgressReason.STEP_ADVANCED:
            # A mirror step moves no weight: its share is only in the message ("Step 1/4: mirror 20%").
            mirror = re.search(r"\bmirror (\d+)%", h.message)
            parts.append(f"mirror {mirror.group(1)}%" if mirror and not h.weight else f"{h.weight}%")
        elif h.reason == EventReason.APPROVED:
            parts.append("approved")
        elif h.reason == ProgressReason.STABILIZING and (not parts or parts[-1] != "100%"):
            parts.append("100%")
        elif h.reason == EventReason.ROLLING_BACK:
            parts.append(f"rolled back from {h.weight}%")
    return " → ".join(parts) if parts else "no step reached yet"


def approvals(mig: Migration) -> str:
    """Who approved, as far as the cluster records it: each approval's step, request id and user (history[].by,
    stamped by the chart's admission policy) and the client that set the approve annotation (managedFields)."""
    given = [h for h in mig.status.history if h.reason == EventReason.APPROVED]
    if not given:
        gates = sum(1 for s in mig.steps if s.approval is not None)
        return "no approval gate in the strategy" if not gates else "no approval given yet"
    annotation = f"f:{command_annotation('approve')}"
    writers = [
        f"{m.get('manager', '?')} at {m.get('time', '?')}"
        for m in (mig.raw.get("metadata") or {}).get("managedFields") or []
        if annotation in ((m.get("fieldsV1") or {}).get("f:metadata") or {}).get("f:annotations", {})
    ]
    who = f"; annotation last set by {', '.join(writers)}" if writers else ""
    return "; ".join(f"{time_text(h.time)}: {h.message}" + (f" (by {h.by})" if h.by else "") for h in given) + who


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
        *([("Template", mig.template)] if mig.template else []),
        ("Strategy (spec)", f"{spec.strategy.type}: {steps}"),
        ("Steps that ran (history)", steps_run(mig)),
        ("Approvals", approvals(mig)),
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
    report: Report,
    mig: Migration,
    source: RangeSource | None,
    start: datetime,
    end: datetime,
    blast: list[float | None],
) -> Section:
    """`blast` receives the target's served and failed request counts when Prometheus has them."""
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
        blast[:] = [result.target_requests, result.target_failed]
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
                    f"Values over the migration's lifetime from Prometheus at {where}: each point is one "
                    "analysis window, the target's judged by the operator's own criteria, the source's for "
                    "comparison.",
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
        [
            c.name,
            c.verdict,
            criterion_value_text(c.name, c.value),
            criterion_value_text(c.name, c.threshold),
            _num(c.samples, ",.0f"),
            c.message or "",
        ]
        for c in last.criteria
    ]
    at = step_text(mig, last.step if last.step is not None else -1)
    title = f"Last analysis: {last.verdict} at {time_text(last.time)}, step {at}, weight {last.weight}%"
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
    volume = production_volume(st, fc.currency, actual)
    if volume is not None:
        section.tables.append(volume)
    else:
        section.notes.append("No production volume: the baseline recorded no request rate for the source.")
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


MONTH_SECONDS = 30 * 86400


def production_volume(st: ProviderMigrationStatus, currency: str, actual: float | None) -> Table | None:
    """Cost per 30 days at the source's baseline request rate: what the decision is worth at full traffic."""
    fc, rate = st.forecast, st.baseline.request_rate if st.baseline else None
    if fc is None or not rate:
        return None
    requests = rate * MONTH_SECONDS
    src = fc.source_cost_per_request * requests if fc.source_cost_per_request is not None else None

    def row(label: str, per_request: float | None) -> list[str]:
        monthly = per_request * requests if per_request is not None else None
        diff = f"{monthly - src:+,.0f}" if monthly is not None and src is not None else DASH
        return [label, _num(monthly, ",.0f"), diff]

    rows = [
        ["Source (today)", _num(src, ",.0f"), DASH],
        row("Target, forecast", fc.target_cost_per_request),
        row("Target, actual", actual),
    ]
    title = f"At production volume: {rate:,.3g} requests/s (the source's baseline), {requests:,.0f} requests / 30 days"
    return Table(["", f"{currency} / 30 days", "against the source"], rows, title)


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
