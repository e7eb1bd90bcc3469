"""Where a report's time series come from: Prometheus range queries, through prometheus-api-client."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any, Protocol

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from provider_migration.analysis.source import MetricsUnavailable, QueryFailed

Point = tuple[datetime, float]
MAX_POINTS = 500  # per series: enough for a readable plot, far below Prometheus' 11,000 limit
_STATUS = re.compile(r"HTTP Status Code (\d{3})")


class RangeSource(Protocol):
    def query_range(self, promql: str, start: datetime, end: datetime, step_seconds: float) -> list[Point]:
        """The single series of `promql` over [start, end] (empty: no data). Raises MetricsUnavailable (the
        source cannot be asked at all) or QueryFailed (this query is at fault)."""
        ...


class PrometheusRangeSource:
    def __init__(self, url: str, timeout_s: float = 10.0, bearer_token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._token = bearer_token or None
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
        self._client = PrometheusConnect(
            url=self.url, headers=headers, retry=Retry(total=0, redirect=0, raise_on_status=False), timeout=timeout_s
        )

    def __repr__(self) -> str:
        return f"PrometheusRangeSource(url={self.url!r})"

    def close(self) -> None:
        self._client.close()

    def query_range(self, promql: str, start: datetime, end: datetime, step_seconds: float) -> list[Point]:
        try:
            result = self._client.custom_query_range(
                promql, start, end, step=f"{step_seconds:g}s", params={"timeout": f"{self.timeout_s:g}"}
            )
        except requests.RequestException as e:
            raise MetricsUnavailable(
                self._scrub(f"Prometheus at {self.url} is unreachable: {type(e).__name__}")
            ) from None
        except PrometheusApiClientException as e:
            match = _STATUS.search(str(e))
            status = int(match.group(1)) if match else 0
            text = self._scrub(str(e))[:300]
            if status in (400, 422):
                raise QueryFailed(f"Prometheus rejected the query: {text}") from None
            raise MetricsUnavailable(f"Prometheus at {self.url} answered HTTP {status or '?'}: {text}") from None
        except (KeyError, TypeError, ValueError) as e:
            raise MetricsUnavailable(f"Prometheus at {self.url} did not answer like a Prometheus API ({e})") from None
        return parse_matrix(result)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


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
