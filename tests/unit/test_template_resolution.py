"""Templates: the merge rules (maps merge, lists replace, the migration wins), the effective spec and its
refusals, and the tick resolving the template once, before any traffic, then using what it recorded."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_spec import from_schema

from provider_migration.api.reasons import BlockedReason
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import Phase, ProviderMigrationStatus
from provider_migration.controller.ports import Ports
from provider_migration.controller.reconcile import reconcile
from provider_migration.core.observations import RouteState, SecretsState
from provider_migration.core.templates import Refusal, Resolved, effective_wire, merge, resolve

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]

# ----- merge: the rules, exhaustively --------------------------------------------------------------------

scalars = st.one_of(st.integers(-5, 5), st.booleans(), st.text("ab", max_size=2))
keys = st.sampled_from(["a", "b", "c", "d"])
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=12,
)
maps = st.dictionaries(keys, values, max_size=4)


def leaves(node: Any, path: tuple[str, ...] = (), *, empty_maps: bool = True) -> dict[tuple[str, ...], Any]:
    """Every non-map value (and empty map) by its key path (a list is one leaf: lists never merge)."""
    if not isinstance(node, dict) or (not node and empty_maps):
        return {path: node}
    found: dict[tuple[str, ...], Any] = {}
    for key, value in node.items():
        found.update(leaves(value, (*path, key), empty_maps=empty_maps))
    return found


def at(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


@given(maps, maps)
def test_the_migration_wins_at_every_value_it_sets(base: dict[str, Any], override: dict[str, Any]) -> None:
    merged = merge(base, override)
    for path, value in leaves(override, empty_maps=False).items():  # an empty map merges: it replaces nothing
        if path:
            assert at(merged, path) == value


@given(maps, maps)
def test_every_template_value_the_migration_does_not_touch_is_kept(base: dict[str, Any], over: dict[str, Any]) -> None:
    merged = merge(base, over)

    def touched(path: tuple[str, ...]) -> bool:
        """The migration sets this path, or replaces a map above it with something that is not a map."""
        node: Any = over
        for i, key in enumerate(path):
            if not isinstance(node, dict) or key not in node or node[key] is None:
                return False
            node = node[key]
            if i == len(path) - 1 or not isinstance(node, dict):
                return True
        return False

    for path, value in leaves(base).items():
        if path and not touched(path):
            assert at(merged, path) == value


@given(maps, maps)
def test_nothing_else_appears(base: dict[str, Any], over: dict[str, Any]) -> None:
    merged_paths = set(leaves(merge(base, over)))
    assert merged_paths <= set(leaves(base)) | set(leaves(over))


@given(maps)
def test_merge_has_an_identity_and_is_idempotent(a: dict[str, Any]) -> None:
    assert merge(a, {}) == a and merge({}, a) == a
    assert merge(a, a) == a


@given(maps, maps)
def test_merge_never_changes_its_inputs(base: dict[str, Any], over: dict[str, Any]) -> None:
    before = copy.deepcopy((base, over))
    merge(base, over)
    assert (base, over) == before


def test_lists_replace_maps_merge_null_inherits() -> None:
    template = {"strategy": {"type": "Phased", "steps": [{"weight": 10}, {"weight": 100}]}, "x": {"a": 1, "b": 2}}
    migration = {"strategy": {"steps": [{"weight": 100}]}, "x": {"b": 3, "c": None}}
    expected = {"strategy": {"type": "Phased", "steps": [{"weight": 100}]}, "x": {"a": 1, "b": 3}}
    assert merge(template, migration) == expected


# ----- the effective spec ----------------------------------------------------------------------------------

TEMPLATE_SPEC: dict[str, Any] = {
    "description": "OpenAI to Anthropic, Phased with a gate",
    "strategy": {
        "type": "Phased",
        "steps": [{"weight": 10, "pause": "1m"}, {"approval": {"message": "check"}}, {"weight": 50}, {"weight": 100}],
    },
    "analysis": {
        "prometheus": {"url": "http://prometheus.monitoring:9090"},
        "interval": "30s",
        "rollbackOn": {"errorRate": {"above": 0.02}, "latencyP95": {"ratioToBaseline": 1.5}},
    },
    "cleanup": {"stabilization": "1h"},
}


def migration_spec(**extra: Any) -> dict[str, Any]:
    return {
        "templateRef": {"kind": "ClusterMigrationTemplate", "name": "openai-to-anthropic"},
        "route": {"kind": "ConfigMap", "name": "llm-gateway", "modelName": "chat"},
        "source": {"provider": "openai", "model": "gpt-4o", "backend": "openai-gpt-4o"},
        "target": {"provider": "anthropic", "model": "claude-sonnet-4-5", "backend": "anthropic-claude"},
        **extra,
    }


def template_object(spec: dict[str, Any], version: str = "7") -> dict[str, Any]:
    return {"metadata": {"name": "openai-to-anthropic", "resourceVersion": version}, "spec": spec}


def test_a_migration_states_only_what_differs() -> None:
    mine = migration_spec(analysis={"rollbackOn": {"errorRate": {"above": 0.01}}, "minSamples": 50})
    resolved = resolve(mine, template_object(TEMPLATE_SPEC), None, NOW)
    assert isinstance(resolved, Resolved)
    spec = resolved.spec
    assert [s.weight for s in spec.strategy.steps] == [10, None, 50, 100] and spec.strategy.steps[1].approval
    assert spec.analysis is not None
    assert spec.analysis.rollback_on.error_rate.above == 0.01  # the migration wins
    assert spec.analysis.rollback_on.latency_p95.ratio_to_baseline == 1.5  # the template's, kept beside it
    assert spec.analysis.interval == "30s" and spec.analysis.min_samples == 50
    assert spec.cleanup.stabilization == "1h"
    assert resolved.template.resource_version == "7" and resolved.template.kind == "ClusterMigrationTemplate"
    assert "description" not in resolved.template.spec  # documentation, never merged
    assert ProviderMigrationSpec.from_wire(resolved.wire) == spec  # status.effectiveSpec is the spec used


def test_the_migrations_steps_replace_the_templates() -> None:
    mine = migration_spec(strategy={"steps": [{"weight": 100}], "type": "BigBang"})
    resolved = resolve(mine, template_object(TEMPLATE_SPEC), None, NOW)
    assert isinstance(resolved, Resolved) and [s.weight for s in resolved.spec.strategy.steps] == [100]


def test_a_template_never_supplies_the_migrations_own_fields() -> None:
    sneaky = {**TEMPLATE_SPEC, "paused": True, "gatewaySecret": "other"}
    assert effective_wire(sneaky, migration_spec()).get("paused") is None
    refusal = resolve(migration_spec(), template_object(sneaky), None, NOW)
    assert isinstance(refusal, Refusal) and refusal.reason == BlockedReason.TEMPLATE_INVALID
    assert "spec.gatewaySecret" in refusal.message


def test_missing_template_is_refused_with_the_path() -> None:
    refusal = resolve(migration_spec(), None, None, NOW)
    assert isinstance(refusal, Refusal) and refusal.reason == BlockedReason.TEMPLATE_NOT_FOUND
    assert refusal.message.startswith("spec.templateRef: ClusterMigrationTemplate openai-to-anthropic not found")


def test_a_chain_is_refused() -> None:
    chained = {**TEMPLATE_SPEC, "templateRef": {"kind": "ClusterMigrationTemplate", "name": "base"}}
    refusal = resolve(migration_spec(), template_object(chained), None, NOW)
    assert isinstance(refusal, Refusal) and refusal.reason == BlockedReason.TEMPLATE_INVALID
    assert "spec.templateRef: templates do not reference templates" in refusal.message


@pytest.mark.parametrize(
    ("template", "mine", "path", "words"),
    [
        ({"analysis": {"interval": "30s"}}, {}, "spec.analysis.prometheus", "Field required"),
        (TEMPLATE_SPEC, {"strategy": {"type": "BigBang"}}, "spec.strategy", "BigBang has exactly one weight step"),
        ({"analysis": {"metrics": "custom", "prometheus": {"url": "http://p:9090"}}}, {}, "spec.analysis", "custom"),
    ],
)
def test_an_invalid_merge_is_refused_with_the_path(
    template: dict[str, Any], mine: dict[str, Any], path: str, words: str
) -> None:
    refusal = resolve(migration_spec(**mine), template_object(template), None, NOW)
    assert isinstance(refusal, Refusal) and refusal.reason == BlockedReason.TEMPLATE_MERGE_INVALID
    assert refusal.message.startswith(path) and words in refusal.message
    assert "ClusterMigrationTemplate openai-to-anthropic" in refusal.message


def test_once_recorded_the_template_as_read_now_is_ignored() -> None:
    first = resolve(migration_spec(), template_object(TEMPLATE_SPEC), None, NOW)
    assert isinstance(first, Resolved)
    edited = copy.deepcopy(TEMPLATE_SPEC)
    edited["strategy"]["steps"] = [{"weight": 100}]
    again = resolve(migration_spec(), template_object(edited, "8"), first.template, NOW + timedelta(minutes=5))
    assert isinstance(again, Resolved) and again.spec == first.spec and again.template == first.template
    gone = resolve(migration_spec(), None, first.template, NOW)  # even deleted: the record is enough
    assert isinstance(gone, Resolved) and gone.spec == first.spec


# ----- the tick ---------------------------------------------------------------------------------------------


class Store:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.body: dict[str, Any] = {
            "metadata": {"namespace": "shop", "name": "bot", "resourceVersion": "1", "generation": 1},
            "spec": spec,
        }
        self.writes = 0

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.body)

    def write_status(self, namespace: str, name: str, resource_version: str, status: dict[str, Any]) -> bool:
        self.body["status"] = status
        self.body["metadata"]["resourceVersion"] = str(int(resource_version) + 1)
        self.writes += 1
        return True

    def status(self) -> ProviderMigrationStatus:
        return ProviderMigrationStatus.model_validate(self.body["status"])


class Route:
    supports_mirroring = False

    def __init__(self) -> None:
        self.target = 0
        self.reads = self.writes = 0

    def read(self) -> RouteState:
        self.reads += 1
        return RouteState(found=True, source_present=True, target_present=True, source_weight=100 - self.target,
                          target_weight=self.target)  # fmt: skip

    def apply_weights(self, source: int, target: int, mirror: int) -> None:
        self.writes += 1
        self.target = target

    def remove_source(self) -> None:
        self.writes += 1

    def remove_target(self) -> None:
        self.writes += 1


class Creds:
    def read(self) -> SecretsState:
        return SecretsState()

    def project_target(self) -> None: ...

    def decommission_source(self) -> None: ...

    def withdraw_target(self) -> None: ...


class Templates:
    def __init__(self, spec: dict[str, Any] | None) -> None:
        self.spec, self.version, self.reads = spec, 1, 0

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        self.reads += 1
        return None if self.spec is None else template_object(self.spec, str(self.version))


class Unused:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} called: no analysis or evaluation in these specs")


SIMPLE_TEMPLATE: dict[str, Any] = {
    "strategy": {"type": "Phased", "steps": [{"weight": 10}, {"weight": 50}, {"weight": 100}]},
    "cleanup": {"stabilization": "0s"},
}


def world(template: dict[str, Any] | None) -> tuple[Ports, Store, Route, Templates]:
    store, route, templates = Store(migration_spec()), Route(), Templates(copy.deepcopy(template) if template else None)
    ports = Ports(
        migrations=store,
        routes=lambda namespace, spec: route,
        credentials=lambda namespace, spec: Creds(),
        analysis=Unused(),  # type: ignore[arg-type]
        evaluation=Unused(),  # type: ignore[arg-type]
        templates=templates,
    )
    return ports, store, route, templates


def tick(ports: Ports, at: datetime) -> None:
    reconcile(ports, "shop", "bot", lambda *_: None, at)


def test_missing_template_blocks_before_the_route_is_even_read() -> None:
    ports, store, route, _ = world(None)
    tick(ports, NOW)
    status = store.status()
    assert status.phase == Phase.BLOCKED and status.reason == BlockedReason.TEMPLATE_NOT_FOUND
    assert status.message and status.message.startswith("spec.templateRef:")
    assert status.template is None and route.reads == 0 and route.writes == 0


def test_the_template_is_read_once_and_a_later_edit_changes_nothing() -> None:
    ports, store, route, templates = world(SIMPLE_TEMPLATE)
    seen = []
    for i in range(12):
        tick(ports, NOW + timedelta(seconds=i))
        seen.append(route.target)
        if i == 1:  # mid-rollout, the platform team changes the template
            templates.spec = {"strategy": {"type": "BigBang", "steps": [{"weight": 100}]}}
            templates.version = 2
    status = store.status()
    assert status.phase == Phase.SUCCEEDED
    assert seen[0] == 0, "the tick that reads the template only records it"
    assert sorted(set(seen)) == [0, 10, 50, 100]  # the template as it was at the start: three steps
    assert templates.reads == 1
    assert status.template is not None and status.template.resource_version == "1"
    assert status.effective_spec is not None and len(status.effective_spec["strategy"]["steps"]) == 3


def test_the_template_is_recorded_in_a_write_of_its_own_before_the_route_is_touched() -> None:
    ports, store, route, _ = world(SIMPLE_TEMPLATE)
    result = reconcile(ports, "shop", "bot", lambda *_: None, NOW)
    assert result is not None and result.requeue_after == 0.0 and not result.events
    status = store.status()
    assert status.template is not None and status.effective_spec is not None and store.writes == 1
    assert route.reads == route.writes == 0 and status.phase == Phase.PENDING


def test_a_restarted_operator_uses_what_status_recorded() -> None:
    ports, store, _, templates = world(SIMPLE_TEMPLATE)
    tick(ports, NOW)
    tick(ports, NOW + timedelta(seconds=1))
    templates.spec = None  # deleted meanwhile; a fresh operator has nothing but the object
    ports2 = Ports(store, ports.routes, ports.credentials, ports.analysis, ports.evaluation, templates=templates)
    for i in range(2, 12):
        tick(ports2, NOW + timedelta(seconds=i))
    assert store.status().phase == Phase.SUCCEEDED and templates.reads == 1


def test_an_invalid_merge_blocks_until_the_template_is_fixed() -> None:
    ports, store, route, templates = world({"strategy": {"type": "BigBang", "steps": [{"weight": 10}]}})
    tick(ports, NOW)
    status = store.status()
    assert status.phase == Phase.BLOCKED and status.reason == BlockedReason.TEMPLATE_MERGE_INVALID
    assert status.message and status.message.startswith("spec.strategy")
    assert route.reads == route.writes == 0
    writes = store.writes
    tick(ports, NOW + timedelta(seconds=5))
    assert store.writes == writes, "an unchanged refusal is not written again"
    templates.spec = copy.deepcopy(SIMPLE_TEMPLATE)
    for i in range(2, 14):
        tick(ports, NOW + timedelta(seconds=5 * i))
    assert store.status().phase == Phase.SUCCEEDED


# ----- hostile templates: every merge is a spec or a clear refusal -------------------------------------------


@cache
def template_schema() -> dict[str, Any]:
    crd = yaml.safe_load((REPO / "crds" / "clustermigrationtemplates.migrations.llmops.dev.yaml").read_text())
    spec = dict(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"])
    del spec["properties"]["templateRef"]  # refused by CEL (a chain); test_a_chain_is_refused covers it
    return spec


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_schema_valid_template_merges_into_a_spec_or_a_refusal_naming_a_field(data: st.DataObject) -> None:
    template = data.draw(from_schema(template_schema()))
    overrides = data.draw(st.fixed_dictionaries({}, optional={"cleanup": st.just({"stabilization": "1h"})}))
    result = resolve(migration_spec(**overrides), template_object(template), None, NOW)
    if isinstance(result, Refusal):
        assert result.reason == BlockedReason.TEMPLATE_MERGE_INVALID
        assert result.message.startswith("spec.") and "the merge of ClusterMigrationTemplate" in result.message
    else:
        assert ProviderMigrationSpec.from_wire(result.wire) == result.spec
        for section in ("strategy", "analysis", "evaluation"):
            if section in template and section != "strategy":
                assert getattr(result.spec, section) is not None


def test_an_edit_that_breaks_the_merge_after_the_start_holds_the_split_until_fixed() -> None:
    ports, store, route, _ = world(SIMPLE_TEMPLATE)
    for i in range(3):
        tick(ports, NOW + timedelta(seconds=i))
    assert store.status().phase == Phase.PROGRESSING and route.target > 0
    held, writes = route.target, route.writes
    store.body["spec"]["strategy"] = {"type": "BigBang"}  # the template's three steps are not one of 100
    store.body["metadata"]["generation"] = 2
    tick(ports, NOW + timedelta(seconds=3))
    status = store.status()
    assert status.phase == Phase.BLOCKED and status.reason == BlockedReason.TEMPLATE_MERGE_INVALID
    assert status.message and status.message.startswith("spec.strategy")
    assert route.target == held and route.writes == writes
    del store.body["spec"]["strategy"]
    for i in range(4, 16):
        tick(ports, NOW + timedelta(seconds=i))
    assert store.status().phase == Phase.SUCCEEDED
