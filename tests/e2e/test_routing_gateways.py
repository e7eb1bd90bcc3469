"""HTTPRoute and AIGatewayRoute adapters against the real API server with the gateways' upstream CRDs installed
(Gateway API v1.6.1 standard channel, Envoy AI Gateway v1.1.0: the projects' own files, as `pmo dev up` installs
them)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from pmo_devenv.thirdparty_crds import CrdsUnavailable, install_upstream_crds
from provider_migration.api.constants import FIELD_MANAGER
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.core.observations import RouteState
from provider_migration.routing.errors import RouteConflict, RouteError
from provider_migration.routing.factory import route_adapter
from provider_migration.routing.kube import AI_GATEWAY_ROUTE, HTTP_ROUTE, Kind
from provider_migration.routing.rules import RulesRoute

pytestmark = pytest.mark.e2e

SOURCE, TARGET = "openai-gpt-4o", "anthropic-sonnet"
OUR_FIELDS: dict[str, Any] = {"f:spec": {"f:rules": {}}}  # atomic list: the whole rules list, nothing else


@pytest.fixture(scope="module")
def gateway_crds(kube: client.ApiClient) -> list[str]:
    try:
        return install_upstream_crds(kube)
    except CrdsUnavailable as e:
        pytest.skip(str(e))  # tests/conftest.py turns an e2e skip into a failure under CI
        raise


def make_spec(kind: str, rule: str | None = None) -> ProviderMigrationSpec:
    route: dict[str, Any] = {"kind": kind, "name": "llm", "modelName": "chat"}
    if rule:
        route["rule"] = rule
    return ProviderMigrationSpec.model_validate(
        {
            "route": route,
            "source": {"provider": "openai", "model": "gpt-4o", "backend": SOURCE},
            "target": {"provider": "anthropic", "model": "claude-sonnet-4-5", "backend": TARGET},
        }
    )


def create(kube: client.ApiClient, namespace: str, kind: Kind, spec: dict[str, Any]) -> None:
    body = {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": {"name": "llm"}, "spec": spec}
    client.CustomObjectsApi(kube).create_namespaced_custom_object(
        kind.group, kind.version, namespace, kind.plural, body, field_manager="gitops"
    )


def get(kube: client.ApiClient, namespace: str, kind: Kind) -> dict[str, Any]:
    response: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
        kind.group, kind.version, namespace, kind.plural, "llm", _preload_content=False
    )
    return dict(json.loads(response.data))


def managed(obj: dict[str, Any], manager: str) -> list[dict[str, Any]]:
    return [m["fieldsV1"] for m in obj["metadata"].get("managedFields") or [] if m["manager"] == manager]


def ref(rule: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in rule["backendRefs"] if r["name"] == name)


# --- HTTPRoute ---

HTTPROUTE: dict[str, Any] = {
    "parentRefs": [{"name": "gateway"}],
    "hostnames": ["llm.example.com"],
    "rules": [
        {
            "name": "health",
            "matches": [{"path": {"type": "PathPrefix", "value": "/health"}}],
            "backendRefs": [{"name": "health", "port": 8080}],
        },
        {
            "name": "chat",
            "matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
            "filters": [
                {
                    "type": "RequestHeaderModifier",
                    "requestHeaderModifier": {"set": [{"name": "x-team", "value": "support"}]},
                }
            ],
            "backendRefs": [{"name": SOURCE, "port": 443}],
        },
    ],
}


def test_httproute_weights_mirror_and_ownership(
    kube: client.ApiClient, namespace: str, gateway_crds: list[str]
) -> None:
    create(kube, namespace, HTTP_ROUTE, HTTPROUTE)
    health_before = get(kube, namespace, HTTP_ROUTE)["spec"]["rules"][0]
    adapter = route_adapter(kube, namespace, make_spec("HTTPRoute"))
    state = adapter.read()
    assert (state.error, state.source_weight, state.target_weight, state.target_present) == (None, 100, 0, False)
    assert adapter.supports_mirroring and state.supports_mirroring

    for source, target, mirror in ((100, 0, 20), (90, 10, 0), (50, 50, 0), (0, 100, 0)):
        adapter.apply_weights(source, target, mirror)
        obj = get(kube, namespace, HTTP_ROUTE)
        health, chat = obj["spec"]["rules"]
        assert health == health_before
        assert ref(chat, SOURCE)["weight"] == source
        added = ref(chat, TARGET)
        assert (added["weight"], added["port"], added.get("kind", "Service")) == (target, 443, "Service")
        mirrors = [f for f in chat["filters"] if f["type"] == "RequestMirror"]
        assert [f["requestMirror"]["percent"] for f in mirrors] == ([mirror] if mirror else [])
        assert [f["type"] for f in chat["filters"] if f["type"] != "RequestMirror"] == ["RequestHeaderModifier"]
        read = adapter.read()
        assert (read.source_weight, read.target_weight, read.mirror_percent) == (source, target, mirror)

    obj = get(kube, namespace, HTTP_ROUTE)
    assert managed(obj, FIELD_MANAGER) == [OUR_FIELDS]
    gitops = managed(obj, "gitops")
    assert gitops and "f:rules" not in gitops[0]["f:spec"] and "f:parentRefs" in gitops[0]["f:spec"]
    adapter.apply_weights(0, 100, 0)
    assert get(kube, namespace, HTTP_ROUTE)["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]

    adapter.remove_source()
    chat = get(kube, namespace, HTTP_ROUTE)["spec"]["rules"][1]
    assert [r["name"] for r in chat["backendRefs"]] == [TARGET]
    state = adapter.read()
    assert (state.error, state.source_present, state.target_weight) == (None, False, 100)


def test_httproute_named_rule_is_the_one_edited(
    kube: client.ApiClient, namespace: str, gateway_crds: list[str]
) -> None:
    spec = json.loads(json.dumps(HTTPROUTE))
    spec["rules"][0]["backendRefs"] = [{"name": SOURCE, "port": 443}]  # the source also serves /health
    create(kube, namespace, HTTP_ROUTE, spec)
    adapter = route_adapter(kube, namespace, make_spec("HTTPRoute", rule="chat"))
    # Moving only "chat" would leave /health on the source, and decommissioning its key would break it.
    shared = adapter.read()
    assert shared.error is not None and f"source backendRef {SOURCE!r} also serves" in shared.error
    version = get(kube, namespace, HTTP_ROUTE)["metadata"]["resourceVersion"]
    with pytest.raises(RouteError, match="also serves"):
        adapter.apply_weights(70, 30, 0)
    assert get(kube, namespace, HTTP_ROUTE)["metadata"]["resourceVersion"] == version  # never written
    routed = get(kube, namespace, HTTP_ROUTE)
    routed["spec"]["rules"][0]["backendRefs"] = [{"name": "health-probe", "port": 443}]
    client.CustomObjectsApi(kube).replace_namespaced_custom_object(
        HTTP_ROUTE.group, HTTP_ROUTE.version, namespace, HTTP_ROUTE.plural, "llm", routed
    )
    adapter.apply_weights(70, 30, 0)
    health, chat = get(kube, namespace, HTTP_ROUTE)["spec"]["rules"]
    assert [r["name"] for r in health["backendRefs"]] == ["health-probe"]
    assert health["backendRefs"][0].get("weight", 1) == 1  # the other rule untouched (the server defaults 1)
    assert (ref(chat, SOURCE)["weight"], ref(chat, TARGET)["weight"]) == (70, 30)
    missing = route_adapter(kube, namespace, make_spec("HTTPRoute", rule="nope")).read()
    assert missing.found and missing.error is not None and "no rule named 'nope'" in missing.error


def test_httproute_without_the_source_is_an_error_and_never_written(
    kube: client.ApiClient, namespace: str, gateway_crds: list[str]
) -> None:
    adapter = route_adapter(kube, namespace, make_spec("HTTPRoute"))
    assert adapter.read().found is False
    create(kube, namespace, HTTP_ROUTE, {"rules": [{"backendRefs": [{"name": "someone-else", "port": 80}]}]})
    state = adapter.read()
    assert state.found and state.error is not None and f"backendRef named {SOURCE!r}" in state.error
    before = get(kube, namespace, HTTP_ROUTE)["metadata"]["resourceVersion"]
    for call in (lambda: adapter.apply_weights(90, 10, 0), adapter.remove_source):
        with pytest.raises(RouteError):
            call()
    assert get(kube, namespace, HTTP_ROUTE)["metadata"]["resourceVersion"] == before


# --- AIGatewayRoute ---


def model_rule(model: str, *refs: dict[str, Any]) -> dict[str, Any]:
    return {
        "matches": [{"headers": [{"type": "Exact", "name": "x-ai-eg-model", "value": model}]}],
        "backendRefs": list(refs),
    }


def test_the_route_crds_are_the_upstream_ones(kube: client.ApiClient, gateway_crds: list[str]) -> None:
    ext = client.ApiextensionsV1Api(kube)
    ai = ext.read_custom_resource_definition("aigatewayroutes.aigateway.envoyproxy.io")
    assert ai.metadata is not None and "controller-gen.kubebuilder.io/version" in (ai.metadata.annotations or {})
    assert {v.name: v.storage for v in ai.spec.versions} == {"v1alpha1": False, "v1beta1": True}
    httproutes = ext.read_custom_resource_definition("httproutes.gateway.networking.k8s.io")
    assert httproutes.metadata is not None
    assert (httproutes.metadata.annotations or {}).get("gateway.networking.k8s.io/bundle-version") == "v1.6.1"


def test_a_kind_the_server_does_not_serve_is_reported_as_such(
    kube: client.ApiClient, gateway_crds: list[str], namespace: str
) -> None:
    """No CRD for the route's kind: the read says the kind is not served, not that the object is missing."""
    adapter = route_adapter(kube, namespace, make_spec("HTTPRoute"))
    assert isinstance(adapter, RulesRoute)
    assert adapter.read() == RouteState(found=False, supports_mirroring=True)  # served, no such object
    adapter.kind = Kind("absent.llmops.dev/v1", "Absent", "absents")
    state = adapter.read()
    assert not state.served and not state.found
    assert state.error is not None and "does not serve absents.absent.llmops.dev/v1" in state.error


def test_aigatewayroute_weights_priority_tier_and_ownership(
    kube: client.ApiClient, namespace: str, gateway_crds: list[str]
) -> None:
    rules = [
        model_rule("embed", {"name": "openai-embed"}),
        model_rule("chat", {"name": SOURCE}, {"name": TARGET, "priority": 1}),  # the target starts as a fallback
    ]
    create(kube, namespace, AI_GATEWAY_ROUTE, {"parentRefs": [{"name": "gateway", "kind": "Gateway"}], "rules": rules})
    embed_before = get(kube, namespace, AI_GATEWAY_ROUTE)["spec"]["rules"][0]
    adapter = route_adapter(kube, namespace, make_spec("AIGatewayRoute"))
    state = adapter.read()
    assert (state.error, state.target_present, state.source_weight, state.target_weight) == (None, True, 100, 0)
    assert adapter.supports_mirroring is False
    with pytest.raises(RouteError, match="cannot mirror"):
        adapter.apply_weights(100, 0, 10)

    for source, target in ((90, 10), (50, 50), (0, 100)):
        adapter.apply_weights(source, target, 0)
        embed, chat = get(kube, namespace, AI_GATEWAY_ROUTE)["spec"]["rules"]
        assert embed == embed_before
        assert (ref(chat, SOURCE)["weight"], ref(chat, TARGET)["weight"]) == (source, target)
        assert ref(chat, TARGET)["priority"] == ref(chat, SOURCE)["priority"] == 0
        read = adapter.read()
        assert (read.source_weight, read.target_weight) == (source, target)

    obj = get(kube, namespace, AI_GATEWAY_ROUTE)
    assert managed(obj, FIELD_MANAGER) == [OUR_FIELDS]
    adapter.apply_weights(0, 100, 0)
    assert get(kube, namespace, AI_GATEWAY_ROUTE)["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]


def test_aigatewayroute_adds_the_target_with_a_model_override(
    kube: client.ApiClient, namespace: str, gateway_crds: list[str]
) -> None:
    create(kube, namespace, AI_GATEWAY_ROUTE, {"rules": [model_rule("chat", {"name": SOURCE, "weight": 3})]})
    adapter = route_adapter(kube, namespace, make_spec("AIGatewayRoute"))
    adapter.apply_weights(90, 10, 0)
    (chat,) = get(kube, namespace, AI_GATEWAY_ROUTE)["spec"]["rules"]
    assert ref(chat, TARGET) == {"name": TARGET, "weight": 10, "priority": 0, "modelNameOverride": "claude-sonnet-4-5"}
    assert ref(chat, SOURCE)["weight"] == 90


def test_aigatewayroute_without_a_matching_rule_is_an_error(
    kube: client.ApiClient, namespace: str, gateway_crds: list[str]
) -> None:
    create(kube, namespace, AI_GATEWAY_ROUTE, {"rules": [model_rule("embed", {"name": "someone-else"})]})
    adapter = route_adapter(kube, namespace, make_spec("AIGatewayRoute"))
    state = adapter.read()
    assert state.found and state.error is not None and "x-ai-eg-model: chat" in state.error
    before = get(kube, namespace, AI_GATEWAY_ROUTE)["metadata"]["resourceVersion"]
    with pytest.raises(RouteError):
        adapter.apply_weights(90, 10, 0)
    assert get(kube, namespace, AI_GATEWAY_ROUTE)["metadata"]["resourceVersion"] == before


def test_an_edit_between_read_and_write_is_never_overwritten(
    kube: client.ApiClient, namespace: str, gateway_crds: list[str]
) -> None:
    """The apply carries the resourceVersion it read, so a concurrent writer wins and the adapter retries later."""
    create(kube, namespace, HTTP_ROUTE, HTTPROUTE)
    adapter = route_adapter(kube, namespace, make_spec("HTTPRoute"))
    assert isinstance(adapter, RulesRoute)
    read_then_someone_edits = adapter.kube.get

    def racing_get(kind: Kind, name: str) -> dict[str, Any] | None:
        obj = read_then_someone_edits(kind, name)
        edited = {
            "spec": {
                "rules": [
                    *HTTPROUTE["rules"][:1],
                    {**HTTPROUTE["rules"][1], "backendRefs": [{"name": SOURCE, "port": 443, "weight": 7}]},
                ]
            }
        }
        client.CustomObjectsApi(kube).patch_namespaced_custom_object(
            kind.group, kind.version, namespace, kind.plural, name, edited, _content_type="application/merge-patch+json"
        )
        return obj

    adapter.kube.get = racing_get  # type: ignore[method-assign]
    with pytest.raises(RouteConflict):
        adapter.apply_weights(90, 10, 0)
    chat = get(kube, namespace, HTTP_ROUTE)["spec"]["rules"][1]
    assert chat["backendRefs"] == [{"group": "", "kind": "Service", "name": SOURCE, "port": 443, "weight": 7}]
    assert managed(get(kube, namespace, HTTP_ROUTE), FIELD_MANAGER) == []
