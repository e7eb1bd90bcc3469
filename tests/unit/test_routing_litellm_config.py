"""LiteLLM config parsing, weights as LiteLLM's router computes them, and round-trip editing
(pure parts of routing/litellm.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.routing.errors import RouteError
from provider_migration.routing.litellm import (
    config_hash,
    parse_config,
    remove_source_text,
    remove_target_text,
    served_problem,
    shuffle_weights,
    state,
    write_weights,
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


def text(cfg: dict[str, Any]) -> str:
    return yaml.safe_dump(cfg, sort_keys=False)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([{"weight": 9}, {"weight": 1}, {}], [9, 1, 0]),
        # 1.108: every deployment's weight counts, a missing one as 0, whichever comes first
        ([{}, {"weight": 5}], [0, 5]),
        ([{"weight": 0}, {"weight": 3}], [0, 3]),
        ([{"weight": 0}, {"weight": 0, "rpm": 3}, {"rpm": 1}], [0, 3, 1]),  # no weight > 0: rpm decides
        ([{"tpm": 10}, {"tpm": 30}], [10, 30]),
        ([{}, {}], [1, 1]),  # nothing set: uniform
    ],
)
def test_shuffle_weights_as_litellm_computes_them(params: list[dict[str, Any]], expected: list[float]) -> None:
    entries = [deployment(str(i), **p) for i, p in enumerate(params)]
    assert shuffle_weights(entries) == expected


def test_state_is_percent_of_the_two_arms() -> None:
    cfg = config(deployment("src", weight=1), deployment("dst", weight=3), deployment("other", "embed", weight=50))
    got = state(cfg, make_spec())
    assert (got.source_weight, got.target_weight) == (25, 75)
    only_source = state(config(deployment("src")), make_spec())
    assert (only_source.source_weight, only_source.target_weight, only_source.target_present) == (100, 0, False)


@pytest.mark.parametrize(
    ("cfg", "reason"),
    [
        (config(deployment("src", model_name="embed")), "no entry with model_name 'chat'"),
        (config(deployment("else")), "has model_info.id 'src'"),
        # no weight > 0 anywhere: uniform, so an unweighted third deployment takes a share
        (config(deployment("else", weight=0), deployment("src")), "'else' of model group 'chat' takes 50%"),
        (config(deployment("src", weight="heavy")), "not a number"),
        (config(deployment("src"), deployment("src")), "used by 2 deployments"),
        # a third deployment taking traffic: the split would not be the real one
        (config(deployment("src", weight=2), deployment("dst", weight=1), deployment("x", weight=1)), "'x' of model"),
        (config(deployment("src", weight=2), deployment(None, weight=1)), "#2 without model_info.id"),
        # ids are unique across the whole config: the target's id in another group
        (config(deployment("src", weight=1), deployment("dst", "embed")), "'dst' is used by 1 deployments"),
        # settings under which weight does not decide
        (config(deployment("src"), router_settings={"routing_strategy": "latency-based-routing"}), "latency-based"),
        (config(deployment("src"), router_settings={"enable_pre_call_checks": True}), "enable_pre_call_checks"),
        (config(deployment("src"), router_settings={"optional_pre_call_checks": ["x"]}), "optional_pre_call"),
        (config(deployment("src"), router_settings={"enable_tag_filtering": True}), "enable_tag_filtering"),
        (config(deployment("src"), router_settings={"model_group_alias": {"chat": "gpt"}}), "model_group_alias"),
        (config(deployment("src"), router_settings={"routing_groups": [{"x": 1}]}), "routing_groups"),
        (config(deployment("src"), router_settings={"made_up_setting": 1}), "made_up_setting is not a setting"),
        (config(deployment("src", order=1)), "litellm_params.order"),
        (config(deployment("src", max_budget=5)), "litellm_params.max_budget"),
    ],
)
def test_state_errors(cfg: dict[str, Any], reason: str) -> None:
    with pytest.raises(RouteError, match=reason):
        state(cfg, make_spec())


def test_known_router_settings_do_not_block() -> None:
    cfg = config(
        deployment("src"),
        router_settings={"routing_strategy": "simple-shuffle", "num_retries": 2, "fallbacks": [{"chat": ["x"]}]},
    )
    assert state(cfg, make_spec()).error is None


def test_the_source_key_read_elsewhere_is_reported() -> None:
    shared = config(
        deployment("src", api_key="os.environ/OPENAI_API_KEY"),
        deployment("e", "embed", api_key="os.environ/OPENAI_API_KEY"),
    )
    assert state(shared, make_spec()).source_key_shared
    alone = config(deployment("src", api_key="os.environ/OPENAI_API_KEY"), deployment("e", "embed", api_key="k"))
    assert not state(alone, make_spec()).source_key_shared


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "no data key 'config.yaml'"),
        ("- a list", "not a YAML mapping"),
        ("general_settings: {}", "has no model_list"),
        ("model_list: {}", "has no model_list"),
        ("a: &a [*a]\nmodel_list: []", "recursive alias"),
        ("x" * (1 << 20) + ": 1", "larger than"),
    ],
)
def test_parse_config_errors(raw: str | None, reason: str) -> None:
    with pytest.raises(RouteError, match=reason):
        parse_config(raw, "config.yaml")


def test_an_alias_bomb_is_refused_in_milliseconds() -> None:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 11)]
    bomb = "\n".join(lines) + "\nmodel_list: []\n"
    started = time.perf_counter()
    with pytest.raises(RouteError, match="expands to more than"):
        parse_config(bomb, "config.yaml")
    assert time.perf_counter() - started < 2.0


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(RouteError, match="nested"):
        parse_config("a: " + "[" * 100 + "]" * 100 + "\nmodel_list: []", "config.yaml")


def test_yaml_errors_give_the_position_but_never_quote_the_file() -> None:
    raw = "model_list:\n  - model_name: chat\n    litellm_params: {api_key: sk-live-123, model: [\n"
    with pytest.raises(RouteError) as raised:
        parse_config(raw, "config.yaml")
    assert "line" in str(raised.value) and "sk-live-123" not in str(raised.value)


HAND_WRITTEN = """\
# DO NOT EDIT BY HAND: managed by the platform team
x-defaults: &defaults
  api_key: os.environ/OPENAI_API_KEY   # rotated monthly
  timeout: 30
model_list:
  - model_name: chat
    litellm_params:
      <<: *defaults
      model: openai/gpt-4o
      weight: 100
    model_info: {id: src, mode: chat}
  - model_name: embed
    litellm_params: {model: "openai/text-embedding-3-small", api_key: 'os.environ/EMBED_KEY'}
general_settings:
  mode: 0300
  enabled: yes
  list: [a, b]
"""


def test_a_write_keeps_comments_anchors_merge_keys_flow_style_and_scalars() -> None:
    out = write_weights(HAND_WRITTEN, make_spec(apiBase="https://anthropic.example"), 90, 10)
    for kept in (
        "# DO NOT EDIT BY HAND: managed by the platform team",
        "  api_key: os.environ/OPENAI_API_KEY   # rotated monthly",
        "x-defaults: &defaults",
        "      <<: *defaults",
        "    model_info: {id: src, mode: chat}",
        """    litellm_params: {model: "openai/text-embedding-3-small", api_key: 'os.environ/EMBED_KEY'}""",
        "  mode: 0300",
        "  enabled: yes",
        "  list: [a, b]",
    ):
        assert kept in out.splitlines(), kept
    assert "      weight: 90" in out.splitlines()
    read = yaml.safe_load(out)
    assert read["general_settings"]["mode"] == 192 and read["general_settings"]["enabled"] is True  # as LiteLLM reads
    assert read["model_list"][1] == {
        "model_name": "chat",
        "litellm_params": {
            "model": "anthropic/claude-sonnet-4-5",
            "api_base": "https://anthropic.example",
            "api_key": "os.environ/ANTHROPIC_API_KEY",
            "weight": 10,
        },
        "model_info": {"id": "dst"},
    }
    # Only the weight line changed and the target entry was added: every original line is still there, in order.
    rest = iter(out.splitlines())
    assert all(line in rest for line in HAND_WRITTEN.splitlines() if line != "      weight: 100")


def test_an_unchanged_round_trip_is_byte_identical() -> None:
    once = write_weights(HAND_WRITTEN, make_spec(), 90, 10)
    assert write_weights(once, make_spec(), 90, 10) == once


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("model_list:\n- model_name: chat\n  model_name: chat\n  model_info: {id: src}\n", "cannot be edited safely"),
        # litellm_params shared by alias with another group: setting a weight would change both
        (
            "model_list:\n- model_name: chat\n  litellm_params: &p {model: openai/gpt-4o}\n  model_info: {id: src}\n"
            "- model_name: embed\n  litellm_params: *p\n",
            "would change more than the weights",
        ),
        ("model_list:\n-   model_name: chat\n    model_info:\n       id: src\n", "without reformatting"),
    ],
)
def test_files_the_operator_cannot_edit_faithfully_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(RouteError, match=reason):
        write_weights(raw, make_spec(), 90, 10)


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("openai", "gpt-4o-mini", "openai/gpt-4o-mini"),
        (
            "together_ai",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
        ),
        ("vllm", "meta-llama/Llama-3.1-8B", "hosted_vllm/meta-llama/Llama-3.1-8B"),
        ("anthropic", "anthropic/claude-x", "anthropic/claude-x"),
    ],
)
def test_the_target_model_string_keeps_litellms_provider_prefix(provider: str, model: str, expected: str) -> None:
    out = write_weights(text(config(deployment("src"))), make_spec(provider=provider, model=model), 50, 50)
    assert yaml.safe_load(out)["model_list"][1]["litellm_params"]["model"] == expected


def test_new_target_entry_uses_the_configured_gateway_key() -> None:
    spec = make_spec(credentials={"secretName": "anthropic", "gatewayKey": "CLAUDE_KEY"})
    entry = yaml.safe_load(write_weights(text(config(deployment("src"))), spec, 50, 50))["model_list"][1]
    assert entry["litellm_params"]["api_key"] == "os.environ/CLAUDE_KEY"


def test_write_refuses_what_litellm_would_not_honour() -> None:
    spec = make_spec()
    with pytest.raises(RouteError, match="to send 90% to"):
        write_weights(text(config(deployment("dst"))), spec, 90, 10)
    with pytest.raises(RouteError, match="sum to 100"):
        write_weights(text(config(deployment("src"))), spec, 0, 0)
    with pytest.raises(RouteError, match="'x' of model group"):  # a third deployment with a weight
        write_weights(text(config(deployment("src"), deployment("x", weight=5))), spec, 90, 10)
    # A deployment without a weight counts 0 once weights are set: accounted for.
    out = write_weights(text(config(deployment("x"), deployment("src"))), spec, 90, 10)
    assert (state(yaml.safe_load(out), spec).source_weight, state(yaml.safe_load(out), spec).target_weight) == (90, 10)
    assert (
        yaml.safe_load(write_weights(text(config(deployment("dst"))), spec, 0, 100))["model_list"][0]["litellm_params"][
            "weight"
        ]
        == 100
    )


def test_remove_source_keeps_a_target_that_takes_traffic() -> None:
    spec = make_spec()
    cfg = config(deployment("src", weight=0), deployment("dst", weight=100), deployment(None, "embed"))
    out = remove_source_text(text(cfg), spec)
    assert out is not None
    assert [(e.get("model_info") or {}).get("id") for e in yaml.safe_load(out)["model_list"]] == ["dst", None]
    with pytest.raises(RouteError, match="target would take no traffic"):
        remove_source_text(text(config(deployment("src", weight=100))), spec)
    assert remove_source_text(text(config(deployment("dst"))), spec) is None


def served(*deployments: tuple[str, int | None]) -> list[dict[str, Any]]:
    return [{"model_name": "chat", "model_info": {"id": i}, "litellm_params": {"weight": w}} for i, w in deployments]


def test_what_the_proxy_serves_is_compared_with_what_was_written() -> None:
    spec = make_spec()
    written = config(deployment("src", weight=90), deployment("dst", weight=10))
    assert served_problem(written, spec, served(("src", 90), ("dst", 10))) == ("", False)
    problem, fatal = served_problem(written, spec, served(("src", 90)))  # loaded this config, skipped the target
    assert fatal and "did not create deployment 'dst'" in problem
    problem, fatal = served_problem(written, spec, served(("src", 100)))  # still the old config: rolling
    assert not fatal and "yet" in problem


def test_config_hash_is_the_sha256_of_the_text() -> None:
    raw = text(config(deployment("src", weight=1)))
    assert config_hash(raw) != config_hash(raw + "\n#")


def test_libyaml_and_the_pure_loader_read_the_same_config() -> None:
    from provider_migration.routing import litellm

    text = (
        "model_list:\n"
        "  - model_name: chat\n    litellm_params: {model: openai/gpt-4o, weight: 0300, api_key: os.environ/K}\n"
        "  - &dst\n    model_name: chat\n    litellm_params:\n      model: anthropic/claude\n      weight: 1_0\n"
        "router_settings: {routing_strategy: simple-shuffle, enable_pre_call_checks: no}\n"
        "general_settings: {stamp: 2026-11-26, ratio: .5, flag: yes, nothing: ~}\n"
    )
    fast = parse_config(text, "config.yaml").data
    pure = yaml.load(text, Loader=yaml.SafeLoader)
    assert fast == pure and litellm._fast_loader_copes(text) is (litellm._FAST_LOADER is not yaml.SafeLoader)


@pytest.mark.parametrize("depth", [65, 100_000])
def test_nesting_libyaml_cannot_compose_safely_is_refused_by_the_pure_loader(depth: int) -> None:
    # libyaml's composer recurses in C: 100,000 levels would crash the process instead of raising.
    with pytest.raises(RouteError, match="nested"):
        parse_config("model_list: " + "[" * depth + "]" * depth, "config.yaml")


def test_remove_target_takes_back_the_entry_it_added_and_keeps_the_file_as_it_was() -> None:
    spec = make_spec(apiBase="https://anthropic.example")
    added = write_weights(HAND_WRITTEN, spec, 100, 0)  # the weight-0 target entry of the first write
    assert added != HAND_WRITTEN
    assert remove_target_text(added, spec) == HAND_WRITTEN  # comments, anchors and layout kept
    assert remove_target_text(HAND_WRITTEN, spec) is None  # already gone: nothing to write


def test_remove_target_refuses_while_the_target_takes_traffic_or_the_source_is_gone() -> None:
    spec = make_spec()
    with pytest.raises(RouteError, match="refusing to remove 'dst'"):
        remove_target_text(text(config(deployment("src", weight=50), deployment("dst", weight=50))), spec)
    with pytest.raises(RouteError, match="refusing to remove 'dst'"):
        remove_target_text(text(config(deployment("dst", weight=0), deployment(None, "embed"))), spec)
    out = remove_target_text(text(config(deployment("src", weight=100), deployment("dst", weight=0))), spec)
    assert out is not None and [e["model_info"]["id"] for e in yaml.safe_load(out)["model_list"]] == ["src"]
