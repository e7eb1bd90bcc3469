"""Which traffic split each strategy step means. Pure helpers shared by decide(), `pmo simulate` and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from provider_migration.api.durations import seconds
from provider_migration.api.spec import ProviderMigrationSpec, Step


@dataclass(frozen=True)
class Traffic:
    target: int  # percent of requests served by the target
    mirror: int = 0  # percent of requests copied to the target, responses discarded

    @property
    def source(self) -> int:
        return 100 - self.target


NO_TRAFFIC = Traffic(target=0)


def steps_of(spec: ProviderMigrationSpec) -> list[Step]:
    """The steps to walk; an empty list (allowed for BigBang) means one step straight to 100."""
    return list(spec.strategy.steps) or [Step(weight=100)]


def traffic_at(steps: list[Step], index: int) -> Traffic:
    """Traffic while at step `index` (-1: before the first step). Approval gates keep the split before them."""
    for step in reversed(steps[: index + 1]):
        if step.weight is not None:
            return Traffic(target=step.weight)
        if step.mirror is not None:
            return Traffic(target=0, mirror=step.mirror)
    return NO_TRAFFIC


def pause_seconds(step: Step) -> int:
    return seconds(step.pause) if step.pause else 0


def describe(step: Step) -> str:
    if step.approval is not None:
        return "approval gate"
    text = f"mirror {step.mirror}%" if step.mirror is not None else f"weight {step.weight}%"
    return f"{text}, pause {step.pause}" if step.pause else text
