"""The price catalog (prices.yaml): public list prices per 1M tokens, with where and when each was checked.

Lookups accept the names other tools use: LiteLLM's `provider/model`, OpenTelemetry provider names
(`aws.bedrock`), dated snapshots (`gpt-4o-2024-08-06`, `claude-3-5-haiku-20241022`).
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from importlib import resources
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field

from provider_migration.api.spec import Endpoint, Pricing

Price = Annotated[float, Field(ge=0)]
# A trailing release date: -2024-08-06 (OpenAI) or -20241022 (Anthropic).
_DATED_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LongContextTier(_Strict):
    """Rates that apply to the whole request once its input exceeds the threshold."""

    above_input_tokens: int
    input: Price
    output: Price
    cached_input: Price | None = None


class ProviderInfo(_Strict):
    aliases: tuple[str, ...] = ()
    pricing_url: str
    compliance: tuple[str, ...] = ()
    compliance_source: str | None = None
    support: str | None = None


class ModelPrice(_Strict):
    provider: str
    model: str
    aliases: tuple[str, ...] = ()
    input: Price
    output: Price
    cached_input: Price | None = None
    currency: str = "USD"
    long_context: LongContextTier | None = None
    source_url: Annotated[str, Field(pattern=r"^https://")]
    checked: date
    notes: str | None = None

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"

    def pricing(self) -> Pricing:
        return Pricing(input_per_million=self.input, output_per_million=self.output, currency=self.currency)


class Catalog(_Strict):
    version: int
    providers: dict[str, ProviderInfo]
    models: tuple[ModelPrice, ...]

    def provider_id(self, name: str) -> str | None:
        """The catalog's id for a provider name or alias (case-insensitive)."""
        name = name.lower()
        for pid, info in self.providers.items():
            if name == pid or name in (a.lower() for a in info.aliases):
                return pid
        return None

    def provider(self, name: str) -> ProviderInfo | None:
        pid = self.provider_id(name)
        return self.providers[pid] if pid else None

    def find(self, provider: str, model: str) -> ModelPrice | None:
        """The entry for a model: exact id or alias first, then without a dated-snapshot suffix."""
        pid = self.provider_id(provider)
        if pid is None:
            return None
        if model.lower().startswith(f"{pid}/"):
            model = model[len(pid) + 1 :]
        candidates = [m for m in self.models if m.provider == pid]
        for name in (model, _DATED_SUFFIX.sub("", model)):
            wanted = name.lower()
            for entry in candidates:
                if wanted == entry.model.lower() or wanted in (a.lower() for a in entry.aliases):
                    return entry
        return None

    def find_ref(self, ref: str) -> ModelPrice | None:
        """`provider/model` as given on the command line (the model part may itself contain slashes)."""
        provider, sep, model = ref.partition("/")
        return self.find(provider, model) if sep else None


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with the package (validated; cached for the process)."""
    text = resources.files("provider_migration.planning").joinpath("prices.yaml").read_text(encoding="utf-8")
    return parse_catalog(text)


def parse_catalog(text: str) -> Catalog:
    catalog = Catalog.model_validate(yaml.safe_load(text))
    for entry in catalog.models:
        if entry.provider not in catalog.providers:
            raise ValueError(f"{entry.key}: provider {entry.provider!r} is not listed under providers")
    keys = [m.key for m in catalog.models]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"duplicate catalog entries: {duplicates}")
    return catalog


def pricing_for(endpoint: Endpoint, catalog: Catalog | None = None) -> tuple[Pricing | None, str]:
    """The endpoint's pricing and where it came from: the migration's spec first, else the catalog."""
    if endpoint.pricing is not None:
        return endpoint.pricing, "spec"
    entry = (catalog or load_catalog()).find(endpoint.provider, endpoint.model)
    if entry is None:
        return None, "unknown"
    return entry.pricing(), f"catalog ({entry.source_url}, checked {entry.checked.isoformat()})"
