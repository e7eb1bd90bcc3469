"""Checks of one migration's run against what must hold however often things broke: from the weights its
route went through (watched the whole time), its gateway Secret's keys and its status history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .recorder import RouteSample, SecretSample
from .timing import epoch

ADVANCING = ("StepAdvanced", "Succeeded", "BaselineCaptured")  # decisions that need a measurement


@dataclass(frozen=True)
class Expectation:
    """What the injected metrics justify: a healthy target succeeds; one that fails from `fail_at` percent
    on is rolled back for its error rate before it ever takes all traffic."""

    fail_at: int | None = None

    @property
    def bad(self) -> bool:
        return self.fail_at is not None


def shares(routes: list[RouteSample]) -> list[int]:
    """The distinct target shares the route went through, in order."""
    seen: list[int] = []
    for r in routes:
        if r.error is None and (not seen or seen[-1] != r.target_share):
            seen.append(r.target_share)
    return seen


def check_weights(routes: list[RouteSample]) -> list[str]:
    problems = []
    for r in routes:
        present = [w for w in (r.source, r.target) if w is not None]
        if r.error is not None:
            problems.append(f"route unreadable at rv {r.rv}: {r.error}")
        elif not present:
            problems.append(f"route has neither entry at rv {r.rv}")
        elif sum(present) != 100:
            problems.append(f"weights {r.source}/{r.target} do not sum to 100 at rv {r.rv}")
    return problems


def check_walk(walk: list[int], weights: list[int], phase: str | None, expectation: Expectation) -> list[str]:
    forward = [0, *weights]
    rolled_back = phase == "RolledBack"
    body = walk[:-1] if rolled_back and len(walk) > 1 and walk[-1] == 0 else walk
    if body != forward[: len(body)]:
        return [f"route went through {walk}: a step repeated or skipped (steps {forward})"]
    if phase == "Succeeded" and body != forward:
        return [f"Succeeded after only {walk}"]
    if expectation.bad and 100 in walk:
        return [f"a failing target took all traffic: {walk}"]
    return []


def check_credentials(routes: list[RouteSample], secrets: list[SecretSample]) -> list[str]:
    weighted = next((r for r in routes if r.error is None and r.target_share > 0), None)
    if weighted is None:
        return []
    projected = next((s for s in secrets if s.target_projected), None)
    if projected is None or projected.rv > weighted.rv:
        at = "never" if projected is None else f"at rv {projected.rv}"
        return [f"target weighted at rv {weighted.rv} but its key projected {at}"]
    return []


def check_history(history: list[dict[str, Any]], outages: list[tuple[float, float]]) -> list[str]:
    problems = []
    steps = [h["step"] for h in history if h.get("reason") == "StepAdvanced"]
    if steps != list(range(len(steps))):
        problems.append(f"StepAdvanced steps {steps}: repeated or skipped")
    for h in history:
        if h.get("reason") in ADVANCING:
            t = epoch(h["time"])
            for start, end in outages:
                if start < t < end:
                    problems.append(f"{h['reason']} (step {h['step']}) while Prometheus was down")
    return problems


def check_outcome(status: dict[str, Any], walk: list[int], secrets: list[SecretSample], exp: Expectation) -> list[str]:
    phase, reason = status.get("phase"), status.get("reason")
    last_secret = secrets[-1] if secrets else None
    if exp.bad:
        if phase != "RolledBack" or reason != "ErrorRate":
            return [f"target failing from {exp.fail_at}% ended {phase}/{reason}, not RolledBack/ErrorRate"]
        if walk[-1:] != [0]:
            return [f"RolledBack but the route ended at {walk[-1:]}% target"]
        if last_secret is None or not last_secret.source_present:
            return ["RolledBack but the source key is gone from the gateway Secret"]
        return []
    if phase != "Succeeded":
        return [f"healthy target ended {phase}/{reason}, not Succeeded"]
    if last_secret is None or last_secret.source_present or not last_secret.target_projected:
        return ["Succeeded but the gateway Secret does not hold exactly the target key"]
    return []


def verify(
    expectation: Expectation,
    weights: list[int],
    routes: list[RouteSample],
    secrets: list[SecretSample],
    status: dict[str, Any],
    outages: list[tuple[float, float]],
) -> list[str]:
    """Every violation found; an empty list means the migration's run was correct."""
    walk = shares(routes)
    return [
        *check_weights(routes),
        *check_walk(walk, weights, status.get("phase"), expectation),
        *check_credentials(routes, secrets),
        *check_history(status.get("history") or [], outages),
        *check_outcome(status, walk, secrets, expectation),
    ]
