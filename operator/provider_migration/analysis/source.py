"""Where measurements come from: anything that answers an instant PromQL query with one number."""

from __future__ import annotations

import math
from typing import Protocol


class MetricsError(Exception):
    """A query gave no usable answer. Messages are safe to put in status: never a credential."""


class MetricsUnavailable(MetricsError):
    """The metrics backend cannot be asked at all (connection, timeout, auth, server error): further queries
    would fail the same way."""


class QueryFailed(MetricsError):
    """This one query was rejected or its answer is unusable (bad PromQL, several series); others may work."""


class MetricSource(Protocol):
    def query(self, promql: str) -> float | None:
        """The query's single value now; None when there is no data or the value is NaN.

        Raises MetricsUnavailable or QueryFailed.
        """
        ...


def sample_count(requests_per_second: float | None, window_seconds: float) -> float | None:
    """Requests in the window from their average rate over it (Prometheus `rate` divides by the full range,
    so this is the observed count even when the series is younger than the window)."""
    if requests_per_second is None or not math.isfinite(requests_per_second):
        return None
    return max(requests_per_second, 0.0) * window_seconds
