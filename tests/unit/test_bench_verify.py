"""The chaos checker (bench/pmobench/verify.py) catches each violation it is meant to: a checker that passes
everything would make bench/chaos.py's "0 violations" worthless."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from pmobench.recorder import RouteSample, SecretSample
from pmobench.verify import Expectation, verify

STEPS = [10, 50, 100]
HEALTHY, FAILING = Expectation(), Expectation(fail_at=50)


def routes(*weights: tuple[int | None, int | None]) -> list[RouteSample]:
    return [RouteSample(rv=100 + 10 * i, seen_at=1000.0 + i, source=s, target=t) for i, (s, t) in enumerate(weights)]


def secrets(projected_rv: int = 105, decommissioned: bool = True) -> list[SecretSample]:
    return [
        SecretSample(rv=1, seen_at=0, target_projected=False, source_present=True),
        SecretSample(rv=projected_rv, seen_at=0, target_projected=True, source_present=True),
        SecretSample(rv=999, seen_at=0, target_projected=True, source_present=not decommissioned),
    ]


def history(*steps: int, at: str = "1970-01-01T00:20:00Z", final: str = "Succeeded") -> list[dict[str, Any]]:
    entries = [{"reason": "StepAdvanced", "step": s, "time": at} for s in steps]
    return [*entries, {"reason": final, "step": steps[-1] if steps else -1, "time": at}]


SUCCEEDED_ROUTE = routes((100, None), (90, 10), (50, 50), (0, 100), (None, 100))
SUCCEEDED = {"phase": "Succeeded", "reason": "Succeeded", "history": history(0, 1, 2)}
ROLLED_BACK_ROUTE = routes((100, None), (90, 10), (50, 50), (100, 0))
ROLLED_BACK = {"phase": "RolledBack", "reason": "ErrorRate", "history": history(0, 1, final="RolledBack")}


def test_clean_runs_pass() -> None:
    assert verify(HEALTHY, STEPS, SUCCEEDED_ROUTE, secrets(), SUCCEEDED, []) == []
    assert verify(FAILING, STEPS, ROLLED_BACK_ROUTE, secrets(decommissioned=False), ROLLED_BACK, []) == []


@pytest.mark.parametrize(
    ("route", "status", "secret", "outages", "expect", "found"),
    [
        (routes((100, None), (90, 10), (90, 10), (0, 100), (None, 100)), SUCCEEDED, secrets(), [], HEALTHY,
         "skipped"),
        (routes((100, None), (90, 10), (50, 50), (90, 10), (50, 50), (0, 100)), SUCCEEDED, secrets(), [], HEALTHY,
         "repeated"),
        (routes((100, None), (80, 10), (50, 50), (0, 100)), SUCCEEDED, secrets(), [], HEALTHY, "sum to 100"),
        (SUCCEEDED_ROUTE, SUCCEEDED, secrets(projected_rv=115), [], HEALTHY, "projected at rv 115"),
        (SUCCEEDED_ROUTE, {**SUCCEEDED, "history": history(0, 1, 1, 2)}, secrets(), [], HEALTHY, "StepAdvanced"),
        (SUCCEEDED_ROUTE, SUCCEEDED, secrets(), [(1100.0, 1300.0)], HEALTHY, "while Prometheus was down"),
        (SUCCEEDED_ROUTE, SUCCEEDED, secrets(decommissioned=False), [], HEALTHY, "exactly the target key"),
        (SUCCEEDED_ROUTE, SUCCEEDED, secrets(), [], FAILING, "took all traffic"),
        (ROLLED_BACK_ROUTE, ROLLED_BACK, secrets(decommissioned=False), [], HEALTHY, "not Succeeded"),
        (ROLLED_BACK_ROUTE, {**ROLLED_BACK, "reason": "Aborted"}, secrets(decommissioned=False), [], FAILING,
         "not RolledBack/ErrorRate"),
    ],
)  # fmt: skip
def test_each_violation_is_found(
    route: list[RouteSample],
    status: dict[str, Any],
    secret: list[SecretSample],
    outages: list[tuple[float, float]],
    expect: Expectation,
    found: str,
) -> None:
    problems = verify(expect, STEPS, route, secret, status, outages)
    assert any(found in p for p in problems), problems
