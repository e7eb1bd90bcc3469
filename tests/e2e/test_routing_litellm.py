"""LiteLLM ConfigMap adapter against the real API server: weights, SSA ownership, the Deployment roll."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import yaml
from kubernetes import client

from provider_migration.api.constants import CONFIG_HASH_ANNOTATION, FIELD_MANAGER
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.routing.errors import RouteError
from provider_migration.routing.factory import route_adapter

pytestmark = pytest.mark.e2e

CONFIG: dict[str, Any] = {
    "model_list": [
        {
            "model_name": "chat",
            "litellm_params": {"model": "openai/gpt-4o", "api_key": "os.environ/OPENAI_API_KEY", "rpm": 600},
            "model_info": {"id": "openai-gpt-4o", "input_cost_per_token": 2.5e-06},
        },
        {
            "model_name": "embed",
            "litellm_params": {"model": "openai/text-embedding-3-small", "api_key": "os.environ/OPENAI_API_KEY"},
        },
    ],
    "router_settings": {"routing_strategy": "simple-shuffle", "num_retries": 2, "fallbacks": [{"chat": ["embed"]}]},
    "litellm_settings": {"callbacks": ["prometheus"], "drop_params": True, "request_timeout": 600},
    "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
}
OUR_CONFIGMAP_FIELDS: dict[str, Any] = {"f:data": {"f:config.yaml": {}}}
OUR_DEPLOYMENT_FIELDS: dict[str, Any] = {
    "f:spec": {"f:template": {"f:metadata": {"f:annotations": {f"f:{CONFIG_HASH_ANNOTATION}": {}}}}}
}


def make_spec(reload: bool = True) -> ProviderMigrationSpec:
    route: dict[str, Any] = {"kind": "ConfigMap", "name": "litellm-config", "modelName": "chat"}
    if reload:
        route["reload"] = {"deployment": "litellm"}
    return ProviderMigrationSpec.model_validate(
        {
            "route": route,
            "source": {"provider": "openai", "model": "gpt-4o", "backend": "openai-gpt-4o"},
            "target": {
                "provider": "anthropic",
                "model": "claude-sonnet-4-5",
                "backend": "anthropic-sonnet",
                "apiBase": "https://api.anthropic.example",
            },
        }
    )


def create_configmap(kube: client.ApiClient, namespace: str, text: str) -> None:
    body: Any = {"metadata": {"name": "litellm-config"}, "data": {"config.yaml": text, "other": "untouched"}}
    client.CoreV1Api(kube).create_namespaced_config_map(namespace, body)


def create_deployment(kube: client.ApiClient, namespace: str) -> None:
    labels = {"app": "litellm"}
    body: Any = {
        "metadata": {"name": "litellm"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": {"team": "platform"}},
                "spec": {"containers": [{"name": "litellm", "image": "ghcr.io/berriai/litellm:main"}]},
            },
        },
    }
    client.AppsV1Api(kube).create_namespaced_deployment(namespace, body)


def raw(kube: client.ApiClient, namespace: str, kind: str) -> dict[str, Any]:
    response: Any
    if kind == "ConfigMap":
        response = client.CoreV1Api(kube).read_namespaced_config_map(
            "litellm-config", namespace, _preload_content=False
        )
    else:
        response = client.AppsV1Api(kube).read_namespaced_deployment("litellm", namespace, _preload_content=False)
    return dict(json.loads(response.data))


def ours(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [m["fieldsV1"] for m in obj["metadata"].get("managedFields") or [] if m["manager"] == FIELD_MANAGER]


def entry(config: dict[str, Any], model_id: str) -> dict[str, Any]:
    return next(e for e in config["model_list"] if (e.get("model_info") or {}).get("id") == model_id)


def without_weights(config: dict[str, Any]) -> dict[str, Any]:
    """The config minus what the adapter may change: the target entry and the source's weight."""
    copy = json.loads(json.dumps(config))
    copy["model_list"] = [e for e in copy["model_list"] if (e.get("model_info") or {}).get("id") != "anthropic-sonnet"]
    for e in copy["model_list"]:
        e.get("litellm_params", {}).pop("weight", None)
    return copy


def test_weights_walk_keeps_config_and_rolls_deployment(kube: client.ApiClient, namespace: str) -> None:
    create_configmap(kube, namespace, yaml.safe_dump(CONFIG, sort_keys=False))
    create_deployment(kube, namespace)
    adapter = route_adapter(kube, namespace, make_spec())

    state = adapter.read()
    assert (state.found, state.error, state.source_present, state.target_present) == (True, None, True, False)
    assert (state.source_weight, state.target_weight) == (100, 0)
    assert adapter.supports_mirroring is False and state.supports_mirroring is False

    for source, target in ((90, 10), (50, 50), (0, 100)):
        adapter.apply_weights(source, target, 0)
        cm = raw(kube, namespace, "ConfigMap")
        text = cm["data"]["config.yaml"]
        config = yaml.safe_load(text)
        assert entry(config, "openai-gpt-4o")["litellm_params"]["weight"] == source
        assert entry(config, "anthropic-sonnet") == {
            "model_name": "chat",
            "litellm_params": {
                "model": "anthropic/claude-sonnet-4-5",
                "api_base": "https://api.anthropic.example",
                "api_key": "os.environ/ANTHROPIC_API_KEY",
                "weight": target,
            },
            "model_info": {"id": "anthropic-sonnet"},
        }
        assert without_weights(config) == without_weights(CONFIG)  # every other value as it was
        assert cm["data"]["other"] == "untouched"
        read = adapter.read()
        assert (read.source_weight, read.target_weight, read.target_present) == (source, target, True)
        template = raw(kube, namespace, "Deployment")["spec"]["template"]["metadata"]
        assert template["annotations"][CONFIG_HASH_ANNOTATION] == hashlib.sha256(text.encode()).hexdigest()
        assert template["annotations"]["team"] == "platform"

    cm, deployment = raw(kube, namespace, "ConfigMap"), raw(kube, namespace, "Deployment")
    assert ours(cm) == [OUR_CONFIGMAP_FIELDS]
    assert ours(deployment) == [OUR_DEPLOYMENT_FIELDS]

    adapter.apply_weights(0, 100, 0)  # already so: no write anywhere
    assert raw(kube, namespace, "ConfigMap")["metadata"]["resourceVersion"] == cm["metadata"]["resourceVersion"]
    assert (
        raw(kube, namespace, "Deployment")["metadata"]["resourceVersion"] == deployment["metadata"]["resourceVersion"]
    )


def test_remove_source_then_idempotent(kube: client.ApiClient, namespace: str) -> None:
    create_configmap(kube, namespace, yaml.safe_dump(CONFIG))
    adapter = route_adapter(kube, namespace, make_spec(reload=False))
    with pytest.raises(RouteError, match="target would take no traffic"):
        adapter.remove_source()  # the target is not even there yet
    adapter.apply_weights(0, 100, 0)
    adapter.remove_source()
    cm = raw(kube, namespace, "ConfigMap")
    config = yaml.safe_load(cm["data"]["config.yaml"])
    assert [(e.get("model_info") or {}).get("id") for e in config["model_list"]] == ["anthropic-sonnet", None]
    state = adapter.read()
    assert (state.error, state.source_present, state.target_present, state.target_weight) == (None, False, True, 100)
    adapter.remove_source()
    adapter.apply_weights(0, 100, 0)
    assert raw(kube, namespace, "ConfigMap")["metadata"]["resourceVersion"] == cm["metadata"]["resourceVersion"]


def test_heals_a_stale_config_hash(kube: client.ApiClient, namespace: str) -> None:
    """A crash between the ConfigMap write and the roll, or an edit by someone else, is healed on the next call."""
    create_configmap(kube, namespace, yaml.safe_dump(CONFIG))
    create_deployment(kube, namespace)
    adapter = route_adapter(kube, namespace, make_spec())
    adapter.apply_weights(90, 10, 0)
    client.AppsV1Api(kube).patch_namespaced_deployment(
        "litellm", namespace, {"spec": {"template": {"metadata": {"annotations": {CONFIG_HASH_ANNOTATION: "stale"}}}}}
    )
    adapter.apply_weights(90, 10, 0)
    text = raw(kube, namespace, "ConfigMap")["data"]["config.yaml"]
    annotations = raw(kube, namespace, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations[CONFIG_HASH_ANNOTATION] == hashlib.sha256(text.encode()).hexdigest()


def test_adopting_a_route_already_at_the_split_does_not_roll_pods(kube: client.ApiClient, namespace: str) -> None:
    config = json.loads(json.dumps(CONFIG))
    config["model_list"][0]["litellm_params"]["weight"] = 1
    config["model_list"].append(
        {
            "model_name": "chat",
            "litellm_params": {"model": "anthropic/x", "weight": 1},
            "model_info": {"id": "anthropic-sonnet"},
        }
    )
    create_configmap(kube, namespace, yaml.safe_dump(config))
    create_deployment(kube, namespace)
    before = raw(kube, namespace, "Deployment")["metadata"]["resourceVersion"]
    adapter = route_adapter(kube, namespace, make_spec())
    adapter.apply_weights(50, 50, 0)  # 1:1 is already 50/50 as LiteLLM applies it
    assert raw(kube, namespace, "Deployment")["metadata"]["resourceVersion"] == before
    assert ours(raw(kube, namespace, "ConfigMap")) == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("model_list: [\n  - {model_name: chat", "is not valid YAML at line"),
        ("router_settings: {}\n", "has no model_list"),
        (
            "model_list:\n  - {model_name: other, model_info: {id: openai-gpt-4o}}\n",
            "model_list has no entry with model_name",
        ),
        ("model_list:\n  - {model_name: chat, model_info: {id: someone-else}}\n", "has model_info.id 'openai-gpt-4o'"),
    ],
)
def test_malformed_config_is_a_state_error_and_never_written(
    kube: client.ApiClient, namespace: str, text: str, reason: str
) -> None:
    create_configmap(kube, namespace, text)
    adapter = route_adapter(kube, namespace, make_spec(reload=False))
    state = adapter.read()
    assert state.found and state.error is not None and reason in state.error
    before = raw(kube, namespace, "ConfigMap")["metadata"]["resourceVersion"]
    with pytest.raises(RouteError):
        adapter.apply_weights(90, 10, 0)
    with pytest.raises(RouteError):
        adapter.remove_source()
    assert raw(kube, namespace, "ConfigMap")["metadata"]["resourceVersion"] == before


def test_missing_objects(kube: client.ApiClient, namespace: str) -> None:
    adapter = route_adapter(kube, namespace, make_spec())
    assert adapter.read().found is False
    with pytest.raises(RouteError, match="does not exist"):
        adapter.apply_weights(90, 10, 0)
    create_configmap(kube, namespace, yaml.safe_dump(CONFIG))
    state = adapter.read()  # the reload Deployment is read only before a write: the change fails, nothing moves
    assert state.found and state.error is None
    with pytest.raises(RouteError, match="Deployment"):
        adapter.apply_weights(90, 10, 0)
    assert ours(raw(kube, namespace, "ConfigMap")) == []
