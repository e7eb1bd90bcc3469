"""Fuzzing hostile ProviderMigration specs: anything the CRD schema lets through reaches decide() and the
analysis, routing and credential helpers without an exception, and every refusal is a clear condition.

Specs come from the CRD's own openAPIV3Schema (types, patterns, lengths, bounds, enums; not its CEL rules),
with hostile text where the schema allows any string: unicode, quotes, PromQL placeholders, control
characters, maximal lengths. The CEL rules are left to the models, so both paths are exercised: a spec the
models refuse becomes Failed/InvalidSpec (what the controller does with it); an accepted one is driven
through decide() with random observations, analyses measured from random metric values, and the routing and
credential helpers that take spec values.
"""

from __future__ import annotations

import copy
import math
import os
import re
from dataclasses import replace
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from rollout_world import BASELINE, T0, World

from provider_migration.analysis.analyzer import run_analysis
from provider_migration.analysis.baseline import capture_baseline
from provider_migration.analysis.source import MetricsUnavailable, QueryFailed
from provider_migration.api.durations import seconds
from provider_migration.api.keys import gateway_key_name
from provider_migration.api.reasons import FailureReason
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import TERMINAL_PHASES, Phase, ProviderMigrationStatus
from provider_migration.core.actions import ProjectCredentials, SetWeights
from provider_migration.core.decide import decide, needs, reject_spec
from provider_migration.core.observations import RouteState, SecretsState
from provider_migration.credentials.keys import checksum
from provider_migration.routing import litellm
from provider_migration.routing.errors import RouteError

CRD = Path(__file__).resolve().parents[2] / "crds" / "providermigrations.migrations.llmops.dev.yaml"
NASTY = [
    "",
    '"}',
    '"} or vector(1) #',
    "{{backend}}",
    "{{nope}}",
    "{{ model_regex }}",
    "\\",
    "a\nb",
    "\u202eevil",
    "\x00",
    "😀" * 3,
    "ünïcödé/модель",
    "${HOME}",
    "os.environ/OPENAI_API_KEY",
    "~1/~0",
    " ",
    "null",
    "1e309",
]
# Status conditions, history and Events are the refusal channel: each must say what is wrong.
REFUSAL_PHASES = {Phase.BLOCKED, Phase.FAILED, Phase.ROLLED_BACK, Phase.ROLLING_BACK, Phase.PAUSED}


@cache
def spec_schema() -> dict[str, Any]:
    """The schema of a spec without a templateRef: the sections' fields that the CRD requires through
    spec-level FieldValueRequired rules (a template may supply them) are required again."""
    crd = yaml.safe_load(CRD.read_text())
    spec = dict(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"])
    del spec["properties"]["templateRef"]
    for rule in spec["x-kubernetes-validations"]:
        if rule.get("reason") == "FieldValueRequired":
            *parents, name = rule["fieldPath"].strip(".").split(".")
            node = spec
            for part in parents:
                node = node["properties"][part]
            node.setdefault("required", []).append(name)
    return spec


def hostile_text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    chars = st.characters(exclude_categories=["Cs"])  # lone surrogates cannot travel as JSON/UTF-8
    small = min(max_size, 40)
    options = [st.text(chars, min_size=min_size, max_size=max(small, min_size))]
    options.append(st.sampled_from([s for s in NASTY if min_size <= len(s) <= max_size]))
    options.append(st.builds(lambda c: c * max_size, chars))  # as long as the schema allows
    return st.one_of(options)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid against an OpenAPI v3 structural schema (CEL rules aside)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        return st.fixed_dictionaries(
            {k: from_schema(v) for k, v in props.items() if k in required},
            optional={k: from_schema(v) for k, v in props.items() if k not in required},
        )
    if kind == "array":
        return st.lists(from_schema(schema["items"]), min_size=schema.get("minItems", 0),
                        max_size=schema.get("maxItems", 5))  # fmt: skip
    if kind == "string":
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 300)
        pattern = schema.get("pattern")
        if pattern is None:
            return hostile_text(lo, hi)
        text = st.from_regex(pattern, fullmatch=pattern.endswith("$"))
        return text.filter(lambda s: lo <= len(s) <= hi and re.search(pattern, s) is not None)
    if kind == "integer":
        lo, hi = schema.get("minimum", -(2**63)), schema.get("maximum", 2**63 - 1)
        return st.one_of(st.sampled_from(sorted({lo, hi})), st.integers(lo, hi))
    if kind == "number":
        lo, hi = schema.get("minimum"), schema.get("maximum")
        bounded = st.floats(
            min_value=lo, max_value=hi, exclude_min=bool(schema.get("exclusiveMinimum")),
            allow_nan=False, allow_infinity=False,
        )  # fmt: skip
        edges = [v for v in (lo, hi, 1e308, -1e308, 0.0) if v is not None and _within(v, schema)]
        return st.one_of(bounded, st.sampled_from(edges))
    if kind == "boolean":
        return st.booleans()
    raise AssertionError(f"schema type {kind!r} not covered by the fuzzer")


def _within(value: float, schema: dict[str, Any]) -> bool:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if lo is not None and (value < lo or (schema.get("exclusiveMinimum") and value == lo)):
        return False
    return hi is None or value <= hi


def repair(raw: dict[str, Any], analysis: dict[str, Any] | None) -> dict[str, Any]:
    """The spec with its CEL-level rules made true and its hostile values kept, so that it parses."""
    spec = copy.deepcopy(raw)
    if analysis is not None:
        spec["analysis"] = copy.deepcopy(analysis)
    strategy = spec.setdefault("strategy", {"steps": [{"weight": 100}]})
    kind = strategy.get("type", "Phased")
    steps = []
    for step in strategy["steps"]:
        key = next((k for k in ("mirror", "approval", "weight") if k in step), "weight")
        key = "weight" if key == "mirror" and kind != "Parallel" else key
        new = {key: step.get(key, 50)}
        if key != "approval" and "pause" in step:
            new["pause"] = step["pause"]
        steps.append(new)
    if kind == "Parallel" and "mirror" not in steps[0]:
        steps.insert(0, {"mirror": 1})
    weights = sorted({min(s["weight"], 99) for s in steps if "weight" in s})[: 0 if kind == "BigBang" else None]
    final: list[dict[str, Any]] = []
    for s in steps:
        if "weight" not in s:
            final.append(s)
        elif weights:
            final.append({**s, "weight": weights.pop(0)})
    strategy["steps"] = [*final, {"weight": 100}][:20]
    for endpoint in ("source", "target"):
        spec[endpoint].setdefault("backend", endpoint)
    if spec["source"]["backend"] == spec["target"]["backend"]:
        spec["target"]["backend"] = spec["target"]["backend"][:250] + "-t"
    if (spec["source"]["provider"], spec["source"]["model"]) == (spec["target"]["provider"], spec["target"]["model"]):
        spec["target"]["model"] = spec["target"]["model"][:250] + "-t"
    if "credentials" in spec["target"]:
        spec.setdefault("gatewaySecret", "gateway-keys")
    if "analysis" in spec:
        a = spec["analysis"]
        q = a.get("queries") or {}
        if a.get("metrics") == "custom" and not all(q.get(k) for k in ("requests", "errorRate", "latencyP95")):
            a["metrics"] = "litellm"
        if seconds(a.get("interval", "1m")) < 5:
            a["interval"] = "5s"
        for criterion in a.get("custom", []):
            if "above" in criterion and "below" in criterion:
                del criterion["below"]
            elif "above" not in criterion and "below" not in criterion:
                criterion["above"] = 0.0
    return spec


@cache
def analysis_schema() -> dict[str, Any]:
    return dict(spec_schema()["properties"]["analysis"])


def valid_specs() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(repair, from_schema(spec_schema()), st.one_of(st.none(), from_schema(analysis_schema())))


def any_specs() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(from_schema(spec_schema()), valid_specs())


# --- fake observations -------------------------------------------------------------------------------

routes = st.one_of(
    st.none(),  # the route obeys the operator
    st.builds(
        RouteState,
        found=st.booleans(),
        error=st.sampled_from([None, None, "model_list has no entry"]),
        source_present=st.booleans(),
        target_present=st.booleans(),
        source_weight=st.integers(0, 100),
        target_weight=st.integers(0, 100),
        mirror_percent=st.integers(0, 100),
        supports_mirroring=st.booleans(),
    ),
)
secrets = st.one_of(
    st.none(),
    st.builds(
        SecretsState,
        missing=st.sampled_from([(), ("Secret ns/x key y (target credentials)",)]),
        source_checksum=st.sampled_from([None, "s1"]),
        target_checksum=st.sampled_from([None, "t1", "t2"]),
        target_projected=st.booleans(),
    ),
)
ticks = st.lists(
    st.fixed_dictionaries(
        {
            "advance": st.one_of(st.floats(0, 600), st.sampled_from([0.0, 1e7])),
            "route": routes,
            "secrets": secrets,
            "verdict": st.sampled_from(["Pass", "Fail", "Inconclusive"]),
            "command": st.sampled_from([None, "promote", "approve", "abort", "retry"]),
            "command_id": hostile_text(1, 253),
            "in_use": st.sampled_from([None, "other"]),
            "generation": st.integers(1, 2**62),
        }
    ),
    min_size=1,
    max_size=25,
)
metric_values = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -1.0, 1e-300, math.inf])
)


class ScriptedSource:
    """A MetricSource answering from a list: a number, None (no data) or an exception to raise."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers: list[Any] = answers
        self.asked: list[str] = []

    def query(self, promql: str) -> float | None:
        self.asked.append(promql)
        answer = self.answers[(len(self.asked) - 1) % len(self.answers)] if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]


answers = st.lists(
    st.one_of(metric_values, st.sampled_from([MetricsUnavailable("Prometheus down"), QueryFailed("bad query")])),
    max_size=10,
)


def _validation_problem(e: ValidationError) -> str:
    # As controller/reconcile.py words it.
    return "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()[:5])


def _clear(text: str | None) -> bool:
    return bool(text and text.strip())


FUZZ = settings(
    max_examples=int(os.environ.get("PMO_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@FUZZ
@given(raw=st.deferred(any_specs), sequence=ticks)
def test_any_schema_valid_spec_is_driven_or_refused_clearly(
    raw: dict[str, Any], sequence: list[dict[str, Any]]
) -> None:
    try:
        spec = ProviderMigrationSpec.from_wire(raw)
    except ValidationError as e:  # a CEL rule the schema alone does not express
        decision = reject_spec(ProviderMigrationStatus(), _validation_problem(e), 1, T0)
        st_ = decision.status
        assert st_.phase == Phase.FAILED and st_.reason == FailureReason.INVALID_SPEC
        assert _clear(st_.message) and len(st_.message or "") <= 4096
        assert [e.reason for e in decision.events] == [FailureReason.INVALID_SPEC]
        assert not decision.effects, "a refused spec touches nothing"
        ProviderMigrationStatus.model_validate(st_.to_wire())  # the status round-trips as stored
        return
    drive(spec, sequence)


def drive(spec: ProviderMigrationSpec, sequence: list[dict[str, Any]]) -> None:
    world = World(spec, now=T0)
    for n, tick in enumerate(sequence):
        world.now += timedelta(seconds=tick["advance"])
        world.route = tick["route"] or world.route
        world.secrets = tick["secrets"] or world.secrets
        world.verdict = tick["verdict"]
        world.generation = tick["generation"]
        if tick["command"]:
            world.commands[tick["command"]] = f"{tick['command_id']}-{n}"[:253]
        needs(spec, world.status, world.now)
        obs = replace(world.observe(), route_in_use_by=tick["in_use"])

        decision = decide(spec, world.status, obs, world.now)

        after = decision.status
        ProviderMigrationStatus.model_validate(after.to_wire())  # storable as the CRD declares it
        if after.phase in REFUSAL_PHASES:
            assert _clear(after.reason) and _clear(after.message), f"{after.phase} without a reason: {after}"
        degraded = {c.type: c for c in after.conditions}["Degraded"]
        if degraded.status == "True":
            assert _clear(degraded.reason) and _clear(degraded.message)
        assert decision.requeue_after is None or 0 < decision.requeue_after <= 3600
        assert (decision.requeue_after is None) == (after.phase in TERMINAL_PHASES)
        projected = obs.secrets.target_projected
        for action in decision.effects:
            projected = projected or isinstance(action, ProjectCredentials)
            if isinstance(action, SetWeights):
                assert action.source + action.target == 100 and 0 <= action.mirror <= 100
                assert projected or (action.target == 0 and action.mirror == 0)
            world.apply(action)
        world.status = after


@FUZZ
@given(raw=st.deferred(lambda: st.builds(repair, from_schema(spec_schema()), from_schema(analysis_schema()))),
       values=answers, step=st.integers(-1, 25))  # fmt: skip
def test_analysis_and_baseline_of_any_spec_never_raise(raw: dict[str, Any], values: list[Any], step: int) -> None:
    spec = ProviderMigrationSpec.from_wire(raw)
    assert spec.analysis is not None
    status = ProviderMigrationStatus(baseline=BASELINE, current_step=step)
    analysis = run_analysis(spec, status, ScriptedSource(values), T0, namespace="ns-ü")
    assert analysis.verdict in ("Pass", "Fail", "Inconclusive")
    for criterion in analysis.criteria:
        assert criterion.value is None or math.isfinite(criterion.value), "status JSON holds finite numbers only"
        if criterion.verdict != "Pass":
            assert _clear(criterion.message), f"{criterion.name} {criterion.verdict} without a reason"
    if not values or any(isinstance(v, MetricsUnavailable) for v in values[:1]):
        assert analysis.verdict != "Pass" or not analysis.criteria, "no data is never a pass"
    ProviderMigrationStatus.model_validate(ProviderMigrationStatus(last_analysis=analysis).to_wire())
    baseline = capture_baseline(spec, ScriptedSource(values), T0, namespace="ns")
    assert (baseline.baseline is None) != (baseline.error is None), "a baseline or a reason, never both or neither"
    if baseline.error is not None:
        assert _clear(baseline.error)


@FUZZ
@given(raw=st.deferred(valid_specs), weights=st.integers(0, 100))
def test_routing_and_credential_helpers_take_any_spec(raw: dict[str, Any], weights: int) -> None:
    spec = ProviderMigrationSpec.from_wire(raw)
    for endpoint in (spec.source, spec.target):
        name = gateway_key_name(endpoint, spec.route.kind)
        assert re.fullmatch(r"[-._a-zA-Z0-9]+", name), f"{name!r} is not a valid Secret data key"
    assert len(checksum(spec.target.backend.encode())) == 16
    config: dict[str, Any] = {
        "model_list": [
            {
                "model_name": spec.route.model_name,
                "litellm_params": {"model": spec.source.litellm_model(), "weight": 100},
                "model_info": {"id": spec.source.backend},
            }
        ]
    }
    state = litellm.state(config, spec)
    assert state.source_present and state.source_weight == 100
    before = yaml.safe_dump(config, sort_keys=False)
    try:
        text = litellm.write_weights(before, spec, 100 - weights, weights)
    except RouteError as e:
        assert _clear(str(e))
        return
    reread = litellm.state(litellm.parse_config(text, "config.yaml").data, spec)  # what the gateway would read back
    assert (reread.source_weight, reread.target_weight) == (100 - weights, weights)
    assert config["model_list"][0]["litellm_params"]["weight"] == 100, "the input config is never modified"
