"""Status writes carry information: inside a long pause, an analysis whose verdicts did not change is written at
most every RECORD_ANALYSIS_EVERY seconds, analyses keep their interval, and a restart measures again at once."""

from __future__ import annotations

from datetime import timedelta

from rollout_world import World, spec_from

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import AnalysisStatus, Phase, ProviderMigrationStatus
from provider_migration.controller.reconcile import RECORD_ANALYSIS_EVERY
from provider_migration.core.decide import ANALYSED_PHASES

ANALYSIS = {"prometheus": {"url": "http://prometheus:9090"}, "interval": "30s"}
LONG_PAUSE = {"type": "Phased", "steps": [{"weight": 10, "pause": "1h"}, {"weight": 100}]}


class CountingWorld(World):
    def __init__(self, spec: ProviderMigrationSpec) -> None:
        super().__init__(spec)
        self.analyses: list[AnalysisStatus] = []

    def analyze(
        self, namespace: str, spec: ProviderMigrationSpec, status: ProviderMigrationStatus, now: object
    ) -> AnalysisStatus:
        result = super().analyze(namespace, spec, status, now)  # type: ignore[arg-type]
        self.analyses.append(result)
        return result

    def drive(self, seconds: float) -> None:
        """Tick as the driver does: after the wait each decision asks for."""
        end = self.now + timedelta(seconds=seconds)
        wait = 0.0
        while self.now < end:
            decision = self.tick(wait)
            wait = decision.requeue_after if decision.requeue_after is not None else 3600.0


def in_the_pause() -> CountingWorld:
    world = CountingWorld(spec_from(analysis=ANALYSIS, strategy=LONG_PAUSE))
    for _ in range(200):
        if world.status.phase == Phase.PROGRESSING and world.status.last_analysis is not None:
            return world
        world.tick(5)
    raise AssertionError(f"never analysed at step 1; at {world.status.phase}")


def test_a_long_pause_writes_status_at_most_every_five_minutes() -> None:
    world = in_the_pause()
    writes, analyses, start = world.store.status_writes, len(world.analyses), world.now
    world.drive(1800)  # half an hour of the hour-long pause, Pass after Pass
    assert world.status.phase == Phase.PROGRESSING and world.status.current_step == 0
    new_analyses = len(world.analyses) - analyses
    assert 58 <= new_analyses <= 61  # still one every 30 s: the unwritten one counts
    written = world.store.status_writes - writes
    assert 1 <= written <= 1800 / RECORD_ANALYSIS_EVERY
    stored = world.status.last_analysis
    assert stored is not None and world.now - stored.time < timedelta(seconds=RECORD_ANALYSIS_EVERY)
    assert stored.time > start


def test_wakes_between_analyses_neither_measure_nor_write() -> None:
    world = in_the_pause()
    world.drive(100)
    writes, analyses = world.store.status_writes, len(world.analyses)
    for _ in range(5):  # wakes (a label edit, a kopf patch) a few seconds apart, inside one interval
        world.tick(2)
    assert len(world.analyses) == analyses
    assert world.store.status_writes == writes


def test_a_changed_verdict_is_written_at_once() -> None:
    world = in_the_pause()
    world.drive(100)
    writes = world.store.status_writes
    world.verdict = "Inconclusive"
    world.drive(31)
    assert world.store.status_writes > writes
    stored = world.status.last_analysis
    assert stored is not None and stored.verdict == "Inconclusive" and world.status.inconclusives >= 1


def test_a_restart_measures_at_once_and_repeats_no_step() -> None:
    world = in_the_pause()
    world.drive(200)
    stored = world.status.last_analysis
    assert stored is not None and world.now - stored.time >= timedelta(seconds=30)  # the newest one is unwritten
    world.ports.unwritten.clear()  # what a restarted operator starts with
    step, history, analyses = world.status.current_step, len(world.status.history), len(world.analyses)
    decision = world.tick(0)
    assert len(world.analyses) == analyses + 1  # the stored analysis is over an interval old: measured again
    assert world.status.current_step == step and len(world.status.history) == history
    assert decision.requeue_after is not None and decision.requeue_after >= 29
    assert world.status.phase in ANALYSED_PHASES
