"""Provider clients against httpx.MockTransport: wire format, auth headers, errors, and keys kept secret."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from provider_migration.api.spec import Endpoint
from provider_migration.evaluation.dataset import Message
from provider_migration.evaluation.providers import (
    AnthropicMessagesClient,
    OpenAIChatClient,
    ProviderError,
    base_url_for,
    chat_url,
    client_for,
    messages_url,
)

KEY = "sk-test-0123456789abcdef"
MESSAGES = (Message(role="system", content="Be brief."), Message(role="user", content="Capital of France?"))


def run_client(
    endpoint: Endpoint, handler: Callable[[httpx.Request], httpx.Response], **kwargs: object
) -> tuple[list[httpx.Request], object]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async def go() -> object:
        client = client_for(endpoint, KEY, base_url="http://provider.test", transport=httpx.MockTransport(record))
        try:
            return await client.complete(MESSAGES, **kwargs)  # type: ignore[arg-type]
        except ProviderError as exc:
            return exc
        finally:
            await client.aclose()

    return seen, asyncio.run(go())


def openai_ok(request: httpx.Request) -> httpx.Response:
    body = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }
    return httpx.Response(200, json=body)


def anthropic_ok(request: httpx.Request) -> httpx.Response:
    body = {
        "type": "message",
        "content": [{"type": "text", "text": "Par"}, {"type": "tool_use", "id": "x"}, {"type": "text", "text": "is"}],
        "usage": {"input_tokens": 14, "output_tokens": 4},
    }
    return httpx.Response(200, json=body)


def test_openai_compatible_request_and_response() -> None:
    seen, done = run_client(Endpoint(provider="openai", model="gpt-4o", backend="a"), openai_ok, max_tokens=50)
    request = seen[0]
    assert str(request.url) == "http://provider.test/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(request.content)
    assert body["model"] == "gpt-4o"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body  # OpenAI's current parameter
    assert (done.text, done.input_tokens, done.output_tokens) == ("Paris", 12, 3)  # type: ignore[attr-defined]
    assert done.latency_s >= 0  # type: ignore[attr-defined]


def test_other_providers_speak_chat_completions_with_max_tokens() -> None:
    seen, _ = run_client(Endpoint(provider="groq", model="llama-3.1-8b-instant", backend="a"), openai_ok, max_tokens=9)
    body = json.loads(seen[0].content)
    assert body["max_tokens"] == 9 and "max_completion_tokens" not in body
    assert seen[0].url.path == "/v1/chat/completions"


def test_anthropic_messages_request_and_response() -> None:
    seen, done = run_client(Endpoint(provider="anthropic", model="claude-haiku-4-5", backend="b"), anthropic_ok)
    request = seen[0]
    assert str(request.url) == "http://provider.test/v1/messages"
    assert request.headers["x-api-key"] == KEY and "authorization" not in request.headers
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = json.loads(request.content)
    assert body["system"] == "Be brief."  # system prompts move out of the messages
    assert body["messages"] == [{"role": "user", "content": "Capital of France?"}]
    assert body["max_tokens"] == 1024  # required by the API: a default is always sent
    assert (done.text, done.input_tokens, done.output_tokens) == ("Paris", 14, 4)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("endpoint", "status", "body", "expected"),
    [
        (
            Endpoint(provider="openai", model="m", backend="a"),
            401,
            {"error": {"message": f"Incorrect API key provided: {KEY}.", "type": "invalid_request_error"}},
            "invalid_request_error",
        ),
        (
            Endpoint(provider="anthropic", model="m", backend="a"),
            529,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            "overloaded_error",
        ),
    ],
)
def test_errors_carry_status_and_reason_but_never_the_key(
    endpoint: Endpoint, status: int, body: dict[str, object], expected: str
) -> None:
    _, error = run_client(endpoint, lambda _: httpx.Response(status, json=body))
    assert isinstance(error, ProviderError)
    assert (error.status, error.reason) == (status, expected)
    assert KEY not in str(error)


def test_timeouts_and_malformed_answers_are_provider_errors() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    _, error = run_client(Endpoint(provider="openai", model="m", backend="a"), slow)
    assert isinstance(error, ProviderError) and error.status is None and error.reason == "timed out"
    _, error = run_client(Endpoint(provider="openai", model="m", backend="a"), lambda _: httpx.Response(200, json={}))
    assert isinstance(error, ProviderError) and "unexpected" in error.reason
    _, error = run_client(
        Endpoint(provider="anthropic", model="m", backend="a"), lambda _: httpx.Response(200, text="<html>")
    )
    assert isinstance(error, ProviderError) and error.reason == "response is not JSON"


@pytest.mark.parametrize(
    ("base", "chat", "messages"),
    [
        ("http://h:1", "http://h:1/v1/chat/completions", "http://h:1/v1/messages"),
        (
            "https://api.openai.com/v1/",
            "https://api.openai.com/v1/chat/completions",
            "https://api.openai.com/v1/messages",
        ),
        ("https://g/v1beta/openai", "https://g/v1beta/openai/chat/completions", "https://g/v1beta/openai/v1/messages"),
        ("http://h/v1/chat/completions", "http://h/v1/chat/completions", "http://h/v1/chat/completions/v1/messages"),
        ("http://h/v1/messages", "http://h/v1/messages/chat/completions", "http://h/v1/messages"),
    ],
)
def test_endpoint_urls_from_a_base(base: str, chat: str, messages: str) -> None:
    assert chat_url(base) == chat
    assert messages_url(base) == messages


def test_base_url_precedence_and_unknown_providers() -> None:
    with_base = Endpoint(provider="acme", model="m", backend="a", api_base="https://llm.acme.test/v1")
    assert base_url_for(with_base) == "https://llm.acme.test/v1"
    assert base_url_for(with_base, "http://override") == "http://override"
    assert base_url_for(Endpoint(provider="anthropic", model="m", backend="a")) == "https://api.anthropic.com"
    with pytest.raises(ValueError, match="apiBase"):
        base_url_for(Endpoint(provider="acme", model="m", backend="a"))


def test_client_kind_follows_the_provider() -> None:
    async def kinds() -> tuple[type, type]:
        a = client_for(Endpoint(provider="anthropic", model="m", backend="a"), None)
        b = client_for(Endpoint(provider="mistral", model="m", backend="a"), None)
        await a.aclose()
        await b.aclose()
        return type(a), type(b)

    assert asyncio.run(kinds()) == (AnthropicMessagesClient, OpenAIChatClient)
