"""Names under which a gateway reads a provider key: the contract between routing (whose configuration points at
them) and credentials (which writes them). Pure functions, no I/O."""

from __future__ import annotations

import re

from .spec import Endpoint

# Envoy AI Gateway's BackendSecurityPolicy (type APIKey) reads the key from this data key of its Secret.
AIGW_SECRET_KEY = "apiKey"


def env_var_name(provider: str) -> str:
    """LiteLLM convention: `<PROVIDER>_API_KEY`, non-alphanumerics as `_` (azure.openai -> AZURE_OPENAI_API_KEY)."""
    return re.sub(r"[^A-Z0-9]", "_", provider.upper()) + "_API_KEY"


def gateway_key_name(endpoint: Endpoint, route_kind: str) -> str:
    """The data key of the gateway Secret that holds this endpoint's provider key."""
    if endpoint.credentials is not None and endpoint.credentials.gateway_key:
        return endpoint.credentials.gateway_key
    if route_kind == "AIGatewayRoute":
        return AIGW_SECRET_KEY
    return env_var_name(endpoint.provider)
