"""`pmo simulate` output: rich tables for people, one JSON document for scripts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from .result import SimulationResult

DASH = "—"
PHASE_STYLES = {"Succeeded": "green", "RolledBack": "red", "RollingBack": "red", "Blocked": "red", "Failed": "red"}


def offset_text(total: float | None, sign: str = "+") -> str:
    """Exact compact duration: +1h15m30s, +7d1h."""
    if total is None:
        return DASH
    s = round(total)
    parts = [(s // 86400, "d"), (s % 86400 // 3600, "h"), (s % 3600 // 60, "m"), (s % 60, "s")]
    text = "".join(f"{n}{unit}" for n, unit in parts if n)
    return sign + (text or "0s")


def requests_text(count: float) -> str:
    return f"{count:,.0f}"


def weights_text(result: SimulationResult) -> str:
    return " → ".join(result.splits)


def outcome_text(result: SimulationResult) -> str:
    reason = f" ({result.final_reason})" if result.final_reason and result.final_reason != result.final_phase else ""
    return result.final_phase + reason


def exposure_text(result: SimulationResult) -> str:
    if result.fault_started_after is None:
        return DASH
    e = result.exposure
    share = f" ({e.share:.1%} of the requests while faulty)" if e.share is not None else ""
    mirrored = f"; {requests_text(e.mirrored)} mirrored copies" if e.mirrored else ""
    return f"{requests_text(e.served)} served{share}{mirrored}"


def timeline_table(result: SimulationResult) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="Decision timeline", title_justify="left")
    for header in ("TIME", "PHASE", "STEP", "WEIGHT", "REASON", "MESSAGE"):
        table.add_column(header, no_wrap=header not in ("MESSAGE",))
    for row in result.timeline:
        weight = f"mirror {row.mirror}%" if row.mirror and not row.weight else f"{row.weight}%"
        table.add_row(
            offset_text(row.offset),
            Text(row.phase, style=PHASE_STYLES.get(row.phase, "")),
            str(row.step) if row.step > 0 else DASH,
            weight,
            Text(row.reason, style="bold red" if row.reason == "SimulatedFault" else ""),
            row.message,
        )
    return table


def outcome_table(result: SimulationResult) -> Table:
    table = Table(box=box.SIMPLE, show_header=False, title="Outcome", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("Final phase", Text(outcome_text(result), style=PHASE_STYLES.get(result.final_phase, "yellow")))
    table.add_row("Stopped because", result.stopped_because)
    if result.final_phase == "RolledBack":
        detected = offset_text(result.detection_time, "")
        table.add_row(
            "Rolled back after", f"{offset_text(result.completed_after, '')} (fault caught {detected} after it started)"
        )
    elif result.completed_after is not None:
        table.add_row("Completed after", offset_text(result.completed_after, ""))
    else:
        table.add_row("Simulated time", offset_text(result.elapsed, ""))
    table.add_row("Full traffic on the target after", offset_text(result.full_traffic_after, ""))
    table.add_row("Route went through", weights_text(result))
    if result.fault_step is not None:
        table.add_row("Fault", f"{result.fault} from step {result.fault_step}")
        table.add_row("Faulty target", exposure_text(result))
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(result.analyses.items())) or "none"
    criteria = f" (criteria: {', '.join(result.criteria)})" if result.criteria else ""
    table.add_row("Analyses", verdicts + criteria)
    return table


def header(result: SimulationResult) -> Text:
    steps = ", ".join(result.steps)
    return Text.assemble(
        (result.name or "migration", "bold"),
        f" · {result.strategy} [{steps}] · scenario ",
        (result.scenario, "bold"),
        f": {result.fault}" if result.fault_step is not None else "",
    )


def notes(result: SimulationResult) -> list[RenderableType]:
    return [Text(f"note: {n}", style="yellow") for n in result.notes]


def print_result(result: SimulationResult, console: Console | None = None) -> None:
    console = console or Console()
    console.print(Group(header(result), timeline_table(result), outcome_table(result), *notes(result)))


def comparison_table(results: dict[str, SimulationResult]) -> Table:
    any_fault = any(r.fault_step is not None for r in results.values())
    table = Table(box=box.SIMPLE_HEAD, title="Strategies compared", title_justify="left")
    headers = ["STRATEGY", "STEPS", "OUTCOME", "FULL TRAFFIC AFTER", "FINISHED AFTER"]
    if any_fault:
        headers += ["FAULT CAUGHT AFTER", "REQUESTS SERVED BY THE FAULTY TARGET", "MIRRORED"]
    for h in headers:
        table.add_column(h)
    for name, r in results.items():
        row: list[RenderableType] = [
            name,
            ", ".join(r.steps),
            Text(outcome_text(r), style=PHASE_STYLES.get(r.final_phase, "yellow")),
            offset_text(r.full_traffic_after, ""),
            offset_text(r.completed_after, ""),
        ]
        if any_fault:
            faulty = r.fault_started_after is not None
            row += [
                offset_text(r.detection_time, ""),
                requests_text(r.exposure.served) if faulty else DASH,
                requests_text(r.exposure.mirrored) if faulty else DASH,
            ]
        table.add_row(*row)
    return table


def print_comparison(results: dict[str, SimulationResult], console: Console | None = None) -> None:
    console = console or Console()
    console.print(comparison_table(results))
    for name, r in results.items():
        for n in r.notes:
            console.print(Text(f"note ({name}): {n}", style="yellow"))
        if r.final_phase not in ("Succeeded", "RolledBack"):
            console.print(Text(f"note ({name}): {r.stopped_because}", style="yellow"))


def to_dict(result: SimulationResult) -> dict[str, Any]:
    data = asdict(result)
    data["exposure"]["share"] = result.exposure.share
    data["detection_time"] = result.detection_time
    return data
