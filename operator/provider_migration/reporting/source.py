"""Where a report's time series come from: Prometheus range queries, through prometheus-api-client."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Protocol

from provider_migration.analysis.prometheus import PrometheusSource
from provider_migration.analysis.source import QueryFailed

Point = tuple[datetime, float]
MAX_POINTS = 500  # per series: enough for a readable plot, far below Prometheus' 11,000 limit


class RangeSource(Protocol):
    def query_range(self, promql: str, start: datetime, end: datetime, step_seconds: float) -> list[Point]:
        """The single series of `promql` over [start, end] (empty: no data). Raises MetricsUnavailable (the
        source cannot be asked at all) or QueryFailed (this query is at fault)."""
        ...


class PrometheusRangeSource:
    """Range queries through the analysis' PrometheusSource: same client settings and error mapping."""

    def __init__(self, url: str, timeout_s: float = 10.0, bearer_token: str | None = None) -> None:
        self._source = PrometheusSource(url, timeout_s, bearer_token)

    @property
    def url(self) -> str:
        return self._source.url

    def __repr__(self) -> str:
        return f"PrometheusRangeSource({self._source!r})"

    def close(self) -> None:
        self._source.close()

    def query_range(self, promql: str, start: datetime, end: datetime, step_seconds: float) -> list[Point]:
        return parse_matrix(self._source.query_range(promql, start, end, step_seconds))


def parse_matrix(result: Any) -> list[Point]:
    """The points of a range query's single series; NaN and ±Inf points are left out (not plottable)."""
    if not isinstance(result, list):
        raise QueryFailed(f"unexpected range query result {str(result)[:80]!r}")
    if not result:
        return []
    if len(result) > 1:
        raise QueryFailed(f"the query returned {len(result)} series; aggregate it to one, e.g. with sum()")
    points = []
    for stamp, raw in result[0].get("values", []):
        value = float(raw)
        if math.isfinite(value):
            points.append((datetime.fromtimestamp(float(stamp), UTC), value))
    return points


def step_for(start: datetime, end: datetime, interval_seconds: float) -> float:
    """At least the analysis interval, and few enough points for one plot."""
    span = max((end - start).total_seconds(), 1.0)
    return max(float(interval_seconds), math.ceil(span / MAX_POINTS), 1.0)
