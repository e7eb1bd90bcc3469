"""Expected cost per request on each side, at the source's measured token mix."""

from __future__ import annotations

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import BaselineStatus, ForecastStatus


def forecast(spec: ProviderMigrationSpec, baseline: BaselineStatus) -> ForecastStatus | None:
    """None when pricing or the baseline token mix is unknown: the cost criterion is then inconclusive."""
    src, tgt = spec.source.pricing, spec.target.pricing
    tokens_in, tokens_out = baseline.input_tokens_per_request, baseline.output_tokens_per_request
    if src is None or tgt is None or tokens_in is None or tokens_out is None:
        return None
    source_cost = src.cost(tokens_in, tokens_out)
    target_cost = tgt.cost(tokens_in, tokens_out)
    return ForecastStatus(
        currency=tgt.currency,
        source_cost_per_request=source_cost,
        target_cost_per_request=target_cost,
        target_to_source_ratio=(target_cost / source_cost) if source_cost > 0 else None,
    )
