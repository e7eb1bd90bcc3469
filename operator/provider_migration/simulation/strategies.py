"""The same migration as each strategy, for `pmo simulate --compare-strategies`.

Phased keeps the spec's weight steps (and gates; mirror steps dropped), or a 10/50/100 ladder when the spec
has a single weight step; BigBang is one step of 100; Parallel mirrors 20 % of the requests first, then
walks the Phased steps.
"""

from __future__ import annotations

from provider_migration.api.spec import ProviderMigrationSpec, Step, Strategy

STRATEGIES = ("Phased", "BigBang", "Parallel")
DEFAULT_LADDER = (Step(weight=10, pause="15m"), Step(weight=50, pause="1h"), Step(weight=100))
MIRROR_PERCENT = 20
MIRROR_PAUSE = "15m"


def phased_steps(spec: ProviderMigrationSpec) -> list[Step]:
    steps = [s for s in spec.strategy.steps if s.mirror is None]
    if sum(s.weight is not None for s in steps) < 2:
        return list(DEFAULT_LADDER)
    return steps


def strategy_variants(spec: ProviderMigrationSpec) -> dict[str, ProviderMigrationSpec]:
    phased = phased_steps(spec)
    mirror_pause = next((s.pause for s in spec.strategy.steps if s.mirror is not None and s.pause), None)
    first_pause = next((s.pause for s in phased if s.pause), None)
    strategies = {
        "Phased": Strategy(type="Phased", steps=phased),
        "BigBang": Strategy(type="BigBang", steps=[Step(weight=100)]),
        "Parallel": Strategy(
            type="Parallel",
            steps=[Step(mirror=MIRROR_PERCENT, pause=mirror_pause or first_pause or MIRROR_PAUSE), *phased],
        ),
    }
    return {name: spec.model_copy(update={"strategy": strategy}) for name, strategy in strategies.items()}
