"""Reading values out of Secrets: one behaviour for provider keys, evaluation keys and the Prometheus token."""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes import client

from provider_migration.api.keys import secret_text, secret_value
from provider_migration.api.spec import Pricing, PrometheusSource
from provider_migration.controller.analysis_port import TokenUnavailable, prometheus_token


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def test_secret_value_keeps_the_exact_bytes() -> None:
    assert secret_value({"k": b64(b"sk-1\n")}, "k") == b"sk-1\n"
    assert secret_value({"k": b64(b"\xff\x00")}, "k") == b"\xff\x00"


@pytest.mark.parametrize("data", [None, {}, {"other": b64(b"x")}, {"k": ""}, {"k": "not base64!"}, {"k": "YQ"}])
def test_secret_value_is_none_when_nothing_usable_is_there(data: dict[str, str] | None) -> None:
    assert secret_value(data, "k") is None


def test_secret_text_strips_the_newline_echo_leaves() -> None:
    assert secret_text({"k": b64(b"  sk-1\n")}, "k") == "sk-1"


@pytest.mark.parametrize("raw", [b"\n \t", b"\xff\xfe"])
def test_secret_text_is_none_for_blank_or_binary_values(raw: bytes) -> None:
    assert secret_text({"k": b64(raw)}, "k") is None


class FakeCore:
    def __init__(self, secrets: dict[str, dict[str, str]]) -> None:
        self.secrets = secrets

    def read_namespaced_secret(self, name: str, namespace: str) -> Any:
        if name not in self.secrets:
            raise client.ApiException(status=404, reason="Not Found")
        return SimpleNamespace(data=self.secrets[name])


def prom(**auth: str) -> PrometheusSource:
    return PrometheusSource.model_validate({"url": "http://p:9090", **({"authSecret": auth} if auth else {})})


def test_prometheus_token_reads_the_named_key() -> None:
    core: Any = FakeCore({"prom": {"token": b64(b"t0k\n")}})
    assert prometheus_token(core, "ns", prom(name="prom", key="token")) == "t0k"
    assert prometheus_token(core, "ns", prom()) is None


@pytest.mark.parametrize(
    ("secrets", "expected"),
    [({}, "cannot read the Prometheus auth Secret prom (HTTP 404)"), ({"prom": {}}, "no usable key 'token'")],
)
def test_prometheus_token_names_what_is_missing_and_never_the_value(
    secrets: dict[str, dict[str, str]], expected: str
) -> None:
    core: Any = FakeCore(secrets)
    with pytest.raises(TokenUnavailable, match=expected.replace("(", r"\(").replace(")", r"\)")):
        prometheus_token(core, "ns", prom(name="prom", key="token"))


def test_pricing_cost_is_per_million_tokens() -> None:
    assert Pricing(input_per_million=2.5, output_per_million=10).cost(1_000, 500) == pytest.approx(0.0075)
