"""The price catalog: every row traceable to a source and a date; lookups by the names other tools use."""

from __future__ import annotations

from datetime import date

import pytest

from provider_migration.api.spec import Endpoint, Pricing
from provider_migration.planning.catalog import load_catalog, parse_catalog, pricing_for


def test_every_row_has_a_source_url_and_a_check_date() -> None:
    catalog = load_catalog()
    assert len(catalog.models) >= 30
    for entry in catalog.models:
        assert entry.source_url.startswith("https://"), entry.key
        assert date(2024, 1, 1) <= entry.checked <= date.today(), entry.key
        assert entry.provider in catalog.providers, entry.key
        assert entry.currency == "USD", entry.key


def test_seeded_prices_match_the_reference_table() -> None:
    catalog = load_catalog()
    gpt4o = catalog.find("openai", "gpt-4o")
    haiku = catalog.find("anthropic", "claude-haiku-4-5")
    assert gpt4o is not None and (gpt4o.input, gpt4o.cached_input, gpt4o.output) == (2.50, 1.25, 10.00)
    assert haiku is not None and (haiku.input, haiku.output) == (1.00, 5.00)
    sonnet = catalog.find("anthropic", "claude-sonnet-4-5")
    assert sonnet is not None and sonnet.long_context is not None
    assert (sonnet.long_context.above_input_tokens, sonnet.long_context.output) == (200_000, 22.50)


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("openai", "gpt-4o-2024-08-06", "openai/gpt-4o"),  # listed alias
        ("openai", "gpt-4.1-mini-2025-04-14", "openai/gpt-4.1-mini"),  # dated snapshot, OpenAI style
        ("anthropic", "claude-3-5-haiku-20241022", "anthropic/claude-3-5-haiku"),  # dated snapshot, Anthropic style
        ("openai", "openai/gpt-4o-mini", "openai/gpt-4o-mini"),  # LiteLLM provider prefix
        ("google", "gemini-2.5-flash", "gemini/gemini-2.5-flash"),  # provider alias
        ("aws.bedrock", "meta.llama3-3-70b-instruct-v1:0", "bedrock/meta.llama3-3-70b-instruct-v1:0"),
        ("TOGETHER", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ],
)
def test_find_accepts_aliases_prefixes_and_dated_snapshots(provider: str, model: str, expected: str) -> None:
    entry = load_catalog().find(provider, model)
    assert entry is not None and entry.key == expected


def test_find_does_not_guess() -> None:
    catalog = load_catalog()
    assert catalog.find("openai", "gpt-4o-turbo-deluxe") is None
    assert catalog.find("nosuchprovider", "gpt-4o") is None
    assert catalog.find("anthropic", "gpt-4o") is None  # right model, wrong provider
    assert catalog.find_ref("gpt-4o") is None  # no provider part


def test_pricing_comes_from_the_spec_first_then_the_catalog() -> None:
    own = Pricing(input_per_million=9, output_per_million=9)
    pricing, origin = pricing_for(Endpoint(provider="openai", model="gpt-4o", backend="a", pricing=own))
    assert (pricing, origin) == (own, "spec")
    pricing, origin = pricing_for(Endpoint(provider="openai", model="gpt-4o", backend="a"))
    assert pricing is not None and pricing.input_per_million == 2.5
    assert "developers.openai.com" in origin and "2025-07-04" in origin
    assert pricing_for(Endpoint(provider="acme", model="m", backend="a")) == (None, "unknown")


def test_parse_rejects_duplicates_and_unknown_providers() -> None:
    row = "{provider: openai, model: x, input: 1, output: 2, checked: 2025-01-01, source_url: https://e.org}"
    head = "version: 1\nproviders:\n  openai: {pricing_url: https://e.org}\nmodels:\n"
    assert len(parse_catalog(head + f"  - {row}\n").models) == 1
    with pytest.raises(ValueError, match="duplicate"):
        parse_catalog(head + f"  - {row}\n  - {row}\n")
    with pytest.raises(ValueError, match="not listed under providers"):
        parse_catalog(head + "  - " + row.replace("openai", "acme") + "\n")
    with pytest.raises(ValueError, match="source_url"):
        parse_catalog(head + "  - " + row.replace("https://e.org", "e.org") + "\n")
