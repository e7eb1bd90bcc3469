"""Run templated queries for one arm over one window, counting them and stopping at the first outage."""

from __future__ import annotations

from .criteria import Reading, Traffic
from .queries import ArmLabels, TemplateError, render
from .source import MetricSource, MetricsUnavailable, QueryFailed, sample_count


class Measurer:
    """After MetricsUnavailable every further reading carries the same error without asking again, so an
    unreachable Prometheus costs one timeout per analysis, not one per criterion."""

    def __init__(self, source: MetricSource, arm: ArmLabels, interval: str) -> None:
        self.source = source
        self.arm = arm
        self.interval = interval
        self.queries = 0
        self.unavailable: str | None = None

    def read(self, template: str | None, what: str) -> Reading:
        if template is None:
            return Reading(None, error=f"no query configured for {what}")
        try:
            promql = render(template, self.arm, self.interval)
        except TemplateError as e:
            return Reading(template, error=str(e))
        if self.unavailable is not None:
            return Reading(promql, error=self.unavailable)
        self.queries += 1
        try:
            return Reading(promql, self.source.query(promql))
        except MetricsUnavailable as e:
            self.unavailable = str(e)
            return Reading(promql, error=self.unavailable)
        except QueryFailed as e:
            return Reading(promql, error=str(e))

    def traffic(self, requests: Reading, window_seconds: float, min_samples: int) -> Traffic:
        """Requests served in the window, from the arm's request-rate reading."""
        if requests.error is not None:
            return Traffic(None, min_samples, error=f"request count unavailable: {requests.error}")
        samples = sample_count(requests.value, window_seconds)
        if samples is None:
            return Traffic(None, min_samples, error=f"no request data for backend {self.arm.backend!r}")
        return Traffic(samples, min_samples)
