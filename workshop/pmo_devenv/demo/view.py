"""The demo's live progress and its summary, rendered with rich."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from types import TracebackType

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from provider_migration.api.status import CriterionResult
from provider_migration.views.terminal import PHASE_STYLES, VERDICT_STYLES, steps_view, weight_bar

from .result import DemoResult
from .runner import Progress


def _pct(value: float, signed: bool = False) -> str:
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def criterion_cells(c: CriterionResult) -> tuple[str, str]:
    """(value, limit) in the criterion's own terms."""
    v, t = c.value, c.threshold
    if c.name == "errorRate":
        return ("-" if v is None else _pct(v)), ("-" if t is None else f"<= {_pct(t)}")
    if c.name == "latencyP95":
        return ("-" if v is None else f"{v:.2f}x baseline p95"), ("-" if t is None else f"<= {t:g}x")
    if c.name == "cost":
        return ("-" if v is None else f"{_pct(v, True)} vs forecast"), ("-" if t is None else f"<= {_pct(t, True)}")
    if c.name == "quality":
        return ("-" if v is None else f"{_pct(-v, True)} vs baseline"), ("-" if t is None else f">= {_pct(-t, True)}")
    return ("-" if v is None else f"{v:.4g}"), ("-" if t is None else f"{t:.4g}")


def _since(p: Progress, at: float | None) -> str:
    base = p.created_at or p.started
    return "-" if at is None else f"t+{at - base:.1f}s"


def progress_view(p: Progress) -> RenderableType:
    now = time.monotonic()
    title = Text.assemble(("pmo demo", "bold"), f"  scenario {p.scenario.name}: {p.scenario.summary}")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("Environment", p.environment)
    grid.add_row(
        "Migration",
        f"{p.namespace}/support-bot-to-claude: openai/gpt-4o -> anthropic/claude-sonnet-4-5, "
        f"analysis every {p.settings.interval}",
    )
    grid.add_row(
        "Elapsed", f"{now - p.started:.0f}s" + (f" (migration t+{now - p.created_at:.1f}s)" if p.created_at else "")
    )
    if p.note:
        grid.add_row("Now", Text(p.note, style="cyan"))
    mig = p.migration
    if mig is not None:
        phase = Text(mig.phase, style=PHASE_STYLES.get(mig.known_phase, "") if mig.known_phase else "")
        if mig.status.reason:
            phase.append(f" ({mig.status.reason})", style="")
        if mig.status.message:
            phase.append(f"  {mig.status.message}", style="dim")
        grid.add_row("Phase", phase)
    if p.route_weight is not None:
        grid.add_row("Route", weight_bar(p.route_weight, 40, "gpt-4o", "claude"))
        grid.add_row("Weights seen", " -> ".join(f"{w}%" for w in p.weights))
    if mig is not None and mig.spec is not None:
        grid.add_row("Steps", steps_view(mig, datetime.now(UTC)))
    if p.fault_at is not None:
        grid.add_row("Fault", Text(f"{p.fault} at {_since(p, p.fault_at)}", style="yellow"))
    if p.breach_at is not None:
        grid.add_row("Breach", f"visible in Prometheus at {_since(p, p.breach_at)}")
    if p.restored_at is not None:
        took = f" ({p.restored_at - p.breach_at:.1f}s after the breach was visible)" if p.breach_at else ""
        grid.add_row("Rollback", Text(f"route back at 100% source at {_since(p, p.restored_at)}{took}", "red"))
    parts: list[RenderableType] = [title, grid]
    analysis = mig.status.last_analysis if mig is not None else None
    if analysis is not None:
        table = Table(
            box=box.SIMPLE_HEAD,
            title=f"Last analysis at {analysis.weight}%: {analysis.verdict}",
            title_justify="left",
            pad_edge=False,
        )
        for col in ("CRITERION", "VALUE", "LIMIT", "VERDICT", "SAMPLES"):
            table.add_column(col)
        for c in analysis.criteria:
            value, limit = criterion_cells(c)
            samples = "-" if c.samples is None else f"{c.samples:.0f}"
            table.add_row(c.name, value, limit, Text(c.verdict, style=VERDICT_STYLES.get(c.verdict, "")), samples)
        parts.append(table)
    return Group(*parts)


def progress_line(p: Progress) -> str:
    """One line per change, for logs and pipes."""
    base = p.created_at or p.started
    parts = [f"[{time.monotonic() - base:6.1f}s]"]
    if p.note:
        parts.append(p.note)
    mig = p.migration
    if mig is not None:
        parts.append(mig.phase + (f" ({mig.status.reason})" if mig.status.reason else ""))
    if p.route_weight is not None:
        parts.append(f"route target {p.route_weight}%")
    if p.fault_at is not None:
        parts.append(f"fault: {p.fault}")
    if p.breach_at is not None:
        parts.append("breach visible")
    if mig is not None and mig.status.last_analysis is not None:
        a = mig.status.last_analysis
        cells = ", ".join(f"{c.name} {criterion_cells(c)[0]} {c.verdict}" for c in a.criteria)
        parts.append(f"analysis {a.verdict} at {a.weight}%: {cells}")
    return " | ".join(parts)


class LiveView:
    """A rich Live panel on a terminal; otherwise one line whenever something changes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._live = Live(console=console, refresh_per_second=4, transient=False) if console.is_terminal else None
        self._last = ""

    def __enter__(self) -> LiveView:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.stop()

    def update(self, progress: Progress) -> None:
        if self._live is not None:
            self._live.update(progress_view(progress))
            return
        line = progress_line(progress)
        key = line.split("] ", 1)[-1]
        if key != self._last:
            self._last = key
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)


def summary_view(r: DemoResult, interval: str) -> RenderableType:
    problems = r.problems()
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    verdict = (
        Text("as expected", style="bold green")
        if not problems
        else Text("NOT as expected: " + "; ".join(problems), style="bold red")
    )
    head.add_row("Scenario", f"{r.scenario.name}: {r.scenario.summary}")
    head.add_row("Outcome", verdict)
    head.add_row("Phase", f"{r.phase} ({r.reason})" if r.reason else str(r.phase))
    if r.rollback_message:
        head.add_row("Rollback", Text(r.rollback_message, style="red"))
    path = " -> ".join(f"{w}% (t+{t:.1f}s)" for w, t in zip(r.weights, r.weight_times, strict=True))
    head.add_row("Target weights", path or "-")
    head.add_row("Fault", r.fault + (f" at t+{r.fault_at:.1f}s" if r.fault_at is not None else ""))
    if r.breach_visible_at is not None:
        head.add_row("Breach visible", f"t+{r.breach_visible_at:.1f}s (polled in Prometheus)")
    if r.detect_to_rollback_seconds is not None:
        head.add_row("Breach -> rollback", f"{r.detect_to_rollback_seconds:.2f}s (analysis interval {interval})")
    for side, label in (("source", "gpt-4o (source)"), ("target", "claude (target)")):
        stats = r.requests.get(side) or {}
        errors = sum(n for k, n in stats.items() if k.startswith("status_") and k != "status_200")
        head.add_row(f"Requests {side}", f"{label}: {stats.get('total', 0)} served, {errors} errors")
    head.add_row("Durations", f"set-up {r.setup_seconds:.1f}s, migration {r.duration_seconds:.1f}s")
    head.add_row("Namespace", r.namespace)
    head.add_row("Environment", r.environment)
    history = Table(box=box.SIMPLE_HEAD, title="Decisions (status.history)", title_justify="left", pad_edge=False)
    for col in ("TIME", "PHASE", "STEP", "WEIGHT", "REASON", "MESSAGE"):
        history.add_column(col, overflow="fold")
    for h in r.decisions:
        history.add_row(
            str(h.get("time", ""))[11:19],
            str(h.get("phase", "")),
            str(int(h.get("step", -1)) + 1),
            f"{h.get('weight', 0)}%",
            str(h.get("reason", "")),
            str(h.get("message", "")),
        )
    return Group(Text("\nSummary", style="bold underline"), head, history)
