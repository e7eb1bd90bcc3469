"""Plan and ROI as tables: the same sections rendered with rich (terminal) or as Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from provider_migration.planning.current_state import BackendUsage
from provider_migration.planning.plan import Plan
from provider_migration.planning.roi import Roi
from provider_migration.safetext import inert

DASH = "—"


@dataclass(frozen=True)
class Section:
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    footnotes: Sequence[str] = ()


def money(value: float | None, currency: str = "", decimals: int = 2) -> str:
    if value is None:
        return DASH
    return f"{value:,.{decimals}f}" + (f" {currency}" if currency else "")


def number(value: float | None, fmt: str = ",.0f") -> str:
    return DASH if value is None else format(value, fmt)


def seconds(value: float | None) -> str:
    return DASH if value is None else f"{value * 1000:,.0f} ms"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.2%}"


def roi_section(result: Roi, currency: str = "USD") -> Section:
    payback = (
        f"{result.payback_months} months (exactly {result.payback_months_exact:.2f})"
        if result.payback_months is not None and result.payback_months_exact is not None
        else f"none: {result.no_payback_reason}"
    )
    rows = [
        ["Monthly savings", money(result.monthly_savings, currency)],
        ["Annual savings", money(result.annual_savings, currency)],
        ["Migration cost (one-off)", money(result.migration_cost, currency)],
        ["Payback", payback],
        ["ROI over 12 months", money(result.roi_12_months, currency)],
        [
            "ROI over 12 months, %",
            number(result.roi_percent_12_months) + " %" if result.roi_percent_12_months is not None else DASH,
        ],
    ]
    return Section("ROI", ["", "value"], rows)


def _usage_row(role: str, usage: BackendUsage) -> list[str]:
    return [
        role,
        usage.backend,
        number(usage.monthly_input_tokens),
        number(usage.monthly_output_tokens),
        number(usage.monthly_requests),
        seconds(usage.latency_p50),
        seconds(usage.latency_p95),
        percent(usage.error_rate),
    ]


def plan_sections(plan: Plan) -> list[Section]:
    cur = plan.currency
    state = Section(
        f"Current state ({plan.current.origin}, 30 days)",
        ["role", "backend", "in tokens/mo", "out tokens/mo", "requests/mo", "p50", "p95", "errors"],
        [_usage_row("source", plan.current.source), _usage_row("target", plan.current.target)],
        footnotes=[f"not measured: {p}" for p in plan.current.problems],
    )
    matrix = Section(
        f"Comparison ({cur} per 1M tokens, blended at {plan.input_share:.0%} input; monthly at the route's volume)",
        ["role", "model", "input", "output", "blended", "monthly", "vs source", "p50", "p95", "errors"],
        [
            [
                r.role,
                r.ref,
                money(r.pricing.input_per_million if r.pricing else None),
                money(r.pricing.output_per_million if r.pricing else None),
                money(r.blended_per_million),
                money(r.monthly_cost),
                money(r.monthly_delta_vs_source),
                seconds(r.latency_p50),
                seconds(r.latency_p95),
                percent(r.error_rate),
            ]
            for r in plan.matrix
        ],
    )
    facts = Section(
        "Compliance, support and price sources",
        ["model", "compliance", "support / notes", "pricing from"],
        [
            [
                r.ref,
                ", ".join(r.compliance) or DASH,
                "; ".join(x for x in (r.support, r.notes) if x) or DASH,
                r.pricing_origin,
            ]
            for r in plan.matrix
        ],
    )
    sections = [state, matrix, facts]
    if plan.true_cost:
        sections.append(
            Section(
                f"True cost ({cur})",
                ["item", "kind", "current", "target", "delta", "basis"],
                [
                    [line.item, line.kind, money(line.current), money(line.target), money(line.delta), line.basis]
                    for line in plan.true_cost
                ],
            )
        )
    if plan.roi is not None:
        sections.append(roi_section(plan.roi, cur))
    if plan.notes:
        sections.append(Section("Notes", ["note"], [[n] for n in plan.notes]))
    return sections


def print_rich(sections: Sequence[Section], console: Console | None = None) -> None:
    console = console or Console()
    for section in sections:
        table = Table(title=section.title, title_justify="left", show_lines=False)
        for header in section.headers:
            table.add_column(header, overflow="fold")
        for row in section.rows:
            table.add_row(*(Text(inert(cell)) for cell in row))  # spec text: escaped, never rich markup
        console.print(table)
        for note in section.footnotes:
            console.print(Text(f"  {inert(note)}", style="dim"))


def markdown(sections: Sequence[Section], heading: str | None = None) -> str:
    out: list[str] = [f"# {heading}", ""] if heading else []
    for section in sections:
        out += [f"## {section.title}", ""]
        out.append("| " + " | ".join(section.headers) + " |")
        out.append("|" + "|".join("---" for _ in section.headers) + "|")
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in section.rows]
        out += [f"\n_{note}_" for note in section.footnotes]
        out.append("")
    return "\n".join(out)
