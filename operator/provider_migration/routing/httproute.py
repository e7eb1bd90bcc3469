"""Gateway API HTTPRoute (gateway.networking.k8s.io/v1): weights of two backendRefs of one rule, and
mirroring to the target with a RequestMirror filter. Field ownership: see rules.py (`spec.rules` only)."""

from __future__ import annotations

import copy
from typing import Any

from .errors import RouteError
from .kube import HTTP_ROUTE
from .rules import Ref, Rule, RulesRoute, find_ref, first_with, refs, rule_named
from .weights import whole_number

REQUEST_MIRROR = "RequestMirror"
# Fields of the source backendRef that the added target backendRef shares (same kind of backend, same port).
SHARED_REF_FIELDS = ("group", "kind", "namespace", "port")


def mirrors_to(flt: dict[str, Any], backend: str) -> bool:
    spec = flt.get("requestMirror") or {}
    return flt.get("type") == REQUEST_MIRROR and (spec.get("backendRef") or {}).get("name") == backend


def mirror_percent(rule: Rule, backend: str) -> int:
    """Share of requests the rule mirrors to `backend`: `percent`, or `fraction`, default 100."""
    for flt in _filters(rule):
        if not mirrors_to(flt, backend):
            continue
        spec = flt["requestMirror"]
        if spec.get("percent") is not None:
            return whole_number(spec["percent"], "requestMirror percent", maximum=100)
        fraction = spec.get("fraction")
        if fraction is None:
            return 100
        if not isinstance(fraction, dict):
            raise RouteError("requestMirror fraction is not an object")
        denominator = whole_number(fraction.get("denominator", 100), "requestMirror fraction denominator")
        numerator = whole_number(fraction.get("numerator", 0), "requestMirror fraction numerator", denominator)
        if denominator == 0:
            raise RouteError("requestMirror fraction denominator is 0")
        return round(100 * numerator / denominator)
    return 0


def with_mirror(rule: Rule, target_ref: Ref, percent: int) -> Rule:
    """The rule with one RequestMirror filter to the target at `percent` (none when 0); other filters kept."""
    name = target_ref["name"]
    kept = [f for f in _filters(rule) if not mirrors_to(f, name)]
    if percent:
        mirror_ref = {k: target_ref[k] for k in ("group", "kind", "name", "namespace", "port") if k in target_ref}
        kept.append({"type": REQUEST_MIRROR, "requestMirror": {"backendRef": mirror_ref, "percent": percent}})
    if kept:
        rule["filters"] = kept
    else:
        rule.pop("filters", None)
    return rule


def target_ref_like(source_ref: Ref | None, target: str, weight: int) -> Ref:
    ref: Ref = {k: copy.deepcopy(source_ref[k]) for k in SHARED_REF_FIELDS if source_ref and k in source_ref}
    return {"name": target, **ref, "weight": weight}


def _filters(rule: Rule) -> list[dict[str, Any]]:
    value = rule.get("filters")
    return [f for f in value if isinstance(f, dict)] if isinstance(value, list) else []


def select_rule(rules: list[Rule], name: str | None, source: str, target: str) -> int:
    """The named rule, else the first rule carrying the source (or, once it is removed, the target)."""
    if name:
        return rule_named(rules, name)
    index = first_with(rules, source, target)
    if index is None:
        raise RouteError(f"no rule has a backendRef named {source!r}")
    return index


def edit_rule(rule: Rule, source: str, target: str, weights: tuple[int, int], mirror: int) -> Rule:
    """Set both weights (adding the target next to the source) and the mirror share, in place."""
    source_ref, target_ref = find_ref(rule, source), find_ref(rule, target)
    if source_ref is not None:
        source_ref["weight"] = weights[0]
    if target_ref is None:
        target_ref = target_ref_like(source_ref, target, weights[1])
        rule["backendRefs"] = [*refs(rule), target_ref]
    target_ref["weight"] = weights[1]
    return with_mirror(rule, target_ref, mirror)


class HTTPRouteAdapter(RulesRoute):
    kind = HTTP_ROUTE
    supports_mirroring = True

    def select(self, rules: list[Rule]) -> int:
        return select_rule(rules, self.spec.route.rule, self.source, self.target)

    def mirror_percent(self, rule: Rule) -> int:
        return mirror_percent(rule, self.target)

    def edit(self, rule: Rule, source: int, target: int, mirror: int) -> Rule:
        return edit_rule(rule, self.source, self.target, (source, target), mirror)
