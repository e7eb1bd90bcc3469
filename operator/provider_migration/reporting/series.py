"""Each criterion over a migration's lifetime: range queries for the TARGET arm, every point judged by the
same criteria functions the analysis uses (so the values and thresholds mean exactly what they mean there)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from provider_migration.analysis import criteria
from provider_migration.analysis.analyzer import cost_evaluated
from provider_migration.analysis.criteria import Reading, Traffic
from provider_migration.analysis.presets import resolve_queries
from provider_migration.analysis.queries import ArmLabels, TemplateError, render, spend_per_request
from provider_migration.analysis.source import MetricsError, MetricsUnavailable, QueryFailed
from provider_migration.api.durations import seconds
from provider_migration.api.spec import Analysis, CustomCriterion, ProviderMigrationSpec
from provider_migration.api.status import CriterionResult, ProviderMigrationStatus

from .model import CriterionPoint, CriterionSeries
from .source import Point, RangeSource, step_for

Judge = Callable[[Reading, Traffic], CriterionResult]
# Without spec.analysis the charts still show the gateway's metrics, against the playbook's defaults.
PRESET_FOR_ROUTE = {"ConfigMap": "litellm", "AIGatewayRoute": "otel-genai"}


@dataclass
class Wanted:
    name: str
    label: str
    template: str
    judge: Judge
    threshold: float
    fails_when: str = "above"
    # How people read the raw value: its unit, a factor (fractions as percent), the threshold in that unit
    # (None when it is relative to a baseline the status lacks), and the source arm's query for comparison.
    unit: str = ""
    scale: float = 1.0
    raw_threshold: float | None = None
    source_template: str | None = None


@dataclass
class SeriesResult:
    series: list[CriterionSeries] = field(default_factory=list)
    unavailable: str | None = None  # the source could not be asked at all
    notes: list[str] = field(default_factory=list)
    # Blast radius: requests the target served, and how many of them failed, over the lifetime (estimates
    # from the rate series sampled every `step`); None when the metrics do not say.
    target_requests: float | None = None
    target_failed: float | None = None


def effective_analysis(spec: ProviderMigrationSpec) -> tuple[Analysis | None, str | None]:
    """The analysis to chart, and a note when it is not the spec's own."""
    if spec.analysis is not None:
        return spec.analysis, None
    preset = PRESET_FOR_ROUTE.get(spec.route.kind)
    if preset is None:
        return None, f"spec.analysis is not set and {spec.route.kind} routes have no metric preset: nothing to chart"
    analysis = Analysis.model_validate({"prometheus": {"url": "http://unused.invalid"}, "metrics": preset})
    note = (
        f"spec.analysis is not set: the charts use the {preset} preset and the playbook's default thresholds, "
        "for reference only (this migration never rolled back on metrics)"
    )
    return analysis, note


def wanted_criteria(spec: ProviderMigrationSpec, analysis: Analysis, status: ProviderMigrationStatus) -> list[Wanted]:
    rules, queries = analysis.rollback_on, resolve_queries(analysis)
    baseline, forecast = status.baseline, status.forecast
    out: list[Wanted] = []
    if rules.error_rate.enabled and "error_rate" in queries:
        above = rules.error_rate.above
        out.append(
            Wanted(
                "errorRate",
                "failed requests (%)",
                queries["error_rate"],
                lambda r, t: criteria.error_rate(r, t, above),
                above,
                unit="%",
                scale=100.0,
                raw_threshold=above,
                source_template=queries["error_rate"],
            )
        )
    if rules.latency_p95.enabled and "latency_p95" in queries:
        ratio, base = rules.latency_p95.ratio_to_baseline, baseline.latency_p95 if baseline else None
        out.append(
            Wanted(
                "latencyP95",
                f"p95 latency (s); fails above {ratio:g}x the source's baseline p95",
                queries["latency_p95"],
                lambda r, t: criteria.latency_p95(r, t, base, ratio),
                ratio,
                unit="s",
                raw_threshold=base * ratio if base is not None else None,
                source_template=queries["latency_p95"],
            )
        )
    tgt = spec.target.pricing
    if rules.cost.enabled and tgt is not None and (spec.analysis is None or cost_evaluated(spec)):
        parts = [queries.get(n) for n in ("input_tokens", "output_tokens", "requests")]
        if None not in parts and spec.source.pricing is not None:
            tin, tout, treq = (p for p in parts if p is not None)
            over, expected = rules.cost.over_forecast, forecast.target_cost_per_request if forecast else None
            template = spend_per_request(tin, tout, treq, tgt.input_per_million, tgt.output_per_million)
            src = spec.source.pricing
            out.append(
                Wanted(
                    "cost",
                    f"spend per request ({tgt.currency}); fails {over:.0%} above the forecast",
                    template,
                    lambda r, t: criteria.cost(r, t, expected, over, tgt.currency),
                    over,
                    unit=f" {tgt.currency}",
                    raw_threshold=expected * (1 + over) if expected is not None else None,
                    source_template=spend_per_request(tin, tout, treq, src.input_per_million, src.output_per_million),
                )
            )
    if rules.quality.enabled and rules.quality.query:
        degradation, base_q = rules.quality.degradation, baseline.quality if baseline else None
        out.append(
            Wanted(
                "quality",
                f"quality score; fails {degradation:.0%} below the source's baseline",
                rules.quality.query,
                lambda r, t: criteria.quality(r, t, base_q, degradation),
                degradation,
                "below",
                raw_threshold=base_q * (1 - degradation) if base_q is not None else None,
                source_template=rules.quality.query,
            )
        )
    for c in analysis.custom:
        bound = c.above if c.above is not None else c.below
        assert bound is not None
        out.append(
            Wanted(
                c.name,
                "custom query",
                c.query,
                _custom_judge(c),
                bound,
                "above" if c.above is not None else "below",
                raw_threshold=bound,
                source_template=c.query,
            )
        )
    return out


def _custom_judge(c: CustomCriterion) -> Judge:
    return lambda r, t: criteria.custom(c.name, r, t, above=c.above, below=c.below)


def judge_point(w: Wanted, when: datetime, promql: str, raw: float, traffic: Traffic) -> CriterionPoint | None:
    result = w.judge(Reading(promql, raw), traffic)
    verdict, value = result.verdict, result.value
    if verdict == "Inconclusive":
        # Too few requests (or none counted) at this point: still show where the value stood, judged as if the
        # minimum had been met, and mark it. Without a baseline to compare against there is no value to show.
        enough = Traffic(float(traffic.min_samples), traffic.min_samples)
        judged = w.judge(Reading(promql, raw), enough)
        value = judged.value if judged.verdict != "Inconclusive" else None
    if value is None:
        return None
    return CriterionPoint(time=when, value=value, verdict=verdict, raw=raw, samples=traffic.samples)


def criterion_series(
    spec: ProviderMigrationSpec,
    status: ProviderMigrationStatus,
    source: RangeSource,
    start: datetime,
    end: datetime,
    namespace: str,
) -> SeriesResult:
    result = SeriesResult()
    analysis, note = effective_analysis(spec)
    if note:
        result.notes.append(note)
    if analysis is None:
        return result
    interval = seconds(analysis.interval)
    step = step_for(start, end, interval)
    arm = ArmLabels(spec.target.backend, spec.target.model, namespace)
    source_arm = ArmLabels(spec.source.backend, spec.source.model, namespace)
    queries = resolve_queries(analysis)

    def fetch(template: str, labels: ArmLabels = arm) -> tuple[str, list[Point]]:
        promql = render(template, labels, analysis.interval)
        return promql, source.query_range(promql, start, end, step)

    try:
        requests: dict[datetime, float] = {}
        if "requests" in queries:
            try:
                requests = dict(fetch(queries["requests"])[1])
            except (TemplateError, QueryFailed) as e:
                result.notes.append(f"no request counts ({e}): every point is judged inconclusive")
            if requests:
                result.target_requests = sum(requests.values()) * step
        for w in wanted_criteria(spec, analysis, status):
            series = CriterionSeries(w.name, w.label, w.threshold, w.fails_when, w.template, unit=w.unit, scale=w.scale)
            series.raw_threshold = w.raw_threshold
            result.series.append(series)
            if w.source_template is not None:
                # Without the comparison line the target's own series still stands.
                with contextlib.suppress(TemplateError, QueryFailed):
                    series.source_points = fetch(w.source_template, source_arm)[1]
            try:
                promql, points = fetch(w.template)
            except (TemplateError, MetricsError) as e:
                if isinstance(e, MetricsUnavailable):
                    raise
                series.problem = str(e)
                continue
            series.query = promql
            for when, raw in points:
                rate = requests.get(when)
                traffic = (
                    Traffic(rate * interval, analysis.min_samples)
                    if rate is not None
                    else Traffic(None, analysis.min_samples, error="no request count at this point")
                )
                point = judge_point(w, when, promql, raw, traffic)
                if point is not None:
                    series.points.append(point)
            if w.name == "errorRate" and requests:
                result.target_failed = sum(rate * requests.get(when, 0.0) for when, rate in points) * step
            if not series.points:
                series.problem = (
                    f"no data for the target backend {arm.backend!r} between {start:%Y-%m-%d %H:%M:%S} "
                    f"and {end:%Y-%m-%d %H:%M:%S} UTC"
                )
    except MetricsUnavailable as e:
        result.unavailable = str(e)
    return result
