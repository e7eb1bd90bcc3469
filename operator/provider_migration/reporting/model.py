"""A migration report as data: facts, sections of notes, tables and figures. Renderers only format it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime


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

    @property
    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]

    @property
    def title(self) -> str:
        return f"Migration report: {self.namespace}/{self.name}"
