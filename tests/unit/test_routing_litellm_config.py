"""LiteLLM config parsing, simple-shuffle weights and editing (pure parts of routing/litellm.py)."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.routing.errors import RouteError
from provider_migration.routing.litellm import (
    config_hash,
    parse_config,
    render,
    shuffle_weights,
    state,
    with_weights,
    without_source,
)


def make_spec(**target: Any) -> ProviderMigrationSpec:
    return ProviderMigrationSpec.model_validate(
        {
            "route": {"kind": "ConfigMap", "name": "litellm", "modelName": "chat"},
            "source": {"provider": "openai", "model": "gpt-4o", "backend": "src"},
            "target": {"provider": "anthropic", "model": "claude-sonnet-4-5", "backend": "dst", **target},
            "gatewaySecret": "llm-gateway-keys",
        }
    )


def deployment(model_id: str | None, model_name: str = "chat", **params: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"model_name": model_name, "litellm_params": {"model": "openai/gpt-4o", **params}}
    if model_id is not None:
        entry["model_info"] = {"id": model_id}
    return entry


def config(*entries: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model_list": list(entries), **extra}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([{"weight": 9}, {"weight": 1}, {}], [9, 1, 0]),  # first has weight: missing ones count 0
        ([{"weight": 0}, {"weight": 3}], [0, 3]),  # a weight of 0 on the first still selects weight mode
        ([{"rpm": 100}, {"rpm": 300, "weight": 7}], [100, 300]),  # first has only rpm: rpm decides
        ([{"tpm": 10}, {"tpm": 30}], [10, 30]),
        ([{}, {"weight": 5}], [1, 1]),  # nothing on the first: uniform, whatever the others say
    ],
)
def test_shuffle_weights_follow_the_first_deployment(params: list[dict[str, Any]], expected: list[float]) -> None:
    entries = [deployment(str(i), **p) for i, p in enumerate(params)]
    assert shuffle_weights(entries) == expected


@pytest.mark.parametrize(
    ("source", "target", "percent"),
    [({"weight": 1}, {"weight": 3}, (25, 75)), ({"weight": 1}, {"weight": 2}, (33, 67)), ({"weight": 0}, {}, (0, 0))],
)
def test_state_is_percent_of_the_two_arms(
    source: dict[str, Any], target: dict[str, Any], percent: tuple[int, int]
) -> None:
    cfg = config(deployment("src", **source), deployment("dst", **target), deployment("other", "embed", weight=50))
    got = state(cfg, make_spec())
    assert (got.source_weight, got.target_weight) == percent
    assert got.source_present and got.target_present and got.supports_mirroring is False


def test_state_without_target_and_after_source_removal() -> None:
    only_source = state(config(deployment("src")), make_spec())
    assert (only_source.source_weight, only_source.target_weight, only_source.target_present) == (100, 0, False)
    only_target = state(config(deployment("dst", weight=4)), make_spec())
    assert (only_target.source_present, only_target.target_weight) == (False, 100)


@pytest.mark.parametrize(
    ("cfg", "reason"),
    [
        (config(deployment("src", model_name="embed")), "no entry with model_name 'chat'"),
        (config(deployment("else")), "has model_info.id 'src'"),
        (config(deployment("src", weight="heavy")), "not a number"),
        (config(deployment("src"), deployment("src")), "appears 2 times"),
    ],
)
def test_state_errors(cfg: dict[str, Any], reason: str) -> None:
    with pytest.raises(RouteError, match=reason):
        state(cfg, make_spec())


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "no data key 'config.yaml'"),
        ("- a list", "not a YAML mapping"),
        ("general_settings: {}", "has no model_list"),
        ("model_list: {}", "has no model_list"),
    ],
)
def test_parse_config_errors(text: str | None, reason: str) -> None:
    with pytest.raises(RouteError, match=reason):
        parse_config(text, "config.yaml")


def test_yaml_errors_give_the_position_but_never_quote_the_file() -> None:
    text = "model_list:\n  - model_name: chat\n    litellm_params: {api_key: sk-live-123, model: [\n"
    with pytest.raises(RouteError) as raised:
        parse_config(text, "config.yaml")
    assert "line" in str(raised.value) and "sk-live-123" not in str(raised.value)


def test_with_weights_adds_the_target_and_changes_nothing_else() -> None:
    original = config(
        deployment("src", api_key="os.environ/OPENAI_API_KEY", rpm=600),
        deployment(None, "embed", weight=3),
        router_settings={"routing_strategy": "simple-shuffle", "fallbacks": [{"chat": ["embed"]}]},
        general_settings={"master_key": "os.environ/LITELLM_MASTER_KEY"},
    )
    before = copy.deepcopy(original)
    new = with_weights(original, make_spec(apiBase="https://anthropic.example"), 90, 10)
    assert original == before  # the input is not modified
    assert new["model_list"][1] == {
        "model_name": "chat",
        "litellm_params": {
            "model": "anthropic/claude-sonnet-4-5",
            "api_base": "https://anthropic.example",
            "api_key": "os.environ/ANTHROPIC_API_KEY",
            "weight": 10,
        },
        "model_info": {"id": "dst"},
    }
    assert new["model_list"][0]["litellm_params"] == {**before["model_list"][0]["litellm_params"], "weight": 90}
    assert new["model_list"][2] == before["model_list"][1]
    assert {k: v for k, v in new.items() if k != "model_list"} == {k: v for k, v in before.items() if k != "model_list"}
    got = state(new, make_spec())
    assert (got.source_weight, got.target_weight) == (90, 10)
    assert parse_config(render(new), "config.yaml") == new


def test_new_target_entry_uses_the_configured_gateway_key_and_no_api_base_when_unset() -> None:
    spec = make_spec(credentials={"secretName": "anthropic", "gatewayKey": "CLAUDE_KEY"}, model="anthropic/claude-x")
    entry = with_weights(config(deployment("src")), spec, 50, 50)["model_list"][1]
    assert entry["litellm_params"] == {"model": "anthropic/claude-x", "api_key": "os.environ/CLAUDE_KEY", "weight": 50}


def test_with_weights_refuses_what_litellm_would_not_honour() -> None:
    spec = make_spec()
    with pytest.raises(RouteError, match="comes first in the model group without a weight"):
        with_weights(config(deployment("third"), deployment("src")), spec, 90, 10)
    with pytest.raises(RouteError, match="to send 90% to"):
        with_weights(config(deployment("dst")), spec, 90, 10)
    with pytest.raises(RouteError, match="sum to 100"):
        with_weights(config(deployment("src")), spec, 0, 0)
    # A source already gone is fine for a full cut-over.
    assert with_weights(config(deployment("dst")), spec, 0, 100)["model_list"][0]["litellm_params"]["weight"] == 100


def test_without_source_keeps_a_target_that_takes_traffic() -> None:
    spec = make_spec()
    cfg = config(deployment("src", weight=0), deployment("dst", weight=100), deployment(None, "embed"))
    assert [e.get("model_info", {}).get("id") for e in without_source(cfg, spec)["model_list"]] == ["dst", None]
    with pytest.raises(RouteError, match="target would take no traffic"):
        without_source(config(deployment("src", weight=100), deployment("dst", weight=0)), spec)
    assert without_source(config(deployment("dst")), spec) == config(deployment("dst"))


def test_config_hash_is_the_sha256_of_the_text() -> None:
    text = render(config(deployment("src", weight=1)))
    assert config_hash(text) == hashlib.sha256(text.encode()).hexdigest()
    assert config_hash(text) != config_hash(text + "\n#")
