"""What HTTPRoute and AIGatewayRoute share: `spec.rules[].backendRefs[].weight` (default 1), edited by SSA.

Ownership: both CRDs declare `spec.rules` as an atomic list (HTTPRoute: `x-kubernetes-list-type: atomic`;
AIGatewayRoute: no list type, which the API server treats as atomic), and so are `backendRefs` and
`filters` inside a rule. A server-side apply of a partial rule would replace the whole list, so the
operator applies the complete `spec.rules` as it read it, with only the weights (and the target backendRef,
mirror filter) changed, guarded by the resourceVersion it read. Its field manager therefore owns exactly
`spec.rules` and nothing else of the object; GitOps tools should ignore `/spec/rules` on these objects.
"""

from __future__ import annotations

import copy
from typing import Any

from kubernetes import client

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.core.observations import RouteState

from .errors import KindNotServed, RouteError
from .kube import Kind, Kube
from .weights import check_request, to_percent, whole_number

Rule = dict[str, Any]
Ref = dict[str, Any]


def refs(rule: Rule) -> list[Ref]:
    value = rule.get("backendRefs")
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def find_ref(rule: Rule, backend: str) -> Ref | None:
    return next((r for r in refs(rule) if r.get("name") == backend), None)


def weight(ref: Ref | None) -> int:
    """Gateway API (and AI Gateway) default: an unset weight is 1."""
    if ref is None:
        return 0
    value = ref.get("weight")
    return 1 if value is None else whole_number(value, f"weight of backendRef {ref_name(ref)}")


def ref_name(ref: Ref) -> str:
    """The backendRef's name for a message (clipped: it is whatever the object holds)."""
    return repr(str(ref.get("name"))[:63])


def rule_named(rules: list[Rule], name: str) -> int:
    for i, rule in enumerate(rules):
        if rule.get("name") == name:
            return i
    raise RouteError(f"no rule named {name!r}")


def first_with(rules: list[Rule], *backends: str) -> int | None:
    for backend in backends:
        for i, rule in enumerate(rules):
            if find_ref(rule, backend) is not None:
                return i
    return None


def describe(rules: list[Rule], index: int) -> str:
    name = rules[index].get("name")
    return f"rule {name!r}" if name else f"spec.rules[{index}]"


class RulesRoute:
    """One rule of a rules-based route. Subclasses choose the rule and read/write weights and mirroring."""

    kind: Kind
    supports_mirroring: bool

    def __init__(self, api_client: client.ApiClient, namespace: str, spec: ProviderMigrationSpec) -> None:
        self.kube = Kube(api_client, namespace)
        self.spec = spec
        self.name = spec.route.name
        self.source = spec.source.backend
        self.target = spec.target.backend

    # -- per kind --

    def select(self, rules: list[Rule]) -> int:
        raise NotImplementedError

    def ref_weight(self, rule: Rule, ref: Ref | None) -> int:
        """The share a backendRef takes of the rule's traffic, before normalising."""
        return weight(ref)

    def arm_weights(self, rule: Rule) -> tuple[float, float]:
        return self.ref_weight(rule, find_ref(rule, self.source)), self.ref_weight(rule, find_ref(rule, self.target))

    def check_ownership(self, rules: list[Rule], index: int) -> None:
        """Refuse (before any write) a route whose split the operator could not report truly or move whole:
        a third backendRef taking traffic in the rule, an arm named twice (one name on two ports), or the
        source serving another rule too (migrating one rule and decommissioning the source's key would cut
        the other off)."""
        rule, where = rules[index], describe(rules, index)
        for arm in (self.source, self.target):
            count = sum(1 for r in refs(rule) if r.get("name") == arm)
            if count > 1:
                raise RouteError(
                    f"{where} has {count} backendRefs named {arm!r} (one name on several ports?): "
                    "the operator moves the weight of exactly one; split them into separate rules"
                )
        others = [
            f"{ref_name(r)} (weight {self.ref_weight(rule, r)})"
            for r in refs(rule)
            if r.get("name") not in (self.source, self.target) and self.ref_weight(rule, r) > 0
        ]
        if others:
            raise RouteError(
                f"{where} also sends traffic to {', '.join(others[:5])}: the split between "
                f"{self.source!r} and {self.target!r} would not be the share they get; set those weights to 0 "
                "or move them to another rule"
            )
        shared = [describe(rules, i) for i, r in enumerate(rules) if i != index and find_ref(r, self.source)]
        if shared:
            raise RouteError(
                f"source backendRef {self.source!r} also serves {', '.join(shared[:5])}: only {where} would move, "
                "the others would stay on the source (and lose it when its key is decommissioned); "
                "give each rule its own migration and backend, or route them through one rule"
            )

    def mirror_percent(self, rule: Rule) -> int:
        return 0

    def edit(self, rule: Rule, source: int, target: int, mirror: int) -> Rule:
        raise NotImplementedError

    # -- RouteAdapter --

    def state(self, rules: list[Rule]) -> RouteState:
        index = self.select(rules)
        rule = rules[index]
        has_source, has_target = find_ref(rule, self.source) is not None, find_ref(rule, self.target) is not None
        if not has_source and not has_target:
            raise RouteError(f"{describe(rules, index)} has no backendRef named {self.source!r}")
        self.check_ownership(rules, index)
        source_pct, target_pct = to_percent(*self.arm_weights(rule))
        return RouteState(
            found=True,
            source_present=has_source,
            target_present=has_target,
            source_weight=source_pct,
            target_weight=target_pct,
            mirror_percent=self.mirror_percent(rule),
            supports_mirroring=self.supports_mirroring,
        )

    def read(self) -> RouteState:
        try:
            obj = self.kube.get(self.kind, self.name)
        except KindNotServed as e:
            return RouteState(found=False, served=False, error=str(e), supports_mirroring=self.supports_mirroring)
        if obj is None:
            return RouteState(found=False, supports_mirroring=self.supports_mirroring)
        try:
            return self.state(_rules(obj))
        except RouteError as e:
            return RouteState(
                found=True,
                error=f"{self.kind.kind} {self.kube.namespace}/{self.name}: {e}",
                supports_mirroring=self.supports_mirroring,
            )

    def apply_weights(self, source: int, target: int, mirror: int) -> None:
        check_request(source, target, mirror, self.supports_mirroring)
        obj, rules = self._load()
        current = self.state(rules)  # a malformed route raises here, before anything is written
        index = self.select(rules)
        if not current.source_present and source > 0:
            raise RouteError(f"{describe(rules, index)} has no backendRef named {self.source!r} to send {source}% to")
        new = copy.deepcopy(rules)
        new[index] = self.edit(copy.deepcopy(rules[index]), source, target, mirror)
        self._write(obj, rules, new)

    def remove_source(self) -> None:
        obj, rules = self._load()
        self.state(rules)  # a malformed route raises here, before anything is written
        index = self.select(rules)
        rule = rules[index]
        if find_ref(rule, self.source) is None:
            return
        if find_ref(rule, self.target) is None or self.arm_weights(rule)[1] <= 0:
            raise RouteError(f"refusing to remove {self.source!r}: the target would take no traffic")
        new = copy.deepcopy(rules)
        new[index]["backendRefs"] = [r for r in refs(rule) if r.get("name") != self.source]
        self._write(obj, rules, new)

    def remove_target(self) -> None:
        obj, rules = self._load()
        self.state(rules)  # a malformed route raises here, before anything is written
        index = self.select(rules)
        rule = rules[index]
        if find_ref(rule, self.target) is None:
            return
        if find_ref(rule, self.source) is None or self.arm_weights(rule)[1] > 0 or self.mirror_percent(rule):
            raise RouteError(f"refusing to remove {self.target!r}: it takes traffic or the source is gone")
        new = copy.deepcopy(rules)
        new[index]["backendRefs"] = [r for r in refs(rule) if r.get("name") != self.target]
        self._write(obj, rules, new)

    def _load(self) -> tuple[dict[str, Any], list[Rule]]:
        obj = self.kube.get(self.kind, self.name)
        if obj is None:
            raise RouteError(f"{self.kind.kind} {self.kube.namespace}/{self.name} does not exist")
        return obj, _rules(obj)

    def _write(self, obj: dict[str, Any], old: list[Rule], new: list[Rule]) -> None:
        if new == old:
            return  # idempotent: the controller calls this every tick to heal drift
        rv = obj["metadata"].get("resourceVersion")
        self.kube.apply(self.kind, self.name, {"spec": {"rules": new}}, resource_version=rv)


def _rules(obj: dict[str, Any]) -> list[Rule]:
    spec = obj.get("spec")
    rules = spec.get("rules") if isinstance(spec, dict) else None
    if not isinstance(rules, list) or not rules:
        raise RouteError("spec.rules is empty")
    if not all(isinstance(r, dict) for r in rules):
        raise RouteError("spec.rules holds something other than rules")
    return rules
