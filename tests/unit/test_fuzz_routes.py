"""Fuzzing malformed routing objects: whatever a LiteLLM ConfigMap, HTTPRoute or AIGatewayRoute holds, the
adapters read it as a RouteState (an error with a reason, never an exception), decide() then blocks the
migration with that reason, and the write paths refuse with a RouteError before writing anything.

The adapters run for real; only their I/O wrapper (routing.kube.Kube: get and apply) is replaced by a dict
that records applies, so "nothing overwritten" is observed, not assumed.
"""

from __future__ import annotations

import math
import os
from datetime import timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client
from rollout_world import T0

from provider_migration.api.reasons import BlockedReason, ProgressReason
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import HistoryEntry, Phase, ProviderMigrationStatus
from provider_migration.core.decide import decide
from provider_migration.core.observations import Observations, RouteState, SecretsState
from provider_migration.routing import litellm
from provider_migration.routing.aigatewayroute import AIGatewayRouteAdapter
from provider_migration.routing.errors import RouteError
from provider_migration.routing.httproute import HTTPRouteAdapter
from provider_migration.routing.kube import DEPLOYMENT, Kind
from provider_migration.routing.litellm import LiteLLMConfigMapRoute

SRC, DST, MODEL = "openai-gpt-4o", "anthropic-claude", "chat"


def spec(kind: str) -> ProviderMigrationSpec:
    return ProviderMigrationSpec.model_validate(
        {
            "route": {"kind": kind, "name": "route", "modelName": MODEL},
            "source": {"provider": "openai", "model": "gpt-4o", "backend": SRC},
            "target": {"provider": "anthropic", "model": "claude-sonnet-4-5", "backend": DST},
            "strategy": {"type": "Phased", "steps": [{"weight": 10}, {"weight": 50}, {"weight": 100}]},
        }
    )


class FakeKube:
    """routing.kube.Kube's two calls over a dict; records every apply."""

    namespace = "ns"

    def __init__(self, objects: dict[str, Any]) -> None:
        self.objects = objects
        self.applied: list[tuple[str, str]] = []

    def get(self, kind: Kind, name: str) -> dict[str, Any] | None:
        return self.objects.get(kind.kind)

    def apply(self, kind: Kind, name: str, fields: dict[str, Any], resource_version: str | None = None) -> None:
        self.applied.append((kind.kind, name))


def adapter_for(kind: str, obj: dict[str, Any]) -> Any:
    cls: dict[str, Any] = {
        "ConfigMap": LiteLLMConfigMapRoute,
        "HTTPRoute": HTTPRouteAdapter,
        "AIGatewayRoute": AIGatewayRouteAdapter,
    }
    adapter = cls[kind](client.ApiClient(), "ns", spec(kind))  # no request is made by constructing it
    objects = {kind: obj, DEPLOYMENT.kind: {"metadata": {"name": "litellm"}}}
    adapter.kube = FakeKube(objects)
    return adapter


# --- hostile values ----------------------------------------------------------------------------------

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["10", "abc", "", "-5", "1e3", ".nan", [], {}, [1, 2], {"a": 1}]),
)
weights = st.one_of(st.integers(0, 100), junk)


def litellm_entry(backend: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    params = st.fixed_dictionaries(
        {}, optional={"model": st.text(max_size=10), "weight": weights, "rpm": weights, "tpm": weights}
    )
    entry = st.fixed_dictionaries(
        {},
        optional={
            "model_name": st.one_of(st.just(MODEL), junk),
            "litellm_params": st.one_of(params, junk),
            "model_info": st.one_of(st.fixed_dictionaries({"id": backend}), junk),
        },
    )
    return st.one_of(entry, junk)


backends = st.one_of(st.sampled_from([SRC, DST, "other"]), junk)
litellm_docs = st.one_of(
    st.fixed_dictionaries({"model_list": st.lists(litellm_entry(backends), max_size=5)}),
    st.fixed_dictionaries({}, optional={"model_list": junk, "router_settings": junk}),
    st.lists(litellm_entry(backends), max_size=3),  # a YAML list instead of a mapping
    junk,
)
litellm_texts = st.one_of(
    litellm_docs.map(lambda doc: yaml.safe_dump(doc, allow_unicode=True)),
    st.text(max_size=200),
    st.sampled_from(
        [
            "model_list: [",
            "model_list:\n  - model_name: chat\n   bad: indent",
            "\t- x",
            "key: *undefined_alias",
            "!!python/object:os.system {}",
            "model_list:\n- {model_name: chat, litellm_params: {weight: .nan}, model_info: {id: openai-gpt-4o}}",
            "model_list:\n- {model_name: chat, litellm_params: {weight: .inf}, model_info: {id: openai-gpt-4o}}\n"
            "- {model_name: chat, litellm_params: {weight: 1}, model_info: {id: anthropic-claude}}",
            "model_list:\n- {model_name: chat, litellm_params: {weight: 1e400}, model_info: {id: openai-gpt-4o}}",
            "[" * 1200 + "]" * 1200,
            "a:\n" + "  " * 1200 + "b",
        ]
    ),
)
ref = st.fixed_dictionaries(
    {},
    optional={"name": backends, "weight": weights, "priority": st.one_of(st.integers(0, 3), junk), "port": junk},
)
mirror_filter = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["RequestMirror", "RequestHeaderModifier"]),
        "requestMirror": st.fixed_dictionaries(
            {"backendRef": st.fixed_dictionaries({"name": backends})},
            optional={
                "percent": st.one_of(st.integers(0, 100), junk),
                "fraction": st.one_of(
                    st.fixed_dictionaries({}, optional={"numerator": junk, "denominator": junk}), junk
                ),
            },
        ),
    }
)
header_match = st.one_of(
    st.just({"headers": [{"type": "Exact", "name": "x-ai-eg-model", "value": MODEL}]}),
    st.fixed_dictionaries({}, optional={"headers": st.one_of(st.lists(junk, max_size=2), junk)}),
    junk,
)
rule = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.one_of(st.just("main"), junk),
            "backendRefs": st.one_of(st.lists(st.one_of(ref, junk), max_size=4), junk),
            "filters": st.one_of(st.lists(st.one_of(mirror_filter, junk), max_size=2), junk),
            "matches": st.one_of(st.lists(header_match, max_size=1), junk),
        },
    ),
    junk,
)
rules_objects = st.one_of(
    st.fixed_dictionaries({"spec": st.fixed_dictionaries({"rules": st.lists(rule, max_size=3)})}),
    st.fixed_dictionaries({}, optional={"spec": st.one_of(st.fixed_dictionaries({}, optional={"rules": junk}), junk)}),
)


# --- what must hold ------------------------------------------------------------------------------------


def progressing_at_10() -> ProviderMigrationStatus:
    """A migration mid-rollout at step 0 (10 %), last decided a minute ago."""
    started = T0 - timedelta(minutes=1)
    return ProviderMigrationStatus(
        phase=Phase.PROGRESSING,
        current_step=0,
        current_weight=10,
        step_started_at=started,
        started_at=started,
        history=[
            HistoryEntry(time=started, phase=Phase.PROGRESSING, step=0, weight=10, reason=ProgressReason.STEP_ADVANCED)
        ],
    )


def check_read(adapter: Any, kind: str) -> RouteState:
    state = adapter.read()  # never raises
    assert isinstance(state, RouteState) and state.found
    if state.error is not None:
        assert state.error.strip(), "an unreadable route says why"
        return state
    assert 0 <= state.source_weight <= 100 and 0 <= state.target_weight <= 100 and 0 <= state.mirror_percent <= 100
    assert state.source_weight + state.target_weight in (0, 100)
    return state


def check_blocked_and_untouched(adapter: Any, kind: str, state: RouteState) -> None:
    s = spec(kind)
    decision = decide(s, progressing_at_10(), Observations(generation=1, route=state, secrets=SecretsState()), T0)
    if state.error is not None or not state.source_present:
        after = decision.status
        assert after.phase == Phase.BLOCKED and after.reason in (
            BlockedReason.ROUTE_INVALID,
            BlockedReason.SOURCE_NOT_IN_ROUTE,
        )
        assert after.message and after.message.strip()
        assert not decision.effects, "a blocked migration writes nothing"
    if state.error is not None:
        with pytest.raises(RouteError):
            adapter.apply_weights(50, 50, 0)
        with pytest.raises(RouteError):
            adapter.remove_source()
        assert adapter.kube.applied == [], "a malformed route is never overwritten"


FUZZ = settings(
    max_examples=int(os.environ.get("PMO_FUZZ_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(text=litellm_texts)
def test_any_litellm_config_is_read_or_refused_with_a_reason(text: str) -> None:
    adapter = adapter_for("ConfigMap", {"metadata": {"resourceVersion": "1"}, "data": {"config.yaml": text}})
    state = check_read(adapter, "ConfigMap")
    check_blocked_and_untouched(adapter, "ConfigMap", state)


@FUZZ
@given(obj=rules_objects, kind=st.sampled_from(["HTTPRoute", "AIGatewayRoute"]))
def test_any_rules_route_is_read_or_refused_with_a_reason(obj: dict[str, Any], kind: str) -> None:
    adapter = adapter_for(kind, {"metadata": {"resourceVersion": "1"}, **obj})
    state = check_read(adapter, kind)
    check_blocked_and_untouched(adapter, kind, state)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("model_list: [", "not valid YAML"),
        ("- model_name: chat", "not a YAML mapping"),
        ("router_settings: {}", "no model_list"),
        (yaml.safe_dump({"model_list": [{"model_name": "chat", "model_info": {"id": "x"}}]}), SRC),
        (yaml.safe_dump({"model_list": [{"model_name": "embed", "model_info": {"id": SRC}}]}), "model_name 'chat'"),
        (
            yaml.safe_dump({"model_list": [{"model_name": "chat", "litellm_params": {"weight": "10"},
                                            "model_info": {"id": SRC}}]}),
            "not a number",
        ),
        (
            yaml.safe_dump({"model_list": [{"model_name": "chat", "litellm_params": {"weight": -5},
                                            "model_info": {"id": SRC}}]}),
            "not a number >= 0",
        ),
        (
            "model_list:\n- {model_name: chat, litellm_params: {weight: .nan}, model_info: {id: openai-gpt-4o}}",
            "not a number",
        ),
        ("[" * 1200 + "]" * 1200, "nested"),
    ],
)  # fmt: skip
def test_malformed_litellm_configs_block_with_their_reason(text: str, reason: str) -> None:
    adapter = adapter_for("ConfigMap", {"metadata": {"resourceVersion": "1"}, "data": {"config.yaml": text}})
    state = adapter.read()
    assert state.error is not None and reason in state.error
    check_blocked_and_untouched(adapter, "ConfigMap", state)


def _route(*refs: Any, filters: Any = None) -> dict[str, Any]:
    rule_: dict[str, Any] = {"backendRefs": list(refs)}
    if filters is not None:
        rule_["filters"] = filters
    return {"metadata": {"resourceVersion": "1"}, "spec": {"rules": [rule_]}}


@pytest.mark.parametrize(
    ("kind", "obj", "reason"),
    [
        ("HTTPRoute", _route({"name": "other", "weight": 1}), f"backendRef named {SRC!r}"),
        ("HTTPRoute", {"metadata": {}, "spec": {}}, "spec.rules is empty"),
        ("HTTPRoute", _route({"name": SRC, "weight": "10"}), "weight"),
        ("HTTPRoute", _route({"name": SRC, "weight": -1}, {"name": DST, "weight": 2}), "weight"),
        ("HTTPRoute", _route({"name": SRC, "weight": 1.5}), "weight"),
        ("AIGatewayRoute", _route({"name": SRC, "weight": "abc"}), "weight"),
        ("AIGatewayRoute", _route({"name": SRC, "priority": "high"}), "priority"),
        ("AIGatewayRoute", {"spec": {"rules": [{"matches": "0", "backendRefs": [{"name": SRC}]}]}}, "matches"),
        ("AIGatewayRoute", {"spec": {"rules": [{"matches": [{"headers": [7]}], "backendRefs": [{"name": SRC}]}]}},
         "header"),
        (
            "HTTPRoute",
            _route({"name": SRC}, filters=[{"type": "RequestMirror", "requestMirror": {
                "backendRef": {"name": DST}, "percent": "half"}}]),
            "percent",
        ),
        (
            "HTTPRoute",
            _route({"name": SRC}, filters=[{"type": "RequestMirror", "requestMirror": {
                "backendRef": {"name": DST}, "fraction": {"numerator": 1, "denominator": "x"}}}]),
            "fraction",
        ),
    ],
)  # fmt: skip
def test_malformed_rules_routes_block_with_their_reason(kind: str, obj: dict[str, Any], reason: str) -> None:
    adapter = adapter_for(kind, obj)
    state = adapter.read()
    assert state.error is not None and reason in state.error
    check_blocked_and_untouched(adapter, kind, state)


def test_weights_read_back_from_a_valid_route_are_percent() -> None:
    """The checks above can pass: a well-formed route is read, not refused."""
    adapter = adapter_for("HTTPRoute", _route({"name": SRC, "weight": 3}, {"name": DST, "weight": 1}))
    state = check_read(adapter, "HTTPRoute")
    assert state.error is None and (state.source_weight, state.target_weight) == (75, 25)
    adapter.apply_weights(50, 50, 0)
    assert adapter.kube.applied == [("HTTPRoute", "route")]
    assert not math.isnan(state.source_weight)


def _written_back(name: str) -> None:
    """The operator adds the target under this model name; LiteLLM must read back exactly that name."""
    spec = ProviderMigrationSpec.model_validate(
        {
            "route": {"kind": "ConfigMap", "name": "litellm", "modelName": name},
            "source": {"provider": "openai", "model": "gpt-4o", "backend": SRC},
            "target": {"provider": "anthropic", "model": "claude-sonnet-4-5", "backend": DST},
        }
    )
    config = {"model_list": [{"model_name": name, "litellm_params": {"weight": 100}, "model_info": {"id": SRC}}]}
    text = yaml.safe_dump(config, sort_keys=False)
    try:
        written = litellm.write_weights(text, spec, 90, 10)
    except RouteError as e:  # refusing is allowed (with a reason); writing something else is not
        assert "cannot" in str(e) or "would" in str(e), e
        return
    names = [e["model_name"] for e in yaml.safe_load(written)["model_list"]]
    assert names == [name, name]


@pytest.mark.parametrize("name", ["\x85", "chat\x85v2", "\u2028", "x\u2029", "ünïcödé", "a'b\"c", "\ufeffchat"])
def test_a_written_litellm_config_reads_back_what_was_written(name: str) -> None:
    """PyYAML's unicode output folds U+0085 (NEL) inside quoted scalars: LiteLLM would read another model name."""
    _written_back(name)


@FUZZ
@given(name=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30))
def test_any_model_name_survives_a_write(name: str) -> None:
    _written_back(name)
