"""Gate decisions at and around each limit, and the message naming what failed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from provider_migration.api.spec import Pricing, RollbackOn
from provider_migration.evaluation.gate import gate_checks, judge
from provider_migration.evaluation.runner import Attempt, EvaluationRun, SideResult

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PRICE = Pricing(input_per_million=1000, output_per_million=1000)  # 0.001 per token


def side(
    name: str,
    passed: int,
    failed: int = 0,
    errors: int = 0,
    latency: float = 1.0,
    tokens: int = 100,
    pricing: Pricing | None = PRICE,
) -> SideResult:
    def ok(i: int, good: bool) -> Attempt:
        return Attempt(f"i{i}", name, passed=good, latency_s=latency, input_tokens=tokens, output_tokens=0,  # type: ignore[arg-type]
                       cost=tokens / 1000 if pricing else None)  # fmt: skip

    attempts = [ok(i, True) for i in range(passed)] + [ok(passed + i, False) for i in range(failed)]
    attempts += [Attempt(f"i{len(attempts) + i}", name, passed=False, error="HTTP 500: boom") for i in range(errors)]  # type: ignore[arg-type]
    return SideResult(name, tuple(attempts), pricing)  # type: ignore[arg-type]


def run_of(source: SideResult, target: SideResult) -> EvaluationRun:
    return EvaluationRun(source, target, items_total=source.items, items_run=source.items)


def verdicts(run: EvaluationRun, limits: RollbackOn | None = None) -> dict[str, str]:
    return {c.name: c.verdict for c in gate_checks(run, limits)}


def test_quality_passes_exactly_at_the_limit_and_fails_just_below() -> None:
    # Source 100 %; default degradation 10 %: the target needs 90 of 100.
    at_limit = run_of(side("source", 100), side("target", 90, failed=10))
    below = run_of(side("source", 100), side("target", 89, failed=11))
    assert verdicts(at_limit)["quality"] == "Pass"
    assert verdicts(below)["quality"] == "Fail"
    status = judge(below, None, NOW)
    assert status.verdict == "Fail" and status.message.startswith("evaluation failed: quality: target pass rate 89.0%")


def test_quality_limit_comes_from_the_spec() -> None:
    limits = RollbackOn.model_validate({"quality": {"degradation": 0.5}})
    assert verdicts(run_of(side("source", 80, failed=20), side("target", 40, failed=60)), limits)["quality"] == "Pass"
    assert verdicts(run_of(side("source", 80, failed=20), side("target", 39, failed=61)), limits)["quality"] == "Fail"


def test_error_rate_at_the_limit_passes_above_fails() -> None:
    # Errors also fail items, so keep quality out of the way with a lenient limit.
    limits = RollbackOn.model_validate({"quality": {"degradation": 1.0}, "errorRate": {"above": 0.05}})
    assert verdicts(run_of(side("source", 100), side("target", 95, errors=5)), limits)["errorRate"] == "Pass"
    assert verdicts(run_of(side("source", 100), side("target", 94, errors=6)), limits)["errorRate"] == "Fail"


def test_latency_ratio_at_the_limit_passes_above_fails() -> None:
    assert verdicts(run_of(side("source", 10, latency=0.5), side("target", 10, latency=1.0)))["latencyP95"] == "Pass"
    status = judge(run_of(side("source", 10, latency=0.5), side("target", 10, latency=1.01)), None, NOW)
    assert status.verdict == "Fail" and "latencyP95: target p95 1010 ms is 2.02x source p95 500 ms" in status.message


def test_cost_within_over_forecast_passes_beyond_fails() -> None:
    # Forecast: the source's 100 tokens per item at the target's prices; 10 % over is the default limit.
    assert verdicts(run_of(side("source", 10, tokens=100), side("target", 10, tokens=110)))["cost"] == "Pass"
    assert verdicts(run_of(side("source", 10, tokens=100), side("target", 10, tokens=111)))["cost"] == "Fail"


def test_missing_data_is_inconclusive_and_does_not_block_alone() -> None:
    run = run_of(side("source", 10), side("target", 10, pricing=None))
    checks = {c.name: c for c in gate_checks(run)}
    assert checks["cost"].verdict == "Inconclusive" and "no target pricing" in (checks["cost"].message or "")
    status = judge(run, None, NOW)
    assert status.verdict == "Pass" and "cost not judged: no target pricing" in status.message


def test_disabled_criteria_are_skipped() -> None:
    limits = RollbackOn.model_validate({"latencyP95": {"enabled": False}, "cost": {"enabled": False}})
    run = run_of(side("source", 10, latency=0.1), side("target", 10, latency=9.0, tokens=10_000))
    assert set(verdicts(run, limits)) == {"quality", "errorRate"}
    assert judge(run, limits, NOW).verdict == "Pass"
    assert judge(run, None, NOW).verdict == "Fail"


def test_every_failing_check_is_named() -> None:
    run = run_of(side("source", 10, latency=0.1), side("target", 5, errors=5, latency=1.0))
    status = judge(run, None, NOW)
    assert status.verdict == "Fail"
    for name in ("quality:", "errorRate:", "latencyP95:"):
        assert name in status.message


def test_a_source_that_answered_nothing_is_an_error_not_a_pass() -> None:
    status = judge(run_of(side("source", 0, errors=3), side("target", 3)), None, NOW)
    assert status.verdict == "Error" and "HTTP 500: boom" in status.message


def test_status_carries_both_summaries() -> None:
    status = judge(run_of(side("source", 9, failed=1), side("target", 10, latency=0.5)), None, NOW, "m-evaluation")
    assert status.completed_at == NOW and status.results_config_map == "m-evaluation"
    assert (status.source.pass_rate, status.target.pass_rate) == (pytest.approx(0.9), 1.0)
    assert (status.target.latency_p95, status.target.items, status.target.cost) == (0.5, 10, pytest.approx(1.0))
    assert status.verdict == "Pass" and status.message.startswith("evaluation passed on 10 items")
