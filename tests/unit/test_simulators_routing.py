"""Routing readers (test tooling): each routing object shape parsed into weights like the real gateway."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from pmo_devenv.simulators.routing_readers import (
    Backend,
    KeyRef,
    RouteError,
    litellm_weights,
    read_route,
)


def litellm_cm(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"config.yaml": yaml.safe_dump({"model_list": list(entries)})}}


def entry(model_id: str, model: str, weight: float | None = None, **params: Any) -> dict[str, Any]:
    lp: dict[str, Any] = {"model": model, "api_base": "http://127.0.0.1:9000/v1", **params}
    if weight is not None:
        lp["weight"] = weight
    return {"model_name": "chat", "litellm_params": lp, "model_info": {"id": model_id}}


def test_litellm_weights_group_keys_and_urls() -> None:
    cm = litellm_cm(
        entry("src", "openai/gpt-4o", 90, api_key="os.environ/OPENAI_API_KEY"),
        entry("dst", "anthropic/claude-sonnet-4-5", 10, api_key="os.environ/ANTHROPIC_API_KEY"),
        {"model_name": "other", "litellm_params": {"model": "openai/gpt-4o-mini", "weight": 5}},
    )
    plan = read_route("ConfigMap", cm, "chat", gateway_secret="llm-gateway-keys")
    assert plan.weights() == {"src": 90, "dst": 10}
    assert plan.shares() == pytest.approx({"src": 0.9, "dst": 0.1})
    src, dst = plan.arms
    assert (src.flavor, src.upstream_model, src.route_model) == ("openai", "gpt-4o", "openai/gpt-4o")
    assert (dst.flavor, dst.upstream_model) == ("anthropic", "claude-sonnet-4-5")
    assert src.url == "http://127.0.0.1:9000"  # /v1 suffix stripped, the sim appends full paths
    assert dst.key_ref == KeyRef("llm-gateway-keys", "ANTHROPIC_API_KEY")


def test_litellm_missing_weight_counts_zero_when_first_entry_has_one() -> None:
    plan = read_route("ConfigMap", litellm_cm(entry("src", "openai/gpt-4o", 3), entry("dst", "openai/x")), "chat")
    assert plan.weights() == {"src": 3, "dst": 0}


def test_litellm_weight_on_later_entry_only_means_uniform() -> None:
    # The first entry decides: without its weight (or rpm/tpm), simple-shuffle picks uniformly.
    plan = read_route("ConfigMap", litellm_cm(entry("src", "openai/gpt-4o"), entry("dst", "openai/x", 9)), "chat")
    assert plan.shares() == {"src": 0.5, "dst": 0.5}


def test_litellm_rpm_then_tpm_fallbacks() -> None:
    assert litellm_weights([{"rpm": 100}, {"rpm": 300}]) == [100, 300]
    assert litellm_weights([{"tpm": 10}, {}]) == [10, 0]
    assert litellm_weights([{}, {}, {}]) == [1, 1, 1]


def test_litellm_literal_and_default_keys() -> None:
    cm = litellm_cm(entry("a", "openai/gpt-4o", 1, api_key="sk-literal"), entry("b", "anthropic/claude", 1))
    a, b = read_route("ConfigMap", cm, "chat", gateway_secret="keys").arms
    assert a.api_key == "sk-literal" and a.key_ref is None
    assert "sk-literal" not in repr(a)
    assert b.key_ref == KeyRef("keys", "ANTHROPIC_API_KEY")  # LiteLLM's provider default env var


def test_litellm_api_base_falls_back_to_backend_mapping() -> None:
    cm = litellm_cm({"model_name": "chat", "litellm_params": {"model": "openai/gpt-4o"}, "model_info": {"id": "a"}})
    plan = read_route("ConfigMap", cm, "chat", {"a": Backend(url="http://127.0.0.1:1234")})
    assert plan.arms[0].url == "http://127.0.0.1:1234"


@pytest.mark.parametrize(
    "cm",
    [
        {"data": {}},
        litellm_cm({"model_name": "other", "litellm_params": {"model": "x"}}),
        {"data": {"config.yaml": ":"}},
    ],
)
def test_litellm_unusable_config_is_a_route_error(cm: dict[str, Any]) -> None:
    with pytest.raises(RouteError):
        read_route("ConfigMap", cm, "chat")


BACKENDS = {
    "openai-gpt-4o": Backend(url="http://127.0.0.1:8001", model="gpt-4o", secret_name="oa", secret_key="api-key"),
    "claude": Backend(url="http://127.0.0.1:8002", model="claude-sonnet-4-5", secret_name="an"),
}


def httproute(refs: list[dict[str, Any]], filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"spec": {"rules": [{"backendRefs": refs, "filters": filters or []}]}}


def test_httproute_weights_default_to_one() -> None:
    plan = read_route(
        "HTTPRoute", httproute([{"name": "openai-gpt-4o"}, {"name": "claude", "weight": 3}]), "chat", BACKENDS
    )
    assert plan.weights() == {"openai-gpt-4o": 1, "claude": 3}
    oa, cl = plan.arms
    assert oa.key_ref == KeyRef("oa", "api-key") and oa.upstream_model == "gpt-4o"
    assert cl.flavor == "anthropic" and cl.key_ref == KeyRef("an", "apiKey")


def test_httproute_zero_weight_and_unknown_backend() -> None:
    plan = read_route("HTTPRoute", httproute([{"name": "claude", "weight": 0}, {"name": "ghost"}]), "chat", BACKENDS)
    assert plan.shares() == {"claude": 0.0, "ghost": 1.0}
    assert plan.arms[1].url is None  # answered 500, like an invalid backendRef


def test_httproute_request_mirror_percent() -> None:
    mirror = {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "claude"}, "percent": 25}}
    full = {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "openai-gpt-4o"}}}
    frac = {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "x"}, "fraction": {"numerator": 1}}}
    plan = read_route("HTTPRoute", httproute([{"name": "openai-gpt-4o"}], [mirror, full, frac]), "chat", BACKENDS)
    assert [(m.arm.backend, m.percent) for m in plan.mirrors] == [("claude", 25), ("openai-gpt-4o", 100), ("x", 1)]
    assert plan.weights() == {"openai-gpt-4o": 1}


def test_httproute_prefers_rule_matching_the_model_header() -> None:
    route = {
        "spec": {
            "rules": [
                {"backendRefs": [{"name": "openai-gpt-4o"}]},
                {
                    "matches": [{"headers": [{"name": "x-model", "value": "chat"}]}],
                    "backendRefs": [{"name": "claude"}],
                },
            ]
        }
    }
    assert read_route("HTTPRoute", route, "chat", BACKENDS).weights() == {"claude": 1}


def aigw_route(refs: list[dict[str, Any]], model: str = "chat") -> dict[str, Any]:
    other = {"matches": [{"headers": [{"type": "Exact", "name": "x-ai-eg-model", "value": "other"}]}],
             "backendRefs": [{"name": "ghost"}]}  # fmt: skip
    rule = {"matches": [{"headers": [{"type": "Exact", "name": "x-ai-eg-model", "value": model}]}], "backendRefs": refs}
    return {"apiVersion": "aigateway.envoyproxy.io/v1beta1", "spec": {"rules": [other, rule]}}


def test_aigatewayroute_rule_by_model_header_and_weights() -> None:
    refs = [{"name": "openai-gpt-4o", "weight": 90}, {"name": "claude", "weight": 10, "modelNameOverride": "claude-x"}]
    plan = read_route("AIGatewayRoute", aigw_route(refs), "chat", BACKENDS)
    assert plan.weights() == {"openai-gpt-4o": 90, "claude": 10}
    cl = plan.arms[1]
    assert cl.upstream_model == "claude-x"  # modelNameOverride is what goes upstream
    assert cl.key_ref == KeyRef("an", "apiKey")  # BackendSecurityPolicy data key


def test_aigatewayroute_default_weight_and_priority_tiers() -> None:
    refs: list[dict[str, Any]] = [{"name": "openai-gpt-4o"}, {"name": "claude", "priority": 1, "weight": 50}]
    assert read_route("AIGatewayRoute", aigw_route(refs), "chat", BACKENDS).weights() == {"openai-gpt-4o": 1}


def test_aigatewayroute_without_matching_rule_is_a_route_error() -> None:
    with pytest.raises(RouteError):
        read_route("AIGatewayRoute", aigw_route([{"name": "claude"}], model="nope"), "chat", BACKENDS)


def test_unknown_kind_rejected() -> None:
    with pytest.raises(ValueError):
        read_route("VirtualService", {}, "chat")
