"""Envoy AI Gateway AIGatewayRoute (aigateway.envoyproxy.io/v1beta1): weights of two backendRefs of one rule.

Only the lowest `priority` tier of a rule takes traffic (higher tiers are fallbacks), so a backendRef outside
that tier counts as weight 0, and the target is put in the source's tier. No mirroring. Field ownership: see
rules.py (`spec.rules` only).
"""

from __future__ import annotations

import copy

from provider_migration.api.spec import ProviderMigrationSpec

from .errors import RouteError
from .kube import AI_GATEWAY_ROUTE
from .rules import Ref, Rule, RulesRoute, find_ref, first_with, ref_name, refs, rule_named, weight
from .weights import whole_number

MODEL_HEADER = "x-ai-eg-model"
SHARED_REF_FIELDS = ("group", "kind", "namespace", "priority")


def matches_model(rule: Rule, model_name: str) -> bool:
    """An Exact match of the header the AI Gateway fills from the request body's `model`."""
    for match in _listed(rule.get("matches"), "rule matches"):
        if match is not None and not isinstance(match, dict):
            raise RouteError("a rule match is not an object")
        for header in _listed((match or {}).get("headers"), "match headers"):
            if not isinstance(header, dict):
                raise RouteError("a match header is not an object")
            if (
                str(header.get("name", "")).lower() == MODEL_HEADER
                and (header.get("type") or "Exact") == "Exact"
                and header.get("value") == model_name
            ):
                return True
    return False


def _listed(value: object, what: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RouteError(f"{what} is not a list")
    return value


def priority(ref: Ref | None) -> int:
    value = (ref or {}).get("priority")
    return 0 if value is None else whole_number(value, f"priority of backendRef {ref_name(ref or {})}")


def effective_weight(rule: Rule, ref: Ref | None) -> int:
    if ref is None:
        return 0
    top = min(priority(r) for r in refs(rule))
    return weight(ref) if priority(ref) == top else 0


def select_rule(rules: list[Rule], name: str | None, model_name: str, source: str, target: str) -> int:
    """The named rule, else the rule matching the model header (one carrying an arm first), else the first
    rule carrying the source or, once it is removed, the target."""
    if name:
        return rule_named(rules, name)
    for_model = [i for i, r in enumerate(rules) if matches_model(r, model_name)]
    with_arm = [i for i in for_model if find_ref(rules[i], source) or find_ref(rules[i], target)]
    if with_arm or for_model:
        return (with_arm or for_model)[0]
    index = first_with(rules, source, target)
    if index is None:
        raise RouteError(f"no rule matches {MODEL_HEADER}: {model_name} or has a backendRef named {source!r}")
    return index


def edit_rule(rule: Rule, spec: ProviderMigrationSpec, weights: tuple[int, int]) -> Rule:
    """Set both weights in place; a missing target joins the source's tier, sent the target's model name."""
    source_ref, target_ref = find_ref(rule, spec.source.backend), find_ref(rule, spec.target.backend)
    if source_ref is not None:
        source_ref["weight"] = weights[0]
    if target_ref is None:
        shared = {k: copy.deepcopy(source_ref[k]) for k in SHARED_REF_FIELDS if source_ref and k in source_ref}
        target_ref = {"name": spec.target.backend, **shared}
        if spec.target.model != spec.route.model_name:
            target_ref["modelNameOverride"] = spec.target.model  # clients keep calling model_name
        rule["backendRefs"] = [*refs(rule), target_ref]
    target_ref["weight"] = weights[1]
    if source_ref is not None and priority(target_ref) != priority(source_ref):
        target_ref["priority"] = priority(source_ref)  # a fallback tier would take no share
    return rule


class AIGatewayRouteAdapter(RulesRoute):
    kind = AI_GATEWAY_ROUTE
    supports_mirroring = False

    def select(self, rules: list[Rule]) -> int:
        return select_rule(rules, self.spec.route.rule, self.spec.route.model_name, self.source, self.target)

    def ref_weight(self, rule: Rule, ref: Ref | None) -> int:
        return effective_weight(rule, ref)  # a fallback tier takes no share

    def edit(self, rule: Rule, source: int, target: int, mirror: int) -> Rule:
        return edit_rule(rule, self.spec, (source, target))
