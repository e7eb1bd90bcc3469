"""HTTPRoute and AIGatewayRoute: the operator reports a split only when it is the real one, and writes only a
rule it can move whole; anything else is a RouteState error (Blocked, RouteInvalid) before any write."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.routing.aigatewayroute import AIGatewayRouteAdapter
from provider_migration.routing.errors import RouteError
from provider_migration.routing.httproute import HTTPRouteAdapter
from provider_migration.routing.kube import Kind


class FakeKube:
    namespace = "team"

    def __init__(self, rules: list[dict[str, Any]]) -> None:
        self.obj = {"metadata": {"name": "r", "resourceVersion": "1"}, "spec": {"rules": rules}}
        self.writes: list[dict[str, Any]] = []

    def get(self, kind: Kind, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.obj)

    def apply(self, kind: Kind, name: str, fields: dict[str, Any], resource_version: str | None = None) -> None:
        self.writes.append(fields)


def adapter(kind: str, rules: list[dict[str, Any]]) -> tuple[Any, FakeKube]:
    spec = ProviderMigrationSpec.model_validate(
        {
            "route": {"kind": kind, "name": "r", "modelName": "chat"},
            "source": {"provider": "openai", "model": "gpt-4o", "backend": "src"},
            "target": {"provider": "anthropic", "model": "claude", "backend": "dst"},
        }
    )
    cls = HTTPRouteAdapter if kind == "HTTPRoute" else AIGatewayRouteAdapter
    route = cls(None, "team", spec)  # type: ignore[arg-type]
    kube = FakeKube(rules)
    route.kube = kube  # type: ignore[assignment]  # a fake with the same get/apply
    return route, kube


def ref(name: str, weight: int | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, **extra}
    if weight is not None:
        out["weight"] = weight
    return out


CASES = {
    # a third weighted backendRef: "All traffic on the target" while it still served a third
    "third-backend": ([{"backendRefs": [ref("src", 1), ref("dst", 1), ref("other", 1)]}], "also sends traffic to"),
    "third-backend-default-weight": ([{"backendRefs": [ref("src", 90), ref("other")]}], "also sends traffic to"),
    # one name on two ports: only the first was weighted, both dropped at cleanup
    "one-name-two-ports": (
        [{"backendRefs": [ref("src", 50, port=8000), ref("src", 50, port=8001)]}],
        "2 backendRefs named 'src'",
    ),
    # the source in two rules: only the first migrated, yet its key decommissioned
    "source-in-two-rules": (
        [{"backendRefs": [ref("src", 100)]}, {"matches": [{"path": {"value": "/v2"}}], "backendRefs": [ref("src")]}],
        "also serves spec.rules[1]",
    ),
}


@pytest.mark.parametrize("kind", ["HTTPRoute", "AIGatewayRoute"])
@pytest.mark.parametrize("case", CASES)
def test_a_split_the_operator_cannot_own_is_an_error_and_never_written(kind: str, case: str) -> None:
    rules, expected = CASES[case]
    route, kube = adapter(kind, rules)
    state = route.read()
    assert state.found and state.error is not None and expected in state.error
    for write in (lambda: route.apply_weights(90, 10, 0), lambda: route.apply_weights(0, 100, 0), route.remove_source):
        with pytest.raises(RouteError) as refused:
            write()
        assert expected in str(refused.value)
    assert kube.writes == []


def test_a_third_backend_at_weight_0_or_in_a_fallback_tier_takes_no_share_and_is_left_alone() -> None:
    route, kube = adapter("HTTPRoute", [{"backendRefs": [ref("src", 100), ref("spare", 0)]}])
    assert route.read().error is None
    route.apply_weights(90, 10, 0)
    written = kube.writes[-1]["spec"]["rules"][0]["backendRefs"]
    assert {r["name"]: r.get("weight") for r in written} == {"src": 90, "spare": 0, "dst": 10}

    route, kube = adapter("AIGatewayRoute", [{"backendRefs": [ref("src", 1), ref("fallback", 5, priority=1)]}])
    assert route.read().error is None


def test_the_target_elsewhere_is_no_conflict() -> None:
    route, _ = adapter("HTTPRoute", [{"backendRefs": [ref("src", 100)]}, {"backendRefs": [ref("dst", 1)]}])
    state = route.read()
    assert state.error is None and state.source_weight == 100


@pytest.mark.parametrize("kind", ["HTTPRoute", "AIGatewayRoute"])
def test_remove_target_drops_only_the_weight_0_target_backendref(kind: str) -> None:
    route, kube = adapter(kind, [{"name": "x", "backendRefs": [ref("src", 100), ref("spare", 0), ref("dst", 0)]}])
    route.remove_target()
    assert kube.writes[-1]["spec"]["rules"] == [{"name": "x", "backendRefs": [ref("src", 100), ref("spare", 0)]}]

    route, kube = adapter(kind, [{"backendRefs": [ref("src", 100)]}])
    route.remove_target()  # already gone: idempotent, nothing written
    assert kube.writes == []

    for rules in ([{"backendRefs": [ref("src", 50), ref("dst", 50)]}], [{"backendRefs": [ref("dst", 0)]}]):
        route, kube = adapter(kind, rules)
        with pytest.raises(RouteError, match="refusing to remove 'dst'"):
            route.remove_target()
        assert kube.writes == []
