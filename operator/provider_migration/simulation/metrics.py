"""A MetricSource answering the exact PromQL the analysis sends for one arm, from an ArmProfile.

The queries are rendered with the same presets, templates and helpers the analysis uses, so run_analysis()
and capture_baseline() run unchanged against it. A query it does not know fails like a rejected query
(the criterion is then inconclusive), never silently passes.
"""

from __future__ import annotations

from provider_migration.analysis.presets import resolve_queries
from provider_migration.analysis.queries import ArmLabels, TemplateError, per_request, render, spend_per_request
from provider_migration.analysis.source import QueryFailed
from provider_migration.api.spec import Analysis, CustomCriterion, Pricing

from .profiles import ArmProfile


class SyntheticMetrics:
    def __init__(self, answers: dict[str, float | None]) -> None:
        self.answers = answers

    def query(self, promql: str) -> float | None:
        if promql not in self.answers:
            raise QueryFailed(f"the simulation has no synthetic series for {promql[:120]!r}")
        return self.answers[promql]


def healthy_custom_value(custom: CustomCriterion) -> float:
    """Comfortably on the good side of a custom criterion's bound: the simulation does not fault them."""
    if custom.above is not None:
        return custom.above / 2 if custom.above > 0 else custom.above - 1
    assert custom.below is not None
    return custom.below * 2 if custom.below > 0 else custom.below + 1


def arm_metrics(
    analysis: Analysis,
    arm: ArmLabels,
    window: str,
    profile: ArmProfile,
    requests_per_second: float,
    pricing: Pricing | None,
) -> SyntheticMetrics:
    """Answers for `arm` over `window` (the analysis interval, or the baseline window)."""
    templates = resolve_queries(analysis)
    served = requests_per_second > 0
    per_second: dict[str, float | None] = {
        "requests": requests_per_second,
        # Ratios and quantiles of an idle arm are NaN in Prometheus: no data.
        "error_rate": profile.error_rate if served else None,
        "latency_p50": profile.latency_p50 if served else None,
        "latency_p95": profile.latency_p95 if served else None,
        "latency_p99": profile.latency_p99 if served else None,
        "input_tokens": profile.input_tokens * requests_per_second,
        "output_tokens": profile.output_tokens * requests_per_second,
    }
    templated: dict[str, float | None] = {t: per_second[name] for name, t in templates.items() if name in per_second}
    requests = templates.get("requests")
    if requests is not None:
        for name, tokens in (("input_tokens", profile.input_tokens), ("output_tokens", profile.output_tokens)):
            if name in templates:
                templated[per_request(templates[name], requests)] = tokens if served else None
        if pricing is not None and "input_tokens" in templates and "output_tokens" in templates:
            template = spend_per_request(
                templates["input_tokens"],
                templates["output_tokens"],
                requests,
                pricing.input_per_million,
                pricing.output_per_million,
            )
            templated[template] = pricing.cost(profile.input_tokens, profile.output_tokens) if served else None
    quality = analysis.rollback_on.quality.query
    if quality:
        templated[quality] = profile.quality if served else None
    for custom in analysis.custom:
        templated[custom.query] = healthy_custom_value(custom)
    answers: dict[str, float | None] = {}
    for template, value in templated.items():
        try:
            answers[render(template, arm, window)] = value
        except TemplateError:
            continue  # the analysis reports the bad template itself
    return SyntheticMetrics(answers)
