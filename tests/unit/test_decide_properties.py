"""Property test: for random specs and observation sequences, decide() keeps the rollout invariants."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rollout_world import T0, World, spec_from

from provider_migration.api.reasons import EVENT_REASONS, STATUS_REASONS, PauseReason
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.core.actions import ProjectCredentials, SetWeights
from provider_migration.core.decide import decide
from provider_migration.core.observations import RouteState, SecretsState


@st.composite
def specs(draw: st.DrawFn) -> ProviderMigrationSpec:
    kind = draw(st.sampled_from(["Phased", "BigBang", "Parallel"]))
    pause = st.one_of(st.none(), st.sampled_from(["5s", "30s", "2m"]))
    steps: list[dict[str, object]] = []
    if kind == "BigBang":
        steps.append({"weight": 100})
    else:
        weights = [*sorted(draw(st.sets(st.integers(1, 99), max_size=4))), 100]
        if kind == "Parallel":
            steps.append({"mirror": draw(st.integers(1, 100))})
        for w in weights:
            if draw(st.booleans()) and draw(st.booleans()):
                steps.append({"approval": {}})
            step: dict[str, object] = {"weight": w}
            if (p := draw(pause)) is not None:
                step["pause"] = p
            steps.append(step)
    overrides: dict[str, object] = {
        "strategy": {"type": kind, "steps": steps},
        "cleanup": {"stabilization": draw(st.sampled_from(["1m", "10m"]))},
        "paused": draw(st.booleans()) and draw(st.booleans()),
    }
    if draw(st.booleans()):
        overrides["analysis"] = {
            "prometheus": {"url": "http://prometheus:9090"},
            "interval": draw(st.sampled_from(["5s", "30s"])),
            "failureLimit": draw(st.integers(0, 2)),
            "inconclusiveLimit": draw(st.integers(1, 3)),
        }
    return spec_from(**overrides)


routes = st.one_of(
    st.just(None),  # the route obeys the operator
    st.builds(
        RouteState,
        found=st.booleans(),
        error=st.sampled_from([None, None, "not YAML"]),
        source_present=st.booleans(),
        source_weight=st.integers(0, 100),
        target_weight=st.integers(0, 100),
        mirror_percent=st.integers(0, 100),
        supports_mirroring=st.booleans(),
    ),
)
secrets = st.one_of(
    st.just(None),
    st.builds(
        SecretsState,
        missing=st.sampled_from([(), ("Secret x key y",)]),
        target_checksum=st.sampled_from([None, "t1", "t2"]),
        target_projected=st.booleans(),
    ),
)
events = st.fixed_dictionaries(
    {
        "advance": st.floats(0, 400),
        "route": routes,
        "secrets": secrets,
        "verdict": st.sampled_from(["Pass", "Pass", "Fail", "Inconclusive"]),
        "command": st.sampled_from([None, None, None, "promote", "approve", "abort", "retry"]),
        "in_use": st.sampled_from([None, None, None, "ns/other"]),
    }
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), sequence=st.lists(events, min_size=1, max_size=40))
def test_decide_keeps_invariants(spec: ProviderMigrationSpec, sequence: list[dict]) -> None:  # type: ignore[type-arg]
    world = World(spec, now=T0)
    for n, event in enumerate(sequence):
        world.now += timedelta(seconds=event["advance"])
        if event["route"] is not None:
            world.route = event["route"]
        if event["secrets"] is not None:
            world.secrets = event["secrets"]
        world.verdict = event["verdict"]
        if event["command"]:
            world.commands[event["command"]] = f"req-{n}"
        obs = replace(world.observe(), route_in_use_by=event["in_use"])
        before = world.status

        decision = decide(spec, before, obs, world.now)  # never raises

        after = decision.status
        assert after.current_step - before.current_step <= 1, "advanced more than one step in one call"
        assert after.reason is None or after.reason in STATUS_REASONS, f"untyped status reason {after.reason}"
        assert {e.reason for e in decision.events} <= EVENT_REASONS
        assert {h.reason for h in after.history} <= EVENT_REASONS
        # The pause cause has its own field; status.reason repeats it for people.
        assert (after.pause_reason is not None) == (after.phase == "Paused")
        assert after.pause_reason is None or after.reason == after.pause_reason
        assert after.pause_reason in (None, *PauseReason)
        steps = spec.strategy.steps
        left = steps[before.current_step] if 0 <= before.current_step < len(steps) else None
        human = (after.handled_commands.promote, after.handled_commands.approve) != (
            before.handled_commands.promote,
            before.handled_commands.approve,
        )
        to_stable = (after.phase, before.phase) == ("Stabilizing", "Progressing")
        moved = after.current_step > before.current_step or to_stable
        if spec.analysis is not None and left is not None and left.approval is None and moved and not human:
            assert obs.analysis is not None and obs.analysis.verdict == "Pass", "promoted without a fresh Pass"
        projected = obs.secrets.target_projected
        for action in decision.effects:
            if isinstance(action, ProjectCredentials):
                projected = True
            if isinstance(action, SetWeights):
                assert action.source + action.target == 100
                assert 0 <= action.target <= 100 and 0 <= action.mirror <= 100
                if action.target > 0 or action.mirror > 0:
                    assert projected, "target got traffic before its credentials were projected"
                    assert after.phase not in ("RollingBack", "RolledBack", "Blocked")
        if after.phase == "Blocked":
            assert not any(isinstance(a, SetWeights) for a in decision.effects)
        assert len(after.history) <= 50
        assert {c.type for c in after.conditions} == {"Ready", "Progressing", "Degraded"}
        for action in decision.effects:
            world.apply(action)
        world.status = after
