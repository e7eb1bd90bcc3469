"""Current state for the plan: monthly tokens, latency and errors per backend, from Prometheus or as given.

The queries are the analysis presets (spec.analysis.metrics, litellm without analysis) with the spec's
own overrides: per-second rates over `{{interval}}`, so a 30-day rate times the seconds in 30 days is the
monthly volume.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from provider_migration.analysis.presets import PRESETS, resolve_queries
from provider_migration.analysis.queries import ArmLabels, TemplateError, render
from provider_migration.analysis.source import QueryFailed
from provider_migration.api.durations import seconds
from provider_migration.api.spec import Endpoint, ProviderMigrationSpec
from provider_migration.planning.forecast import TokenVolume

WINDOW = "30d"
MONTH_SECONDS = seconds(WINDOW)
MEASURED = ("requests", "error_rate", "latency_p50", "latency_p95", "input_tokens", "output_tokens")

Query = Callable[[str], float | None]  # PromQL -> scalar (None: no data); raises on failure


@dataclass(frozen=True)
class BackendUsage:
    backend: str
    monthly_input_tokens: float | None = None
    monthly_output_tokens: float | None = None
    monthly_requests: float | None = None
    latency_p50: float | None = None  # seconds
    latency_p95: float | None = None
    error_rate: float | None = None  # 0..1

    @property
    def volume(self) -> TokenVolume | None:
        if self.monthly_input_tokens is None or self.monthly_output_tokens is None:
            return None
        return TokenVolume(self.monthly_input_tokens, self.monthly_output_tokens)


@dataclass(frozen=True)
class CurrentState:
    origin: str  # "prometheus <url>" | "given" | "none"
    source: BackendUsage
    target: BackendUsage
    problems: list[str] = field(default_factory=list)

    @property
    def monthly_volume(self) -> TokenVolume | None:
        """Tokens of the whole route: what every option in the matrix would have to carry."""
        volumes = [u.volume for u in (self.source, self.target) if u.volume is not None]
        if not volumes:
            return None
        return TokenVolume(sum(v.input for v in volumes), sum(v.output for v in volumes))

    @property
    def monthly_requests(self) -> float | None:
        known = [u.monthly_requests for u in (self.source, self.target) if u.monthly_requests is not None]
        return sum(known) if known else None


def given(spec: ProviderMigrationSpec, monthly_input: float | None, monthly_output: float | None) -> CurrentState:
    """State from the command line: all traffic is still on the source."""
    if monthly_input is None and monthly_output is None:
        return CurrentState("none", BackendUsage(spec.source.backend), BackendUsage(spec.target.backend))
    source = BackendUsage(spec.source.backend, float(monthly_input or 0), float(monthly_output or 0))
    return CurrentState("given", source, BackendUsage(spec.target.backend))


def with_given_volume(state: CurrentState, monthly_input: float | None, monthly_output: float | None) -> CurrentState:
    """Measured latency and errors, but the given monthly volume, all of it on the source ("what if")."""
    if monthly_input is None and monthly_output is None:
        return state
    source = replace(
        state.source, monthly_input_tokens=float(monthly_input or 0), monthly_output_tokens=float(monthly_output or 0)
    )
    target = replace(state.target, monthly_input_tokens=0.0, monthly_output_tokens=0.0)
    return CurrentState(f"{state.origin}, volume given", source, target, state.problems)


def queries_for(spec: ProviderMigrationSpec) -> dict[str, str]:
    """The preset named by spec.analysis.metrics with the spec's own queries taking precedence."""
    if spec.analysis is None:
        return dict(PRESETS["litellm"])
    return resolve_queries(spec.analysis)


def from_prometheus(spec: ProviderMigrationSpec, namespace: str, query: Query, origin: str) -> CurrentState:
    """30-day usage of both backends; a query that fails or returns nothing leaves its figure unknown.

    An unreachable Prometheus (MetricsUnavailable) propagates: the caller decides whether to go on without it.
    """
    templates = queries_for(spec)
    problems: list[str] = []

    def measure(endpoint: Endpoint) -> BackendUsage:
        values: dict[str, float | None] = {}
        arm = ArmLabels(endpoint.backend, endpoint.model, namespace)
        for name in MEASURED:
            template = templates.get(name)
            if template is None:
                continue
            try:
                values[name] = query(render(template, arm, WINDOW))
            except (QueryFailed, TemplateError) as exc:  # the plan still renders without this figure
                problems.append(f"{endpoint.backend} {name}: {exc}")
                values[name] = None

        def monthly(name: str) -> float | None:
            rate = values.get(name)
            return rate * MONTH_SECONDS if rate is not None else None

        return BackendUsage(
            backend=endpoint.backend,
            monthly_input_tokens=monthly("input_tokens"),
            monthly_output_tokens=monthly("output_tokens"),
            monthly_requests=monthly("requests"),
            latency_p50=values.get("latency_p50"),
            latency_p95=values.get("latency_p95"),
            error_rate=values.get("error_rate"),
        )

    return CurrentState(origin, measure(spec.source), measure(spec.target), problems)
