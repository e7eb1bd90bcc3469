"""Report figures drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, thread-safe)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from provider_migration.api.status import CriterionResult, EvaluationStatus, HistoryEntry

from .model import PERCENT_CRITERIA, CriterionSeries, Figure, criterion_value_text

PHASE_COLOURS = {
    "Initializing": "#b0bec5",
    "Evaluating": "#90a4ae",
    "Progressing": "#64b5f6",
    "Paused": "#ffd54f",
    "AwaitingApproval": "#ffb74d",
    "Stabilizing": "#81c784",
    "Succeeded": "#2e7d32",
    "RollingBack": "#e57373",
    "RolledBack": "#c62828",
    "Blocked": "#8d6e63",
    "Failed": "#6a1b9a",
    "Pending": "#cfd8dc",
}
VERDICT_COLOURS = {"Pass": "#2e7d32", "Fail": "#c62828", "Inconclusive": "#9e9e9e"}
SOURCE_COLOUR, TARGET_COLOUR, FORECAST_COLOUR = "#607d8b", "#1e88e5", "#90caf9"
DPI = 110


def _png(fig: MplFigure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _x(when: datetime) -> float:
    """Matplotlib's date number (its stubs take floats, not datetimes)."""
    return float(date2num(when))


def _time_axis(ax: Axes) -> None:
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    # Seconds as full clock times: a short migration's ticks would otherwise read "40, 45, 50".
    formats = ["%Y", "%b", "%d", "%H:%M", "%H:%M", "%H:%M:%S"]
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, formats=formats))
    ax.set_xlabel("time (UTC)")


def weight_timeline(history: Sequence[HistoryEntry], end: datetime) -> Figure:
    """Target weight as a step line over time, the background shaded by phase, a marker per decision."""
    fig = MplFigure(figsize=(9, 3.2))
    ax = fig.add_subplot()
    entries = sorted(history, key=lambda h: h.time)
    times = [h.time for h in entries] + [max(end, entries[-1].time)]
    weights = [h.weight for h in entries] + [entries[-1].weight]
    xs = [_x(t) for t in times]
    for entry, start, until in zip(entries, xs, xs[1:], strict=False):
        ax.axvspan(start, until, color=PHASE_COLOURS.get(entry.phase.value, "#eeeeee"), alpha=0.35, lw=0)
    # A step line is what happened: each split held until the next decision.
    ax.step(xs, [100 - w for w in weights], where="post", color=SOURCE_COLOUR, lw=1.5, ls="--", label="source")
    ax.step(xs, weights, where="post", color=TARGET_COLOUR, lw=2, label="target")
    for entry, x in zip(entries, xs, strict=False):
        colour = PHASE_COLOURS.get(entry.phase.value, "#333333")
        ax.plot(x, entry.weight, "o", color=colour, markeredgecolor="black", markersize=6, zorder=3)
    ax.set_ylim(-5, 105)
    ax.set_ylabel("share of traffic (%)")
    ax.set_title("Phase and weight timeline")
    ax.grid(axis="y", alpha=0.3)
    _time_axis(ax)
    phases = list(dict.fromkeys(h.phase.value for h in entries))
    lines, _ = ax.get_legend_handles_labels()
    handles = lines + [Patch(color=PHASE_COLOURS.get(p, "#eeeeee"), alpha=0.6, label=p) for p in phases]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    text = ", ".join(f"{p}" for p in phases)
    return Figure(
        "Phase and weight timeline", _png(fig), f"Source and target share of traffic through the phases {text}"
    )


def criterion_over_time(series: CriterionSeries, step_changes: Sequence[datetime]) -> Figure:
    """Both arms' measured values as separate points (each is one analysis window: nothing is implied between
    them), the target's coloured by the operator's verdict, the threshold in the same unit."""
    fig = MplFigure(figsize=(9, 2.8))
    ax = fig.add_subplot()
    draw_criterion(ax, series, step_changes)
    fails = sum(p.verdict == "Fail" for p in series.points)
    alt = (
        f"{series.name} of source and target over time against its threshold; "
        f"{fails} of {len(series.points)} target points fail"
    )
    return Figure(f"{series.name} over time", _png(fig), alt)


def draw_criterion(ax: Axes, series: CriterionSeries, step_changes: Sequence[datetime]) -> None:
    k = series.scale
    if series.source_points:
        ax.scatter(
            [_x(t) for t, _ in series.source_points],
            [v * k for _, v in series.source_points],
            color=SOURCE_COLOUR,
            marker="s",
            s=10,
            alpha=0.7,
            label="source",
        )
    for verdict, label in (("Pass", "target"), ("Fail", "target, fails"), ("Inconclusive", "target, too few requests")):
        marked = [p for p in series.points if p.verdict == verdict]
        if marked:
            ax.scatter(
                [_x(p.time) for p in marked],
                [p.raw * k for p in marked],
                color=TARGET_COLOUR if verdict == "Pass" else VERDICT_COLOURS[verdict],
                s=16,
                zorder=3,
                label=label,
            )
    if series.raw_threshold is not None:
        ax.axhline(
            series.raw_threshold * k,
            color=VERDICT_COLOURS["Fail"],
            ls="--",
            lw=1.2,
            label=f"threshold ({series.fails_when} {series.raw_threshold * k:.3g}{series.unit} fails)",
        )
    for change in step_changes:
        ax.axvline(_x(change), color="#777777", lw=0.8, ls=":")
    values = [p.raw for p in series.points] + [v for _, v in series.source_points]
    if values and min(values) >= 0:
        ax.set_ylim(bottom=0)  # rates, latencies and spend cannot be negative: no axis below zero
    if series.unit == "%":
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=1))
    ax.set_title(f"{series.name}: {series.label}")
    ax.grid(alpha=0.3)
    _time_axis(ax)
    handles, _ = ax.get_legend_handles_labels()
    if step_changes:
        handles.append(Line2D([], [], color="#777777", lw=0.8, ls=":", label="step change"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def last_analysis(criteria: Sequence[CriterionResult]) -> Figure | None:
    """One small panel per criterion with a value: the value as a bar, the threshold as a dashed line."""
    shown = [c for c in criteria if c.value is not None]
    if not shown:
        return None
    fig = MplFigure(figsize=(9, 0.6 + 1.0 * len(shown)), layout="constrained")
    axes = fig.subplots(len(shown), 1, squeeze=False)[:, 0]
    for ax, c in zip(axes, shown, strict=True):
        assert c.value is not None
        ax.barh([0], [c.value], color=VERDICT_COLOURS.get(c.verdict, "#9e9e9e"), height=0.6)
        if c.threshold is not None:
            ax.axvline(c.threshold, color="black", ls="--", lw=1.2)
        right = max(abs(c.value), abs(c.threshold or 0)) * 1.25 or 1.0
        ax.set_xlim(min(0.0, c.value * 1.25), right)
        ax.set_yticks([0], [c.name])
        threshold = f", limit {criterion_value_text(c.name, c.threshold)}" if c.threshold is not None else ""
        text = f"{c.verdict}: {criterion_value_text(c.name, c.value)}{threshold}"
        ax.text(1.01, 0.5, text, transform=ax.transAxes, va="center", fontsize=8)
        if c.name in PERCENT_CRITERIA:
            ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=1))
    axes[0].set_title("Last analysis: each criterion's value (bar) against its threshold (dashed)")
    summary = "; ".join(f"{c.name} {c.verdict} {c.value:.4g} vs {c.threshold}" for c in shown)
    return Figure("Last analysis", _png(fig), f"Last analysis values against thresholds: {summary}")


def evaluation(ev: EvaluationStatus) -> Figure:
    fig = MplFigure(figsize=(9, 3))
    ax_pass, ax_latency = fig.subplots(1, 2)
    sides = [("source", ev.source, SOURCE_COLOUR), ("target", ev.target, TARGET_COLOUR)]
    ax_pass.bar(
        [s for s, _, _ in sides], [(p.pass_rate or 0) * 100 for _, p, _ in sides], color=[c for _, _, c in sides]
    )
    ax_pass.set_ylim(0, 105)
    ax_pass.set_ylabel("pass rate (%)")
    ax_pass.set_title("Golden set: pass rate")
    width = 0.38
    for i, (name, p, colour) in enumerate(sides):
        xs = [0 + (i - 0.5) * width, 1 + (i - 0.5) * width]
        ax_latency.bar(xs, [p.latency_p50 or 0, p.latency_p95 or 0], width=width, color=colour, label=name)
    ax_latency.set_xticks([0, 1], ["p50", "p95"])
    ax_latency.set_ylabel("latency (s)")
    ax_latency.set_title("Golden set: latency")
    ax_latency.legend(fontsize=8, frameon=False)
    for ax in (ax_pass, ax_latency):
        ax.grid(axis="y", alpha=0.3)
    src, tgt = ev.source.pass_rate, ev.target.pass_rate
    return Figure("Evaluation", _png(fig), f"Golden-set pass rate source {src} target {tgt}, verdict {ev.verdict}")


def cost(bars: Sequence[tuple[str, float | None]], limit: float | None, currency: str) -> Figure | None:
    shown = [(label, value) for label, value in bars if value is not None]
    if not shown:
        return None
    fig = MplFigure(figsize=(7, 3))
    ax = fig.add_subplot()
    colours = [
        SOURCE_COLOUR if "source" in label else FORECAST_COLOUR if "forecast" in label else TARGET_COLOUR
        for label, _ in shown
    ]
    ax.bar([label for label, _ in shown], [v for _, v in shown], color=colours)
    for i, (_, value) in enumerate(shown):
        ax.text(i, value, f"{value:.3g}", ha="center", va="bottom", fontsize=8)
    top = max([v for _, v in shown] + [limit or 0.0])
    ax.set_ylim(0, top * 1.2 or 1.0)
    if limit is not None:
        ax.axhline(limit, color=VERDICT_COLOURS["Fail"], ls="--", lw=1.2, label="rollback limit")
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_ylabel(f"{currency} per request")
    ax.set_title("Cost per request: forecast against actual")
    ax.grid(axis="y", alpha=0.3)
    summary = "; ".join(f"{label} {value:.4g}" for label, value in shown)
    return Figure("Cost forecast against actual", _png(fig), f"Cost per request in {currency}: {summary}")
