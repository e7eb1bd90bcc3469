"""Prometheus as a MetricSource, through prometheus-api-client. Synchronous: call it from a worker thread."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from provider_migration.safetext import header_safe, summary

from .source import MetricsUnavailable, QueryFailed

POOL_SIZE = 32  # connections kept per Prometheus, one per operator tick thread
# Prometheus answers 400 (bad_data) and 422 (execution) for a query's own fault; anything else is the server's.
_QUERY_FAULT = frozenset({400, 422})
_STATUS = re.compile(r"HTTP Status Code (\d{3})")
_ERROR_TYPE = re.compile(r'"errorType"\s*:\s*"([a-z_]{1,32})"')
# Prometheus' own error types (web/api/v1): the only words of its answer a message repeats.
_ERROR_TYPES = frozenset({"bad_data", "execution", "timeout", "canceled", "internal", "unavailable", "not_found"})


class PrometheusSource:
    """Instant queries against one Prometheus. No retries: the next analysis is the retry, and a dead
    Prometheus must cost one timeout, not several. Safe to share among threads (one pooled session)."""

    def __init__(self, url: str, timeout_s: float = 10.0, bearer_token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._token = bearer_token or None
        self._unusable_token = self._token is not None and not header_safe(self._token)
        headers = {"Authorization": f"Bearer {self._token}"} if self._token and not self._unusable_token else None
        retry = Retry(total=0, redirect=0, raise_on_status=False)
        session = requests.Session()
        self._client = PrometheusConnect(url=self.url, headers=headers, retry=retry, session=session, timeout=timeout_s)
        # The operator shares one source among its tick threads: a pool as large as their number (32), so
        # concurrent analyses keep their connections instead of discarding them. Mounted after the client's own.
        session.mount(self.url, HTTPAdapter(max_retries=retry, pool_maxsize=POOL_SIZE))
        self._shown_url = _without_userinfo(self.url)

    def __repr__(self) -> str:
        return f"PrometheusSource(url={self._shown_url!r}, timeout_s={self.timeout_s})"

    def close(self) -> None:
        self._client.close()

    def query(self, promql: str) -> float | None:
        # Prometheus' own `timeout` parameter stops the evaluation server-side as well.
        return parse_result(self._ask(self._client.custom_query, promql, params={"timeout": f"{self.timeout_s:g}"}))

    def query_range(self, promql: str, start: datetime, end: datetime, step_seconds: float) -> Any:
        """The raw `data.result` of a range query, with the same error mapping as `query` (for reports)."""
        params = {"timeout": f"{self.timeout_s:g}"}
        return self._ask(self._client.custom_query_range, promql, start, end, step=f"{step_seconds:g}s", params=params)

    def _ask(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one client call; MetricsUnavailable when Prometheus cannot be asked, QueryFailed when the query
        is at fault. The messages are a fixed vocabulary (safetext): no text of the exception is copied, since
        the HTTP library quotes the request's headers (the token, as its repr) and the server's answer."""
        if self._unusable_token:  # never sent, and never handed to a library that would quote it
            raise self._unavailable("is not asked: the bearer token has characters an HTTP header cannot carry")
        try:
            return call(*args, **kwargs)
        except requests.RequestException as e:  # connection refused, DNS, TLS, timeout, invalid JSON
            if _timed_out(e):
                raise self._unavailable(f"did not answer within {self.timeout_s:g}s") from None
            raise self._unavailable(f"is unreachable: {summary(e) or type(e).__name__}") from None
        except PrometheusApiClientException as e:
            text = str(e)
            match = _STATUS.search(text)
            status = int(match.group(1)) if match else 0
            kind = _ERROR_TYPE.search(text)
            error_type = kind.group(1) if kind and kind.group(1) in _ERROR_TYPES else None
            detail = f"HTTP {status or '?'}" + (f", {error_type}" if error_type else "")
            if status in _QUERY_FAULT:
                raise QueryFailed(f"Prometheus rejected the query ({detail})") from None
            raise self._unavailable(f"answered {detail}") from None
        except (KeyError, TypeError, ValueError) as e:
            raise self._unavailable(f"did not answer like a Prometheus API ({type(e).__name__})") from None

    def _unavailable(self, what: str) -> MetricsUnavailable:
        return MetricsUnavailable(f"Prometheus at {self._shown_url} {what}")


def parse_result(result: Any) -> float | None:
    """The single value of an instant query's `data.result` (vector or scalar); None for no data or NaN."""
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        return _number(result[1])  # scalar: [time, "value"]
    if not isinstance(result, list):
        raise QueryFailed(f"unexpected query result {str(result)[:80]!r}")
    if not result:
        return None
    if "value" not in result[0]:
        raise QueryFailed("the query returned a range vector; wrap it in rate() or avg_over_time()")
    if len(result) > 1:
        raise QueryFailed(f"the query returned {len(result)} series; aggregate it to one, e.g. with sum()")
    return _number(result[0]["value"][1])


def _number(raw: Any) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise QueryFailed(f"the query returned a non-number {str(raw)[:40]!r}") from None
    return None if math.isnan(value) else value


def _timed_out(e: requests.RequestException) -> bool:
    # Without retries urllib3 wraps a read timeout in MaxRetryError, which requests turns into ConnectionError.
    reason = getattr(e.args[0], "reason", None) if e.args else None
    # NewConnectionError (refused) subclasses ConnectTimeoutError for historical reasons: not a timeout.
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return False
    return isinstance(e, requests.Timeout) or isinstance(reason, urllib3.exceptions.TimeoutError)


def _without_userinfo(url: str) -> str:
    """The URL as shown in messages: no userinfo, query or fragment (each may carry a credential)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1], query="", fragment=""))
