"""Weight arithmetic shared by the adapters: gateways use relative weights, the core speaks percent."""

from __future__ import annotations

import math
from typing import Any

from .errors import RouteError


def whole_number(value: Any, what: str, maximum: int | None = None) -> int:
    """A field the gateway reads as a non-negative integer; anything else (a string, -1, 1.5, true) is a
    RouteError naming the field, so the migration blocks with a reason instead of the read raising."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (maximum is not None and value > maximum):
        bound = f"0..{maximum}" if maximum is not None else ">= 0"
        raise RouteError(f"{what} is not a whole number {bound}")
    return value


def to_percent(source: float, target: float) -> tuple[int, int]:
    """Relative weights of the two arms as integer percent summing to 100 (0/0 when neither gets traffic)."""
    total = source + target
    if total <= 0:
        return 0, 0
    source_pct = math.floor(100 * source / total + 0.5)
    return source_pct, 100 - source_pct


def check_request(source: int, target: int, mirror: int, supports_mirroring: bool) -> None:
    """Reject requests no gateway could honour before anything is read or written."""
    if source < 0 or target < 0 or source + target != 100:
        raise RouteError(f"weights must be >= 0 and sum to 100, got {source}/{target}")
    if not 0 <= mirror <= 100:
        raise RouteError(f"mirror must be a percent, got {mirror}")
    if mirror and not supports_mirroring:
        raise RouteError("this route kind cannot mirror traffic")
