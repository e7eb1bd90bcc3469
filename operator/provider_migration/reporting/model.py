"""A migration report as data: facts, sections of notes, tables and figures. Renderers only format it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime

# How each built-in criterion's judged value reads: a fraction as a percentage, the latency as a ratio.
PERCENT_CRITERIA = {"errorRate": "", "cost": " over forecast", "quality": " drop"}


def criterion_value_text(name: str, value: float | None) -> str:
    """A criterion's value (or threshold) in words: `1.2%`, `+4.0% over forecast`, `3.00x baseline`."""
    if value is None:
        return "—"
    if name in PERCENT_CRITERIA:
        signed = "+" if name == "cost" and value >= 0 else ""
        return f"{signed}{value * 100:.{1 if abs(value) < 10 else 0}f}%{PERCENT_CRITERIA[name]}"
    if name == "latencyP95":
        return f"{value:.2f}x baseline"
    return f"{value:.4g}"


@dataclass(frozen=True)
class Figure:
    title: str
    png: bytes
    alt: str

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    title: str = ""


@dataclass
class Section:
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass(frozen=True)
class CriterionPoint:
    time: datetime
    value: float  # as the criterion judges it (a ratio, an overage...), comparable with the threshold
    verdict: str  # Pass, Fail, or Inconclusive (too few requests at that point)
    raw: float  # what the query returned
    samples: float | None


@dataclass
class CriterionSeries:
    name: str
    label: str  # what `value` means
    threshold: float | None
    fails_when: str  # "above" or "below"
    query: str
    points: list[CriterionPoint] = field(default_factory=list)
    problem: str | None = None  # why there are no points
    unit: str = ""  # of the raw values, once multiplied by `scale` ("%" for a fraction shown as percent)
    scale: float = 1.0
    raw_threshold: float | None = None  # the threshold in raw units, when it can be stated in them
    source_points: list[tuple[datetime, float]] = field(default_factory=list)  # the source arm, for comparison

    @property
    def failed(self) -> bool:
        return any(p.verdict == "Fail" for p in self.points)


@dataclass
class Report:
    name: str
    namespace: str
    generated_at: datetime
    phase: str
    reason: str | None
    facts: list[tuple[str, str]]
    sections: list[Section]
    criteria: list[CriterionSeries]  # over time, from Prometheus; empty without it
    metrics_from: str  # "prometheus" or "status"
    notes: list[str] = field(default_factory=list)  # about the report itself (where the numbers come from)
    verdict: str = ""  # one line for a decision-maker: what happened, and why

    @property
    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]

    @property
    def title(self) -> str:
        return f"Migration report: {self.namespace}/{self.name}"
