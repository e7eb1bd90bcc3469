"""Durations as users write them in manifests: `30s`, `15m`, `1h`, `7d` (one unit, whole numbers)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

DURATION_PATTERN = r"^[0-9]{1,6}(s|m|h|d)$"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

Duration = Annotated[str, Field(pattern=DURATION_PATTERN, max_length=8)]


def seconds(duration: str) -> int:
    """Seconds in a duration string; raises ValueError on anything but the pattern above."""
    match = re.fullmatch(DURATION_PATTERN, duration)
    if not match:
        raise ValueError(f"invalid duration {duration!r}: use a whole number and one of s, m, h, d")
    return int(duration[:-1]) * _UNITS[duration[-1]]


def prometheus_range(duration: str) -> str:
    """The same duration in PromQL range syntax (identical units, so only validated)."""
    seconds(duration)
    return duration
