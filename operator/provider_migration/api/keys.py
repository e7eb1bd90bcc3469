"""Keys in Secrets. The names under which a gateway reads a provider key: the contract between routing (whose
configuration points at them) and credentials (which writes them); and how a value is read from a Secret's
`data`, the same way wherever the operator or the CLI reads one. Pure functions, no I/O."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

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


def secret_value(data: Mapping[str, str | bytes] | None, key: str) -> bytes | None:
    """One key of a Secret's `data`, decoded; None when it is absent, empty or not base64 (nothing a client can use)."""
    raw = (data or {}).get(key)
    if not raw:
        return None
    try:
        return base64.b64decode(raw, validate=True) or None
    except (binascii.Error, ValueError):
        return None


def secret_text(data: Mapping[str, str | bytes] | None, key: str) -> str | None:
    """The same as text, for a token or key sent in a header: UTF-8 with surrounding whitespace stripped (the
    newline of `echo $KEY > file`); None when it is unusable (absent, empty, blank, not base64 or not UTF-8)."""
    value = secret_value(data, key)
    if value is None:
        return None
    try:
        return value.decode().strip() or None
    except UnicodeDecodeError:
        return None
