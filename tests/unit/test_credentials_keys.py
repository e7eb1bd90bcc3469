"""Gateway key naming and checksums (api/keys.py, credentials/keys.py)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from provider_migration.api.keys import env_var_name, gateway_key_name
from provider_migration.api.spec import Endpoint
from provider_migration.credentials.keys import checksum


def endpoint(provider: str, **credentials: Any) -> Endpoint:
    creds = {"secretName": "key", **credentials} if credentials else None
    return Endpoint.model_validate({"provider": provider, "model": "m", "backend": "b", "credentials": creds})


@pytest.mark.parametrize(
    ("provider", "name"),
    [
        ("openai", "OPENAI_API_KEY"),
        ("azure.openai", "AZURE_OPENAI_API_KEY"),
        ("x-ai", "X_AI_API_KEY"),
        ("mistral_ai", "MISTRAL_AI_API_KEY"),
    ],
)
def test_env_var_name(provider: str, name: str) -> None:
    assert env_var_name(provider) == name


def test_gateway_key_name_by_route_kind_and_override() -> None:
    assert gateway_key_name(endpoint("anthropic"), "ConfigMap") == "ANTHROPIC_API_KEY"
    assert gateway_key_name(endpoint("anthropic"), "HTTPRoute") == "ANTHROPIC_API_KEY"
    assert gateway_key_name(endpoint("anthropic"), "AIGatewayRoute") == "apiKey"
    override = endpoint("anthropic", gatewayKey="CLAUDE")
    assert {gateway_key_name(override, kind) for kind in ("ConfigMap", "HTTPRoute", "AIGatewayRoute")} == {"CLAUDE"}
    assert gateway_key_name(endpoint("anthropic", key="token"), "ConfigMap") == "ANTHROPIC_API_KEY"


def test_checksum_is_truncated_sha256() -> None:
    value = b"sk-live-abc"
    assert checksum(value) == hashlib.sha256(value).hexdigest()[:16]
    assert checksum(value) != checksum(b"sk-live-abd")
    assert "sk-live" not in checksum(value)
