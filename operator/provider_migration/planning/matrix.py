"""Comparison matrix: source, target and candidate models side by side at the route's token volume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from provider_migration.api.spec import Endpoint, Pricing
from provider_migration.planning.catalog import Catalog, pricing_for
from provider_migration.planning.current_state import BackendUsage
from provider_migration.planning.forecast import DEFAULT_INPUT_SHARE, TokenVolume, blended_per_million, cost

Role = Literal["source", "target", "candidate"]


@dataclass(frozen=True)
class MatrixRow:
    role: Role
    provider: str
    model: str
    pricing: Pricing | None
    pricing_origin: str  # "spec", "catalog (<url>, checked <date>)" or "unknown"
    blended_per_million: float | None
    monthly_cost: float | None
    monthly_delta_vs_source: float | None
    latency_p50: float | None = None
    latency_p95: float | None = None
    error_rate: float | None = None
    compliance: tuple[str, ...] = ()
    support: str | None = None
    notes: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.provider}/{self.model}"

    @property
    def currency(self) -> str | None:
        return self.pricing.currency if self.pricing else None


@dataclass(frozen=True)
class _Option:
    role: Role
    provider: str
    model: str
    pricing: Pricing | None
    pricing_origin: str
    observed: BackendUsage | None = None


def _options(
    source: Endpoint,
    target: Endpoint,
    candidates: list[str],
    catalog: Catalog,
    observed: dict[str, BackendUsage] | None = None,
) -> list[_Option]:
    """Source and target (spec pricing first, then the catalog), then each `provider/model` candidate."""
    observed = observed or {}
    found: list[_Option] = []
    sides: tuple[tuple[Role, Endpoint], ...] = (("source", source), ("target", target))
    for role, endpoint in sides:
        pricing, origin = pricing_for(endpoint, catalog)
        found.append(_Option(role, endpoint.provider, endpoint.model, pricing, origin, observed.get(role)))
    for ref in candidates:
        provider, sep, model = ref.partition("/")
        if not sep or not provider or not model:
            raise ValueError(f"candidate {ref!r}: use provider/model, e.g. anthropic/claude-sonnet-4-5")
        entry = catalog.find(provider, model)
        if entry is None:
            found.append(_Option("candidate", provider, model, None, "unknown"))
        else:
            origin = f"catalog ({entry.source_url}, checked {entry.checked.isoformat()})"
            found.append(_Option("candidate", entry.provider, entry.model, entry.pricing(), origin))
    return found


def comparison_matrix(
    source: Endpoint,
    target: Endpoint,
    candidates: list[str],
    volume: TokenVolume | None,
    catalog: Catalog,
    observed: dict[str, BackendUsage] | None = None,
) -> list[MatrixRow]:
    """One row per option. Without a volume, monthly figures stay empty and the blend uses the 3:1 default mix."""
    share = volume.input_share if volume is not None and volume.total > 0 else DEFAULT_INPUT_SHARE
    rows: list[MatrixRow] = []
    source_monthly: float | None = None
    for opt in _options(source, target, candidates, catalog, observed):
        monthly = cost(opt.pricing, volume) if opt.pricing is not None and volume is not None else None
        if opt.role == "source":
            source_monthly = monthly
        provider_info = catalog.provider(opt.provider)
        entry = catalog.find(opt.provider, opt.model)
        seen = opt.observed
        rows.append(
            MatrixRow(
                role=opt.role,
                provider=opt.provider,
                model=opt.model,
                pricing=opt.pricing,
                pricing_origin=opt.pricing_origin,
                blended_per_million=blended_per_million(opt.pricing, share) if opt.pricing is not None else None,
                monthly_cost=monthly,
                monthly_delta_vs_source=(
                    monthly - source_monthly if monthly is not None and source_monthly is not None else None
                ),
                latency_p50=seen.latency_p50 if seen else None,
                latency_p95=seen.latency_p95 if seen else None,
                error_rate=seen.error_rate if seen else None,
                compliance=provider_info.compliance if provider_info else (),
                support=provider_info.support if provider_info else None,
                notes=entry.notes if entry else ("not in the price catalog" if opt.pricing is None else None),
            )
        )
    return rows
