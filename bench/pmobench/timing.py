"""Latency from a pause ending to the next weight reaching the routing object, from status history and the
route changes the watcher saw."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from provider_migration.api.durations import seconds

from .recorder import RouteSample


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def pause_end_latencies(
    history: list[dict[str, Any]], routes: list[RouteSample], steps: list[tuple[int, str | None]]
) -> list[float]:
    """For every step k with a pause that the migration left: (first sight of step k+1's weight in the route)
    minus (step k's StepAdvanced time + its pause)."""
    advanced = {h["step"]: epoch(h["time"]) for h in history if h.get("reason") == "StepAdvanced"}
    result = []
    for k, (_, pause) in enumerate(steps[:-1]):
        if not pause or k not in advanced or k + 1 not in advanced:
            continue
        ends = advanced[k] + seconds(pause)
        weight = steps[k + 1][0]
        seen = next((r.seen_at for r in routes if r.target_share == weight and r.seen_at >= advanced[k]), None)
        if seen is not None:
            result.append(seen - ends)
    return result


def percentile(values: Iterable[float], q: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(math.ceil(q * len(ordered)) - 1, 0)  # nearest-rank
    return ordered[rank]
