"""HTTPRoute / AIGatewayRoute rule selection, weights, mirroring and editing; percent arithmetic."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.routing import aigatewayroute, httproute
from provider_migration.routing.errors import RouteError
from provider_migration.routing.weights import check_request, to_percent

SRC, DST = "src", "dst"


def rule(*refs: dict[str, Any], name: str | None = None, model: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"backendRefs": list(refs), **extra}
    if name:
        out["name"] = name
    if model:
        out["matches"] = [{"headers": [{"type": "Exact", "name": "x-ai-eg-model", "value": model}]}]
    return out


def spec(model: str = "claude-sonnet-4-5") -> ProviderMigrationSpec:
    return ProviderMigrationSpec.model_validate(
        {
            "route": {"kind": "AIGatewayRoute", "name": "r", "modelName": "chat"},
            "source": {"provider": "openai", "model": "gpt-4o", "backend": SRC},
            "target": {"provider": "anthropic", "model": model, "backend": DST},
        }
    )


# --- percent ---


@given(st.floats(0, 1e6), st.floats(0, 1e6))
def test_to_percent_sums_to_100_unless_both_are_zero(source: float, target: float) -> None:
    pct = to_percent(source, target)
    assert all(0 <= p <= 100 for p in pct)
    assert sum(pct) == (0 if source + target == 0 else 100)
    if source > target:
        assert pct[0] >= pct[1]


@pytest.mark.parametrize(
    ("weights", "pct"), [((9, 1), (90, 10)), ((1, 1), (50, 50)), ((1, 2), (33, 67)), ((0, 5), (0, 100))]
)
def test_to_percent_examples(weights: tuple[int, int], pct: tuple[int, int]) -> None:
    assert to_percent(*weights) == pct


@pytest.mark.parametrize(
    ("request_", "mirroring", "reason"),
    [
        ((0, 0, 0), True, "sum to 100"),
        ((110, -10, 0), True, "sum to 100"),
        ((100, 0, 101), True, "percent"),
        ((100, 0, 5), False, "cannot mirror"),
    ],
)
def test_check_request_rejects(request_: tuple[int, int, int], mirroring: bool, reason: str) -> None:
    with pytest.raises(RouteError, match=reason):
        check_request(*request_, supports_mirroring=mirroring)


# --- HTTPRoute ---


def test_httproute_rule_selection() -> None:
    rules = [rule({"name": "other"}), rule({"name": SRC}, name="a"), rule({"name": SRC}, name="chat")]
    assert httproute.select_rule(rules, None, SRC, DST) == 1  # the first rule carrying the source
    assert httproute.select_rule(rules, "chat", SRC, DST) == 2  # the named rule wins
    assert httproute.select_rule([rule({"name": "x"}), rule({"name": DST})], None, SRC, DST) == 1  # after removal
    with pytest.raises(RouteError, match="no rule named 'b'"):
        httproute.select_rule(rules, "b", SRC, DST)
    with pytest.raises(RouteError, match="no rule has a backendRef named 'src'"):
        httproute.select_rule([rule({"name": "x"})], None, SRC, DST)


@pytest.mark.parametrize(
    ("mirror", "percent"),
    [({"percent": 20}, 20), ({"fraction": {"numerator": 1, "denominator": 4}}, 25), ({}, 100)],
)
def test_httproute_mirror_percent(mirror: dict[str, Any], percent: int) -> None:
    flt = {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": DST, "port": 443}, **mirror}}
    assert httproute.mirror_percent(rule({"name": SRC}, filters=[flt]), DST) == percent
    assert httproute.mirror_percent(rule({"name": SRC}, filters=[flt]), "another") == 0


def test_httproute_edit_adds_target_like_source_and_manages_the_mirror() -> None:
    keep = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": [{"name": "x", "value": "y"}]}}
    source_ref = {"name": SRC, "group": "", "kind": "Service", "port": 443, "filters": [keep]}
    edited = httproute.edit_rule(rule(source_ref, filters=[keep]), SRC, DST, (90, 10), 30)
    assert edited["backendRefs"][1] == {"name": DST, "group": "", "kind": "Service", "port": 443, "weight": 10}
    assert edited["backendRefs"][0]["weight"] == 90
    assert edited["filters"] == [
        keep,
        {
            "type": "RequestMirror",
            "requestMirror": {"backendRef": {"group": "", "kind": "Service", "name": DST, "port": 443}, "percent": 30},
        },
    ]
    again = httproute.edit_rule(edited, SRC, DST, (50, 50), 0)
    assert again["filters"] == [keep] and [r["weight"] for r in again["backendRefs"]] == [50, 50]
    no_filters = httproute.edit_rule(rule({"name": SRC, "port": 80}), SRC, DST, (100, 0), 0)
    assert "filters" not in no_filters


# --- AIGatewayRoute ---


def test_aigatewayroute_rule_selection() -> None:
    rules = [
        rule({"name": SRC}),  # carries the source but serves other models
        rule({"name": "x"}, model="chat"),
        rule({"name": SRC}, model="chat"),
        rule({"name": SRC}, name="named"),
    ]
    select = aigatewayroute.select_rule
    assert select(rules, None, "chat", SRC, DST) == 2  # the model's rule that carries an arm
    assert select(rules[:2], None, "chat", SRC, DST) == 1  # the model's rule even without the arm (an error later)
    assert select(rules, "named", "chat", SRC, DST) == 3
    assert select(rules, None, "embed", SRC, DST) == 0  # no rule for the model: the first carrying the source
    regex = [
        rule({"name": "x"}),
        {
            "matches": [{"headers": [{"type": "RegularExpression", "name": "x-ai-eg-model", "value": "chat"}]}],
            "backendRefs": [{"name": SRC}],
        },
    ]
    assert select(regex, None, "chat", SRC, DST) == 1  # a regex is not an exact model match; the source decides
    with pytest.raises(RouteError, match="x-ai-eg-model: chat"):
        select([rule({"name": "x"})], None, "chat", SRC, DST)


def test_aigatewayroute_effective_weight_counts_only_the_lowest_priority_tier() -> None:
    r = rule({"name": SRC, "weight": 3}, {"name": DST, "weight": 5, "priority": 1})
    assert aigatewayroute.effective_weight(r, r["backendRefs"][0]) == 3
    assert aigatewayroute.effective_weight(r, r["backendRefs"][1]) == 0
    assert aigatewayroute.effective_weight(r, None) == 0
    defaulted = rule({"name": SRC})
    assert aigatewayroute.effective_weight(defaulted, defaulted["backendRefs"][0]) == 1


def test_aigatewayroute_edit_adds_target_in_the_source_tier() -> None:
    source_ref = {"name": SRC, "namespace": "llm", "priority": 0, "modelNameOverride": "gpt-4o", "weight": 1}
    edited = aigatewayroute.edit_rule(rule(source_ref), spec(), (90, 10))
    assert edited["backendRefs"] == [
        {**source_ref, "weight": 90},
        {"name": DST, "namespace": "llm", "priority": 0, "modelNameOverride": "claude-sonnet-4-5", "weight": 10},
    ]
    fallback = rule({"name": SRC}, {"name": DST, "priority": 2})
    assert aigatewayroute.edit_rule(fallback, spec(), (50, 50))["backendRefs"][1] == {
        "name": DST,
        "priority": 0,
        "weight": 50,
    }
    same_name = aigatewayroute.edit_rule(rule({"name": SRC}), spec(model="chat"), (50, 50))
    assert "modelNameOverride" not in same_name["backendRefs"][1]
