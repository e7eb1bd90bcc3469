"""No credential reaches a message: Prometheus (analysis, baseline) and provider (evaluation) failures are
reduced to a fixed vocabulary, whatever the token looks like and whatever the server answers.

The tokens are the hard cases: a newline (HTTP libraries refuse it and quote the header's repr, which a plain
search-and-replace of the token misses), quotes, unicode and base64-looking text. Each check looks for the
token, its repr and JSON escapes, and every 6-character piece of it."""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from provider_migration.analysis.analyzer import run_analysis
from provider_migration.analysis.baseline import capture_baseline
from provider_migration.analysis.prometheus import PrometheusSource
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import ProviderMigrationStatus
from provider_migration.evaluation import evaluate
from provider_migration.evaluation.providers import ProviderError, client_for
from provider_migration.safetext import safe_error

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOKENS = {
    "newline": "sk-Zq9x7W\nHk2pLm",
    "carriage-return": "sk-Yb3v1Q\r\nInjected: 1",
    "quotes": 'sk-"Qw8\'Er5"Ty',
    "unicode": "sk-ünïcødé-Pq4Rs",
    "base64": base64.b64encode(b"sk-Mn7Bv3Cx-Qz8Wk1Lp").decode(),
}


def exposed(token: str, text: str) -> list[str]:
    forms = {token, repr(token)[1:-1], json.dumps(token)[1:-1], token.encode("unicode_escape").decode()}
    forms |= {token[i : i + 6] for i in range(len(token) - 5)}
    if token == TOKENS["base64"]:
        decoded = base64.b64decode(token).decode()
        forms |= {decoded[i : i + 6] for i in range(len(decoded) - 5)}
    return sorted(f for f in forms if f.strip() and f in text)


class EchoServer:
    """Answers every request with `status` and a body that quotes the request's headers back."""

    def __init__(self, status: int) -> None:
        received = self.received = []  # type: list[str]

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                echo = str(dict(self.headers))
                received.append(echo)
                body = json.dumps({"status": "error", "errorType": "bad_data", "error": f"bad request {echo}"})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=[400, 500, 401])
def echo(request: pytest.FixtureRequest) -> Iterator[EchoServer]:
    server = EchoServer(request.param)
    yield server
    server.close()


def spec(url: str) -> ProviderMigrationSpec:
    return ProviderMigrationSpec.from_wire(
        {
            "route": {"kind": "HTTPRoute", "name": "llm", "modelName": "chat"},
            "source": {"provider": "openai", "model": "gpt-4o", "backend": "src"},
            "target": {"provider": "anthropic", "model": "claude", "backend": "tgt"},
            "analysis": {"prometheus": {"url": url}},
        }
    )


@pytest.mark.parametrize("kind", TOKENS)
def test_prometheus_failures_on_the_analysis_and_baseline_paths_never_carry_the_token(
    kind: str, echo: EchoServer
) -> None:
    token = TOKENS[kind]
    migration = spec(echo.url)
    source = PrometheusSource(echo.url, timeout_s=5, bearer_token=token)
    try:
        baseline = capture_baseline(migration, source, NOW)
        analysis = run_analysis(migration, ProviderMigrationStatus(), source, NOW)
        try:
            source.query("up")
        except Exception as e:
            direct = f"{type(e).__name__}: {e}"
    finally:
        source.close()
    text = " ".join([str(baseline.error), analysis.model_dump_json(), direct])
    assert baseline.error is not None and "Prometheus" in text
    assert exposed(token, text) == []
    if "\n" in token or not token.isascii():  # never put in a header at all
        assert echo.received == [] and "bearer token has characters an HTTP header cannot carry" in text


def test_a_server_quoting_the_request_back_is_not_repeated() -> None:
    token = "sk-plain-Zq9x7WHk2pLm"
    server = EchoServer(400)
    source = PrometheusSource(server.url, timeout_s=5, bearer_token=token)
    try:
        with pytest.raises(Exception) as failed:
            source.query("up")
    finally:
        source.close()
        server.close()
    assert server.received and token in server.received[0]  # it was sent, and echoed
    assert str(failed.value) == "Prometheus rejected the query (HTTP 400, bad_data)"


def _complete(key: str, transport: httpx.AsyncBaseTransport, provider: str = "openai") -> BaseException | None:
    from provider_migration.api.spec import Endpoint
    from provider_migration.evaluation.dataset import Message

    async def run() -> BaseException | None:
        try:
            client = client_for(
                Endpoint(provider=provider, model="m", backend="b", api_base="http://p.test/v1"),
                key,
                transport=transport,
            )
        except ValueError as e:
            return e
        try:
            await client.complete([Message(role="user", content="hi")])
        except Exception as e:
            return e
        finally:
            await client.aclose()
        return None

    return asyncio.run(run())


@pytest.mark.parametrize("kind", TOKENS)
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_provider_failures_on_the_evaluation_path_never_carry_the_key(kind: str, provider: str) -> None:
    key = TOKENS[kind]

    def echoing(request: httpx.Request) -> httpx.Response:
        shown = (
            f"Incorrect API key provided: {request.headers.get('authorization') or request.headers.get('x-api-key')}"
        )
        return httpx.Response(401, json={"error": {"type": "invalid_request_error", "message": shown}})

    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.LocalProtocolError(f"Illegal header value {dict(request.headers)!r}")

    for handler in (echoing, broken):
        error = _complete(key, httpx.MockTransport(handler), provider)
        assert error is not None
        assert exposed(key, f"{type(error).__name__}: {error}") == [], handler.__name__
        if isinstance(error, ProviderError) and handler is echoing:
            assert (error.status, error.reason) == (401, "invalid_request_error")


def test_a_whole_evaluation_with_an_echoing_provider_stores_no_key() -> None:
    key = TOKENS["quotes"]
    migration = ProviderMigrationSpec.from_wire(
        {
            "route": {"kind": "ConfigMap", "name": "gw", "modelName": "chat"},
            "source": {"provider": "openai", "model": "gpt-4o", "backend": "src", "apiBase": "http://s.test/v1"},
            "target": {"provider": "anthropic", "model": "claude", "backend": "tgt", "apiBase": "http://t.test"},
            "evaluation": {"dataset": {"configMap": "golden"}},
        }
    )

    def echoing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"type": "authentication_error", "message": f"bad key {key}"}})

    dataset = json.dumps({"id": "q0", "messages": [{"role": "user", "content": "2+2?"}], "expected": "4"})
    outcome = asyncio.run(
        evaluate(
            migration, dataset, source_key=key, target_key=key, now=NOW, results_config_map="m-evaluation",
            transport=httpx.MockTransport(echoing),
        )
    )  # fmt: skip
    text = outcome.status.model_dump_json() + json.dumps(outcome.results_data())
    assert "authentication_error" in text
    assert exposed(key, text) == []


def test_safe_error_keeps_status_type_and_a_fixed_summary_only() -> None:
    class ApiError(Exception):
        status = 403

    assert safe_error(ApiError('secrets "db" is forbidden: body {"data": {"password": "c2VjcmV0"}}')) == (
        "HTTP 403 (ApiError)"
    )
    assert safe_error(ConnectionRefusedError("[Errno 111] Connection refused sk-abc")) == (
        "ConnectionRefusedError: connection refused"
    )
