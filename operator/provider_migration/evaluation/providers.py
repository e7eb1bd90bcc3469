"""Provider clients for the golden-set run: OpenAI-compatible chat completions and Anthropic messages.

`endpoint.provider == "anthropic"` speaks `/v1/messages` (x-api-key, anthropic-version); every other
provider is treated as OpenAI-compatible `/chat/completions` (Bearer). The API key lives only in the
client's headers: it is never logged, put in an error message or returned.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from provider_migration.api.spec import Endpoint
from provider_migration.evaluation.dataset import Message
from provider_migration.safetext import header_safe, safe_error

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024  # Anthropic requires max_tokens; golden-set answers are short
_ERROR_KIND = re.compile(r"[a-z][a-z0-9_]{0,48}")

# Public API bases (OpenAI-SDK style: the version path included where the provider has one).
DEFAULT_BASES: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "groq": "https://api.groq.com/openai/v1",
    "together_ai": "https://api.together.xyz/v1",
    "fireworks_ai": "https://api.fireworks.ai/inference/v1",
    "deepseek": "https://api.deepseek.com",
    "mistral": "https://api.mistral.ai/v1",
    "gemini": "https://generativelanguage.googleapis.com/v1beta/openai",
}


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int
    latency_s: float


class ProviderError(Exception):
    """A failed call: HTTP status (None for timeouts and connection errors) and a short, key-free reason."""

    def __init__(self, status: int | None, reason: str) -> None:
        super().__init__(f"HTTP {status}: {reason}" if status is not None else reason)
        self.status = status
        self.reason = reason


class ProviderClient(Protocol):
    async def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Completion: ...

    async def aclose(self) -> None: ...


def chat_url(base: str) -> str:
    """`<base>/chat/completions`; a bare host gets the `/v1` the OpenAI API uses."""
    base = base.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    return f"{base}/chat/completions" if urlsplit(base).path else f"{base}/v1/chat/completions"


def messages_url(base: str) -> str:
    """`<base>/v1/messages`, accepting bases given with or without `/v1` (or the full path)."""
    base = base.rstrip("/")
    if base.endswith("/v1/messages"):
        return base
    return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"


def base_url_for(endpoint: Endpoint, override: str | None = None) -> str:
    base = override or endpoint.api_base or DEFAULT_BASES.get(endpoint.provider)
    if not base:
        raise ValueError(f"no API base for provider {endpoint.provider!r}: set apiBase on the endpoint (or pass a URL)")
    return base


class _HttpClient:
    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        api_key: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.url = url
        self._http = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(timeout), transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        try:
            response = await self._http.post(self.url, json=body)
        except httpx.TimeoutException:
            raise ProviderError(None, "timed out") from None
        except httpx.HTTPError as exc:
            raise ProviderError(None, safe_error(exc)) from None
        elapsed = time.perf_counter() - started
        if response.status_code >= 400:
            raise ProviderError(response.status_code, _error_kind(response))
        try:
            data = response.json()
        except ValueError:
            raise ProviderError(response.status_code, "response is not JSON") from None
        if not isinstance(data, dict):
            raise ProviderError(response.status_code, "response is not a JSON object")
        return data, elapsed


class OpenAIChatClient(_HttpClient):
    def __init__(
        self,
        base: str,
        model: str,
        api_key: str,
        *,
        provider: str = "openai",
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        super().__init__(chat_url(base), headers, api_key, timeout, transport)
        self.model = model
        self.provider = provider

    async def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Completion:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump(mode="json") for m in messages],
        }
        if max_tokens is not None:
            # OpenAI's newer models refuse `max_tokens`; compatible servers mostly know only `max_tokens`.
            body["max_completion_tokens" if self.provider == "openai" else "max_tokens"] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        data, elapsed = await self._post(body)
        try:
            message = data["choices"][0]["message"]
            text = message.get("content") or ""
            usage = data.get("usage") or {}
            return Completion(
                str(text), int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0), elapsed
            )
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise ProviderError(200, "unexpected chat completion shape") from None


class AnthropicMessagesClient(_HttpClient):
    def __init__(
        self,
        base: str,
        model: str,
        api_key: str,
        *,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        super().__init__(messages_url(base), headers, api_key, timeout, transport)
        self.model = model

    async def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Completion:
        # Anthropic takes system prompts as a top-level field, not as messages.
        system = "\n\n".join(m.text() for m in messages if m.role in ("system", "developer"))
        turns = [{"role": m.role, "content": m.text()} for m in messages if m.role in ("user", "assistant")]
        body: dict[str, Any] = {"model": self.model, "messages": turns, "max_tokens": max_tokens or DEFAULT_MAX_TOKENS}
        if system:
            body["system"] = system
        if temperature is not None:
            body["temperature"] = min(temperature, 1.0)  # Anthropic's range is 0..1
        data, elapsed = await self._post(body)
        try:
            text = "".join(b.get("text", "") for b in data["content"] if b.get("type") == "text")
            usage = data.get("usage") or {}
            return Completion(text, int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0), elapsed)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ProviderError(200, "unexpected messages response shape") from None


def client_for(
    endpoint: Endpoint,
    api_key: str | None,
    *,
    base_url: str | None = None,
    timeout: float = 60.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ProviderClient:
    """The client for an endpoint: Anthropic's messages API for `anthropic`, chat completions otherwise."""
    base = base_url_for(endpoint, base_url)
    if api_key and not header_safe(api_key):
        raise ValueError("the API key has characters an HTTP header cannot carry (control or non-ASCII)")
    if endpoint.provider == "anthropic":
        return AnthropicMessagesClient(base, endpoint.model, api_key or "", timeout=timeout, transport=transport)
    return OpenAIChatClient(
        base, endpoint.model, api_key or "", provider=endpoint.provider, timeout=timeout, transport=transport
    )


def _error_kind(response: httpx.Response) -> str:
    """The provider's error type (`error.type`, e.g. invalid_request_error) when it is a plain identifier, else
    the standard phrase of the status. Never the provider's message: some echo (part of) the key they were shown."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    if isinstance(kind, str) and _ERROR_KIND.fullmatch(kind):
        return kind
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return "error"
