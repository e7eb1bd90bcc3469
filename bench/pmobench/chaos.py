"""Concurrent migrations while the operator is SIGKILLed at random moments, the API server restarts (same
etcd data) and Prometheus stops for a few analysis intervals; afterwards every migration is checked
(verify.py) from what the watchers recorded the whole time. Used by bench/chaos.py and tests/e2e/test_chaos.py.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kubernetes import client

from provider_migration.api import constants as c
from provider_migration.api.durations import seconds

from .env import BenchEnvironment
from .measure import ApiTally
from .operators import PmoOperator
from .recorder import Recorder, RouteSample
from .verify import Expectation, verify
from .watch import NamespaceWatcher
from .world import SOURCE_KEY, TARGET_KEY, Names, Rollout, backends, create_migration, gateway_objects, migration

NAMESPACE = "chaos"
FAILING_ERROR_FRACTION = 0.5
# A 10 s analysis and 45 s pauses keep all ten migrations in flight while the faults come; a limit of two
# inconclusive analyses pauses them when Prometheus stops, so the run also covers resuming by `promote`.
CHAOS_ROLLOUT = Rollout(
    steps=((10, "45s"), (30, "45s"), (50, "45s"), (100, None)), interval="10s", baseline_window="1m",
    stabilization="10s", inconclusive_limit=2,
)  # fmt: skip


@dataclass(frozen=True)
class ChaosConfig:
    migrations: int = 10
    kills: int = 20
    apiserver_restarts: int = 1
    prometheus_outages: int = 1
    outage_intervals: int = 3
    bad_every: int = 3  # every third migration's target starts failing at `fail_at` percent
    fail_at: int = 30
    rollout: Rollout = field(default_factory=lambda: CHAOS_ROLLOUT)
    stagger_s: float = 15.0  # migrations are created at random moments within this
    faults_within_s: float = 200.0  # faults are injected at random moments within this
    deadline_s: float = 900.0
    seed: int | None = None


@dataclass
class ChaosReport:
    faults: dict[str, int] = field(default_factory=dict)
    correct: int = 0
    migrations: int = 0
    violations: dict[str, list[str]] = field(default_factory=dict)  # migration -> what went wrong
    outages: list[tuple[float, float]] = field(default_factory=list)
    watch_gaps: int = 0
    promotions: int = 0
    seed: int = 0
    elapsed_s: float = 0.0

    @property
    def violation_count(self) -> int:
        return sum(len(v) for v in self.violations.values())


class ChaosRun:
    def __init__(self, config: ChaosConfig, say: Callable[[str], None] = print) -> None:
        self.config, self.say = config, say
        self.seed = config.seed if config.seed is not None else random.randrange(2**32)
        self.random = random.Random(self.seed)
        self.report = ChaosReport(seed=self.seed)
        self.recorder = Recorder()
        self.names = [Names.of(i) for i in range(config.migrations)]
        bad = {i for i in range(config.migrations) if (i + 1) % config.bad_every == 0}
        self.expect = {i: Expectation(config.fail_at if i in bad else None) for i in range(config.migrations)}
        self._failing: set[int] = set()
        self._promoted: set[str] = set()

    def run(self) -> ChaosReport:
        interval = float(seconds(self.config.rollout.interval))
        with BenchEnvironment("1s") as env, contextlib.ExitStack() as stack:
            self.env, api = env, env.api()
            env.create_namespace(NAMESPACE)
            env.exporter.add(b for nm in self.names for b in backends(nm))
            for nm in self.names:
                gateway_objects(api, NAMESPACE, nm)
            self.recorder.listeners.append(self._inject_failure)
            watchers = [
                NamespaceWatcher(api, NAMESPACE, kind, self.recorder.on_change, ApiTally.new()).start()
                for kind in ("configmaps", "secrets", "providermigrations")
            ]
            for w in watchers:
                stack.callback(w.stop)
            env.prometheus.wait_for_target("litellm", timeout=60)
            self.operator = PmoOperator(env.control_plane.kubeconfig, NAMESPACE, env.workdir / "logs" / "pmo.log")
            self.operator.start()
            stack.callback(self.operator.stop)
            started = time.monotonic()
            self._drive(api, interval, started)
            self.report.elapsed_s = time.monotonic() - started
            self.report.watch_gaps = sum(w.gaps for w in watchers)
            self._verify()
            log = self.operator.log()
            if SOURCE_KEY in log or TARGET_KEY in log:
                self.report.violations.setdefault("operator log", []).append("a secret value is in the log")
        return self.report

    # ----- the schedule ------------------------------------------------------------------------------

    def _schedule(self, interval: float) -> list[tuple[float, str, int]]:
        cfg, rnd = self.config, self.random
        events = [(rnd.uniform(0, cfg.stagger_s), "create", i) for i in range(cfg.migrations)]
        events += [(rnd.uniform(3, cfg.faults_within_s), "kill", 0) for _ in range(cfg.kills)]
        middle = (0.2 * cfg.faults_within_s, 0.8 * cfg.faults_within_s)
        events += [(rnd.uniform(*middle), "apiserver", 0) for _ in range(cfg.apiserver_restarts)]
        events += [(rnd.uniform(*middle), "prometheus", 0) for _ in range(cfg.prometheus_outages)]
        return sorted(events)

    def _drive(self, api: client.ApiClient, interval: float, started: float) -> None:
        cfg = self.config
        pending = self._schedule(interval)
        prometheus_back_at: float | None = None
        indices = list(range(cfg.migrations))
        last_print = 0.0
        while time.monotonic() - started < cfg.deadline_s:
            now = time.monotonic() - started
            while pending and pending[0][0] <= now:
                _, kind, i = pending.pop(0)
                if kind == "create":
                    create_migration(api, NAMESPACE, migration(self.names[i], self.env.prometheus.url, cfg.rollout))
                elif kind == "kill":
                    self._kill_and_restart()
                elif kind == "apiserver":
                    self.say(f"[{now:5.0f}s] restarting the API server")
                    self.env.control_plane.restart_apiserver()
                    self._count("apiserver restarts")
                elif kind == "prometheus" and prometheus_back_at is None:
                    self.env.prometheus.stop()
                    self.report.outages.append((time.time(), float("inf")))
                    prometheus_back_at = time.monotonic() + cfg.outage_intervals * interval
                    self.say(f"[{now:5.0f}s] Prometheus stopped for {cfg.outage_intervals} intervals")
                    self._count("prometheus outages")
            if prometheus_back_at is not None and time.monotonic() >= prometheus_back_at:
                start, _ = self.report.outages[-1]
                self.report.outages[-1] = (start, time.time())
                self.env.prometheus.start()
                prometheus_back_at = None
                self.say(f"[{now:5.0f}s] Prometheus started again")
            if prometheus_back_at is None:
                self._promote_paused(api)
            if not self.operator.alive():
                self.say(f"[{now:5.0f}s] the operator exited on its own; restarting it")
                self._count("unexpected operator exits")
                self.operator.start()
            created = not any(kind == "create" for _, kind, _ in pending)
            if created and not pending and self.recorder.terminal(indices) == cfg.migrations:
                return
            if now - last_print >= 15:
                last_print = now
                self.say(f"[{now:5.0f}s] phases {sorted(self.recorder.phases().items())}")
            time.sleep(0.2)

    def _kill_and_restart(self) -> None:
        self.operator.kill()
        self._count("operator kills")
        time.sleep(self.random.uniform(0, 1.5))
        self.operator.start()

    def _count(self, what: str) -> None:
        self.report.faults[what] = self.report.faults.get(what, 0) + 1

    def _inject_failure(self, index: int, sample: RouteSample) -> None:
        """The failing target's errors start once the route gives it `fail_at` percent (seen by the watch)."""
        exp = self.expect[index]
        if exp.bad and index not in self._failing and exp.fail_at is not None and sample.target_share >= exp.fail_at:
            self._failing.add(index)
            self.env.exporter.set_error_fraction(self.names[index].target_backend, FAILING_ERROR_FRACTION)

    def _promote_paused(self, api: client.ApiClient) -> None:
        """What an operator on call does once Prometheus is back: resume migrations it paused as inconclusive."""
        with self.recorder.lock:
            ids = {
                i: f"chaos-{i}-{len(t.phases)}" for i, t in self.recorder.migrations.items()  # one per Paused spell
                if t.phase == "Paused" and t.status.get("reason") == "AnalysisInconclusive"
            }  # fmt: skip
        for i, request in ids.items():
            if request in self._promoted:
                continue
            self._promoted.add(request)
            with contextlib.suppress(client.ApiException):
                client.CustomObjectsApi(api).patch_namespaced_custom_object(
                    c.GROUP, c.VERSION, NAMESPACE, c.PLURAL, self.names[i].migration,
                    {"metadata": {"annotations": {c.command_annotation("promote"): request}}},
                )  # fmt: skip
                self.report.promotions += 1

    def _verify(self) -> None:
        weights = self.config.rollout.weights()
        with self.recorder.lock:
            for i, names in enumerate(self.names):
                track = self.recorder.migrations.get(i)
                status = track.status if track else {}
                problems = verify(
                    self.expect[i], weights, self.recorder.routes.get(i, []), self.recorder.secrets.get(i, []),
                    status, self.report.outages,
                )  # fmt: skip
                self.report.migrations += 1
                if problems:
                    self.report.violations[names.migration] = problems
                else:
                    self.report.correct += 1
