"""Pure rendering of ProviderMigrations: a Migration view and a clock in, text or rich renderables out.

Nothing here talks to the cluster or reads the clock, so every view is unit-tested from status models.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from provider_migration.api.durations import seconds
from provider_migration.api.reasons import PauseReason
from provider_migration.api.spec import Endpoint, Step
from provider_migration.api.status import AnalysisStatus, BaselineStatus, ForecastStatus, Phase, ProviderMigrationStatus
from provider_migration.safetext import inert

from .migration import Migration

PHASE_STYLES = {
    Phase.PENDING: "dim",
    Phase.INITIALIZING: "cyan",
    Phase.EVALUATING: "cyan",
    Phase.PROGRESSING: "cyan",
    Phase.PAUSED: "yellow",
    Phase.AWAITING_APPROVAL: "yellow",
    Phase.STABILIZING: "cyan",
    Phase.SUCCEEDED: "green",
    Phase.ROLLING_BACK: "red",
    Phase.ROLLED_BACK: "red",
    Phase.BLOCKED: "red",
    Phase.FAILED: "bold red",
}
VERDICT_STYLES = {"Pass": "green", "Fail": "red", "Inconclusive": "yellow", "Error": "red"}
SOURCE_BAR, TARGET_BAR = "█", "▒"  # distinguishable without colour, too


def plain(text: object, style: str = "") -> Text:
    """Untrusted text as a rich renderable: escaped (`safetext.inert`: kubectl's EscapeTerminal) and, being a
    Text, never parsed as rich markup, so no `[link=...]` or colour can be smuggled in."""
    return Text(inert(text), style=style)


def _row(table: Table, *cells: RenderableType | str) -> None:
    table.add_row(*(plain(c) if isinstance(c, str) else c for c in cells))


def human_duration(total_seconds: float) -> str:
    """kubectl's AGE format (apimachinery's duration.HumanDuration)."""
    s = int(total_seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, hours // 24 % 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def age(then: datetime | None, now: datetime) -> str:
    return human_duration((now - then).total_seconds()) if then else "<unknown>"


def endpoint_label(endpoint: Endpoint | None) -> str:
    return f"{endpoint.provider}/{endpoint.model}" if endpoint else "<unknown>"


def step_label(mig: Migration) -> str:
    """Step i/n, counting from 1; 0/n before the first step."""
    total = len(mig.steps) if mig.spec else "?"
    return f"{mig.status.current_step + 1}/{total}"


def phase_text(mig: Migration) -> Text:
    phase = mig.known_phase
    return plain(mig.phase, style=PHASE_STYLES.get(phase, "magenta") if phase else "magenta")


# ----- get ----------------------------------------------------------------------------------------------


def table_rows(
    migs: list[Migration], now: datetime, all_namespaces: bool = False, wide: bool = False
) -> tuple[list[str], list[list[str]]]:
    """The header and one row per migration, in the CRD's printer-column order (`-o wide`: priority 1 too)."""
    header = ["NAME", "PHASE", "STEP", "WEIGHT", "SOURCE", "TARGET", *(["REASON", "TEMPLATE"] if wide else []), "AGE"]
    if wide:
        header.append("MESSAGE")
    rows = []
    for m in migs:
        row = [
            m.name,
            m.phase,
            step_label(m),
            f"{m.status.current_weight}%",
            endpoint_label(m.spec.source if m.spec else None),
            endpoint_label(m.spec.target if m.spec else None),
            *([m.status.reason or "<none>", _template_name(m)] if wide else []),
            age(m.created, now),
        ]
        if wide:
            row.append(m.status.message or "")
        rows.append([inert(cell) for cell in row])
    if all_namespaces:
        header.insert(0, "NAMESPACE")
        for m, row in zip(migs, rows, strict=True):
            row.insert(0, inert(m.namespace))
    return header, rows


def _template_name(m: Migration) -> str:
    ref = (m.raw.get("spec") or {}).get("templateRef")
    return str(ref.get("name") or "<none>") if isinstance(ref, dict) else "<none>"


def column_widths(rows: list[list[str]], at_least: list[int] | None = None) -> list[int]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [max(w, m) for w, m in zip(widths, at_least, strict=True)] if at_least else widths


def format_rows(rows: list[list[str]], widths: list[int]) -> str:
    """kubectl-style columns: left-aligned, three spaces apart, no borders, one line per row."""
    lines = ["   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def table(migs: list[Migration], now: datetime, all_namespaces: bool = False, wide: bool = False) -> str:
    header, rows = table_rows(migs, now, all_namespaces, wide)
    return format_rows([header, *rows], column_widths([header, *rows]))


# ----- status -------------------------------------------------------------------------------------------


def weight_bar(target: int, width: int = 40, source_label: str = "source", target_label: str = "target") -> Text:
    """`source 90% ████▒ 10% target`: each side gets at least one cell while it carries any traffic."""
    target = min(max(target, 0), 100)
    source = 100 - target
    cells = round(width * target / 100)
    if 0 < target < 100:
        cells = min(max(cells, 1), width - 1)
    bar = Text()
    bar.append(f"{source_label} {source}% ", style="bold")
    bar.append(SOURCE_BAR * (width - cells), style="blue")
    bar.append(TARGET_BAR * cells, style="green")
    bar.append(f" {target}% {target_label}", style="bold")
    return bar


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.4g}{unit}"


def _pause_left(step: Step, started: datetime | None, now: datetime) -> str:
    if step.pause is None:
        return ""
    if started is None:
        return f", pause {step.pause}"
    left = started + timedelta(seconds=seconds(step.pause)) - now
    remaining = f"{human_duration(left.total_seconds())} left" if left.total_seconds() > 0 else "elapsed"
    return f", pause {step.pause} ({remaining})"


def describe_step(step: Step) -> str:
    if step.weight is not None:
        text = f"weight {step.weight}%"
    elif step.mirror is not None:
        text = f"mirror {step.mirror}%"
    else:
        gate = step.approval.message if step.approval and step.approval.message else ""
        text = "approval gate" + (f": {gate}" if gate else "")
    return text


def steps_view(mig: Migration, now: datetime) -> Text:
    """The step list: done steps ticked, the current one marked with an arrow (and its pause countdown)."""
    if not mig.spec:
        return Text("steps unknown (spec unreadable)", style="dim")
    lines: list[Text] = []
    current = mig.status.current_step
    done_all = mig.known_phase == Phase.SUCCEEDED
    for i, step in enumerate(mig.steps):
        if done_all or i < current:
            marker, style = "✔", "green"
        elif i == current:
            marker, style = "▶", "bold"
        else:
            marker, style = " ", "dim"
        line = f"{marker} {i + 1}. {describe_step(step)}"
        if i == current and not done_all:
            line += _pause_left(step, mig.status.step_started_at, now)
        lines.append(plain(line, style=style))
    return Text("\n").join(lines) if lines else Text("no steps", style="dim")


def _baseline_line(b: BaselineStatus, now: datetime) -> str:
    parts = [
        f"p50 {_number(b.latency_p50, 's')}",
        f"p95 {_number(b.latency_p95, 's')}",
        f"p99 {_number(b.latency_p99, 's')}",
        f"errors {_number(b.error_rate * 100 if b.error_rate is not None else None, '%')}",
        f"requests {_number(b.request_rate, '/s')}",
        f"cost/request {_number(b.cost_per_request)}",
    ]
    if b.quality is not None:
        parts.append(f"quality {_number(b.quality)}")
    when = f" (window {b.window or '-'}, captured {age(b.captured_at, now)} ago)"
    return "  ".join(parts) + when


def _forecast_line(f: ForecastStatus) -> str:
    ratio = f" ({f.target_to_source_ratio:.2f}x)" if f.target_to_source_ratio is not None else ""
    return (
        f"source {_number(f.source_cost_per_request)} {f.currency}/request, "
        f"target {_number(f.target_cost_per_request)} {f.currency}/request{ratio}"
    )


def analysis_view(analysis: AnalysisStatus, now: datetime) -> RenderableType:
    title = Text(f"Last analysis {age(analysis.time, now)} ago")
    if analysis.step is not None:
        title.append(f", step {analysis.step + 1}")
    if analysis.weight is not None:
        title.append(f", weight {analysis.weight}%")
    title.append(": ")
    title.append(inert(analysis.verdict), style=VERDICT_STYLES.get(analysis.verdict, ""))
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for col in ("CRITERION", "VALUE", "THRESHOLD", "VERDICT", "SAMPLES", "MESSAGE"):
        grid.add_column(col, overflow="fold")
    for c in analysis.criteria:
        _row(
            grid,
            c.name,
            _number(c.value),
            _number(c.threshold),
            plain(c.verdict, style=VERDICT_STYLES.get(c.verdict, "")),
            _number(c.samples),
            c.message or "",
        )
    return Group(title, grid) if analysis.criteria else title


def _section(title: str) -> Text:
    return Text(f"\n{title}", style="bold underline")


def status_view(mig: Migration, now: datetime, history: int = 5) -> RenderableType:
    """Everything `pmo status` shows, top to bottom, most decisive first."""
    st, spec = mig.status, mig.spec
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    _row(head, "Name", f"{mig.namespace}/{mig.name}")
    phase = phase_text(mig)
    if st.reason:
        phase.append(f" ({inert(st.reason)})", style="")
    _row(head, "Phase", phase)
    if st.message:
        _row(head, "Message", st.message)
    if st.rollback_reason:
        _row(head, "Rollback", plain(st.rollback_reason, style="red"))
    if st.action_failure is not None:
        _row(head, "Failing", plain(failure_text(st), style="red"))
    if mig.template:
        _row(head, "Template", mig.template)
    if spec:
        _row(head, "Strategy", spec.strategy.type)
        _row(head, "Source", f"{endpoint_label(spec.source)} (backend {spec.source.backend})")
        _row(head, "Target", f"{endpoint_label(spec.target)} (backend {spec.target.backend})")
        _row(head, "Route", f"{spec.route.kind}/{spec.route.name}, model {spec.route.model_name}")
        if spec.paused:
            _row(head, "Paused", Text("yes (spec.paused; `pmo resume` continues)", style="yellow"))
        elif st.pause_reason == PauseReason.ANALYSIS_INCONCLUSIVE and mig.known_phase == Phase.PAUSED:
            why = "analyses without data; once the metrics are back `pmo promote` continues, `pmo abort` rolls back"
            _row(head, "Paused", Text(why, style="yellow"))
    _row(head, "Step", step_label(mig))
    _row(head, "Traffic", weight_bar(st.current_weight, 30))
    if st.mirror_percent:
        _row(head, "Mirror", f"{st.mirror_percent}% of source requests copied to the target (responses discarded)")
    if st.started_at:
        done = f", completed {age(st.completed_at, now)} ago" if st.completed_at else ""
        _row(head, "Started", f"{age(st.started_at, now)} ago{done}")
    if mig.generation is not None and st.observed_generation is not None and st.observed_generation < mig.generation:
        _row(head, "Note", Text("the operator has not yet seen the latest spec", style="yellow"))
    for command, request in mig.pending_commands().items():
        _row(head, "Requested", plain(f"{command} ({request}), not yet handled by the operator", style="yellow"))
    if st.credentials.target_projected or st.credentials.source_decommissioned:
        creds = [
            name
            for name, on in (
                ("target key projected", st.credentials.target_projected),
                ("source key decommissioned", st.credentials.source_decommissioned),
            )
            if on
        ]
        _row(head, "Credentials", ", ".join(creds))

    parts: list[RenderableType] = [head, _section("Steps"), steps_view(mig, now)]
    if st.baseline:
        parts += [_section("Baseline (source)"), Text(_baseline_line(st.baseline, now))]
    if st.forecast:
        parts += [_section("Cost forecast"), Text(_forecast_line(st.forecast))]
    if (spec and spec.analysis) or st.last_analysis or st.failures or st.inconclusives:
        parts.append(_section("Analysis"))
        limits = spec.analysis if spec else None
        counts = Text(f"failures {st.failures}" + (f"/{limits.failure_limit}" if limits else ""))
        counts.append(f"   inconclusive {st.inconclusives}" + (f"/{limits.inconclusive_limit}" if limits else ""))
        parts.append(counts)
        parts.append(analysis_view(st.last_analysis, now) if st.last_analysis else Text("no analysis yet", "dim"))
    if st.evaluation:
        ev = st.evaluation
        parts += [
            _section("Evaluation"),
            Text.assemble(
                (inert(ev.verdict), VERDICT_STYLES.get(ev.verdict, "")),
                f"  pass rate source {_number(ev.source.pass_rate)} / target {_number(ev.target.pass_rate)}"
                f"  ({age(ev.completed_at, now)} ago) {inert(ev.message or '')}",
            ),
        ]
    if st.conditions:
        grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for col in ("TYPE", "STATUS", "REASON", "AGE", "MESSAGE"):
            grid.add_column(col, overflow="fold")
        for c in st.conditions:
            _row(grid, c.type, c.status, c.reason, age(c.last_transition_time, now), c.message)
        parts += [_section("Conditions"), grid]
    if st.history and history > 0:
        grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for col in ("AGE", "PHASE", "STEP", "WEIGHT", "REASON", "MESSAGE"):
            grid.add_column(col, overflow="fold")
        for h in st.history[-history:]:
            message = f"{h.message} (by {h.by})" if h.by else h.message
            _row(grid, age(h.time, now), h.phase.value, str(h.step + 1), f"{h.weight}%", h.reason, message)
        parts += [_section(f"History (last {min(history, len(st.history))} of {len(st.history)})"), grid]
    if mig.problems:
        parts += [
            _section("Not shown"),
            Text("\n".join(f"unreadable by this pmo version: {inert(p)}" for p in mig.problems), style="yellow"),
        ]
    return Group(*parts)


def watch_view(mig: Migration, now: datetime) -> RenderableType:
    """The live view: the status plus when it was last read."""
    footer = Text(
        f"\n{inert(mig.namespace)}/{inert(mig.name)} read at {now.strftime('%H:%M:%S')} UTC; Ctrl-C stops watching",
        "dim",
    )
    return Group(status_view(mig, now), footer)


def failure_text(st: ProviderMigrationStatus) -> str:
    """A change the operator keeps retrying (status.actionFailure), in words, or '' when there is none."""
    f = st.action_failure
    if f is None:
        return ""
    return f"{f.reason} ({f.count} {'try' if f.count == 1 else 'tries'}; next at {f.next_try_at:%H:%M:%S}Z)"


def status_line(mig: Migration, now: datetime) -> str:
    """One line per change, for `watch` when stdout is not a terminal."""
    st = mig.status
    line = f"{now.strftime('%H:%M:%S')}  {mig.name}  {mig.phase}  step {step_label(mig)}  weight {st.current_weight}%"
    if st.mirror_percent:
        line += f"  mirror {st.mirror_percent}%"
    if st.reason:
        line += f"  {st.reason}"
    if st.message:
        line += f": {st.message}"
    if st.action_failure is not None and not (st.message or "").startswith(st.action_failure.reason):
        line += f"  failing: {failure_text(st)}"
    return inert(line)


def summary(mig: Migration) -> dict[str, Any]:
    """The machine-readable status: identity plus the normalised status (defaults filled in)."""
    return {
        "name": mig.name,
        "namespace": mig.namespace,
        "generation": mig.generation,
        "steps": len(mig.steps) if mig.spec else None,
        "paused": mig.spec.paused if mig.spec else None,
        "phase": mig.phase,
        "status": mig.status.to_wire() | {"phase": mig.phase},
        "pendingCommands": mig.pending_commands(),
        "problems": mig.problems,
    }
