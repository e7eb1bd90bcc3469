"""Cost arithmetic for planning: spend for a token volume, blended price per 1M tokens at a token mix.

The per-request forecast the rollout checks against lives in core/forecast.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from provider_migration.api.spec import Pricing

# Input:output mix assumed when nothing is measured or given; the common 3:1 used by public price comparisons.
DEFAULT_INPUT_SHARE = 0.75


@dataclass(frozen=True)
class TokenVolume:
    """Tokens over a period (a month in the plan, one request in the forecast)."""

    input: float
    output: float

    @property
    def total(self) -> float:
        return self.input + self.output

    @property
    def input_share(self) -> float:
        return self.input / self.total if self.total > 0 else DEFAULT_INPUT_SHARE


def cost(pricing: Pricing, volume: TokenVolume) -> float:
    """Spend for the volume at the list prices."""
    return pricing.cost(volume.input, volume.output)


def blended_per_million(pricing: Pricing, input_share: float = DEFAULT_INPUT_SHARE) -> float:
    """Price of 1M tokens split input_share : (1 - input_share) between input and output."""
    if not 0.0 <= input_share <= 1.0:
        raise ValueError("input_share must be within 0..1")
    return input_share * pricing.input_per_million + (1.0 - input_share) * pricing.output_per_million
