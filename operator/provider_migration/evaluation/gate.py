"""The evaluation gate: may traffic start moving to the target, judged on the golden-set run?

Limits come from `spec.analysis.rollbackOn` (its defaults when the spec has no analysis):
- quality: target pass rate >= source pass rate x (1 - quality.degradation)
- errorRate: target error rate <= errorRate.above
- latencyP95: target p95 <= latencyP95.ratioToBaseline x source p95
- cost: target cost per item <= (1 + cost.overForecast) x forecast (the source's tokens at the target's prices)
A criterion disabled in the spec is skipped; one without data (no pricing, no answers) is Inconclusive and
does not block on its own. The run is an Error when the source answered nothing: there is nothing to compare.
"""

from __future__ import annotations

from datetime import datetime

from provider_migration.api.spec import RollbackOn
from provider_migration.api.status import CriterionResult, EvaluationStatus
from provider_migration.evaluation.runner import EvaluationRun

_EPS = 1e-12  # comparisons at exactly the limit pass, whatever float rounding did


def _quality(run: EvaluationRun, limits: RollbackOn) -> CriterionResult:
    src, tgt = run.source.pass_rate, run.target.pass_rate
    if src is None or tgt is None:
        return CriterionResult(name="quality", verdict="Inconclusive", message="no items were run")
    degradation = limits.quality.degradation
    need = src * (1 - degradation)
    ok = tgt + _EPS >= need
    return CriterionResult(
        name="quality", verdict="Pass" if ok else "Fail", value=tgt, threshold=need, samples=run.items_run,
        message=f"target pass rate {tgt:.1%} {'>=' if ok else '<'} {need:.1%} "
        f"(source {src:.1%} x (1 - {degradation:g}))",
    )  # fmt: skip


def _error_rate(run: EvaluationRun, limits: RollbackOn) -> CriterionResult:
    rate, limit = run.target.error_rate, limits.error_rate.above
    if rate is None:
        return CriterionResult(name="errorRate", verdict="Inconclusive", message="no items were run")
    ok = rate <= limit + _EPS
    return CriterionResult(
        name="errorRate", verdict="Pass" if ok else "Fail", value=rate, threshold=limit, samples=run.items_run,
        message=f"target error rate {rate:.1%} {'<=' if ok else '>'} {limit:.1%} "
        f"({run.target.errors} of {run.target.items} requests failed)",
    )  # fmt: skip


def _latency(run: EvaluationRun, limits: RollbackOn) -> CriterionResult:
    src, tgt, ratio = run.source.latency(0.95), run.target.latency(0.95), limits.latency_p95.ratio_to_baseline
    if src is None or tgt is None or src <= 0:
        return CriterionResult(
            name="latencyP95", verdict="Inconclusive", threshold=ratio,
            message="no answered requests on one side: p95 not comparable",
        )  # fmt: skip
    value = tgt / src
    ok = value <= ratio + _EPS
    return CriterionResult(
        name="latencyP95", verdict="Pass" if ok else "Fail", value=value, threshold=ratio,
        message=f"target p95 {tgt * 1000:.0f} ms is {value:.2f}x source p95 {src * 1000:.0f} ms "
        f"({'<=' if ok else '>'} {ratio:g}x)",
    )  # fmt: skip


def _cost(run: EvaluationRun, limits: RollbackOn) -> CriterionResult:
    over = limits.cost.over_forecast
    paired = run.paired_costs()
    if paired is None:
        reason = "no target pricing (spec or catalog)" if run.target.pricing is None else "no item answered by both"
        return CriterionResult(name="cost", verdict="Inconclusive", message=reason)
    actual, forecast, items = paired
    actual_per_item, limit_per_item = actual / items, (1 + over) * forecast / items
    ok = actual_per_item <= limit_per_item + _EPS
    return CriterionResult(
        name="cost", verdict="Pass" if ok else "Fail", value=actual_per_item, threshold=limit_per_item,
        samples=items,
        message=f"target cost per item {actual_per_item:.6f} {'<=' if ok else '>'} {limit_per_item:.6f} "
        f"((1 + {over:g}) x forecast from the source's tokens)",
    )  # fmt: skip


def gate_checks(run: EvaluationRun, limits: RollbackOn | None = None) -> list[CriterionResult]:
    """The enabled criteria, each with value, threshold and verdict."""
    limits = limits or RollbackOn()
    checks = []
    if limits.quality.enabled:
        checks.append(_quality(run, limits))
    if limits.error_rate.enabled:
        checks.append(_error_rate(run, limits))
    if limits.latency_p95.enabled:
        checks.append(_latency(run, limits))
    if limits.cost.enabled:
        checks.append(_cost(run, limits))
    return checks


def judge(
    run: EvaluationRun, limits: RollbackOn | None, now: datetime, results_config_map: str | None = None
) -> EvaluationStatus:
    """Pass when no enabled criterion fails; Fail names every failing one; Error when nothing is comparable."""
    summaries = {"source": run.source.summary(), "target": run.target.summary()}
    if run.items_run == 0 or run.source.errors == run.source.items:
        first = next((a.error for a in run.source.attempts if a.error), "no items were run")
        return EvaluationStatus(
            verdict="Error", completed_at=now, results_config_map=results_config_map, **summaries,
            message=f"the source answered none of {run.items_run} items, so the target cannot be compared "
            f"(first error: {first})",
        )  # fmt: skip
    checks = gate_checks(run, limits)
    failed = [c for c in checks if c.verdict == "Fail"]
    unjudged = [c for c in checks if c.verdict == "Inconclusive"]
    if failed:
        message = "evaluation failed: " + "; ".join(f"{c.name}: {c.message}" for c in failed)
    else:
        message = f"evaluation passed on {run.items_run} items: " + "; ".join(
            f"{c.name}: {c.message}" for c in checks if c.verdict == "Pass"
        )
    extras = [f"{c.name} not judged: {c.message}" for c in unjudged] + list(run.notes)
    if extras:
        message += ". " + "; ".join(extras)
    return EvaluationStatus(
        verdict="Fail" if failed else "Pass",
        completed_at=now,
        results_config_map=results_config_map,
        message=message[:4096],
        **summaries,
    )
