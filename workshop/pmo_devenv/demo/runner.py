"""One scenario end to end: world up, operator up, the migration applied, the fault injected at the
50 % step, watched until its outcome (or the deadline), everything stopped again."""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubernetes import client

from pmo_devenv.kubeconfig import api_client
from pmo_devenv.prometheus import Prometheus
from provider_migration.api import constants as c
from provider_migration.api.durations import seconds
from provider_migration.api.reasons import PauseReason
from provider_migration.api.status import Phase
from provider_migration.views.migration import Migration

from .breach import breach_measure
from .environment import DemoEnvironment
from .operator_process import operator_process
from .result import DemoResult
from .scenarios import SCENARIOS, Scenario, describe_fault
from .watchers import BreachProbe, RouteWatcher, scalar
from .world import MIGRATION, MODEL_NAME, ROUTE, SOURCE_BACKEND, TARGET_BACKEND, DemoSettings, DemoWorld, install_crd

FAULT_WEIGHT = 50
TERMINAL = {Phase.SUCCEEDED.value, Phase.ROLLED_BACK.value, Phase.FAILED.value}
TICK = 0.2


@dataclass
class Progress:
    """What the live view shows; times are time.monotonic()."""

    scenario: Scenario
    namespace: str
    environment: str
    settings: DemoSettings
    started: float
    note: str = ""
    created_at: float | None = None
    migration: Migration | None = None
    weights: list[int] = field(default_factory=list)
    fault: str = "none"
    fault_at: float | None = None
    breach_at: float | None = None
    restored_at: float | None = None
    target_last_request_at: float | None = None  # when the target simulator last saw its request count grow
    ended_at: float | None = None

    @property
    def route_weight(self) -> int | None:
        return self.weights[-1] if self.weights else None


class View(Protocol):
    def update(self, progress: Progress) -> None: ...


def run_scenario(env: DemoEnvironment, name: str, settings: DemoSettings, view: View) -> DemoResult:
    scenario = SCENARIOS[name]
    namespace = f"demo-{name}-{secrets.token_hex(3)}"
    progress = Progress(scenario, namespace, env.origin, settings, started=time.monotonic())
    result = DemoResult(scenario, namespace, env.origin)
    api = api_client(env.kubeconfig)
    try:
        progress.note = "installing the CRD"
        view.update(progress)
        install_crd(api)
        with env.prometheus_for(scenario.stops_prometheus) as prometheus:
            _Run(env, api, prometheus, progress, result, view).run()
    finally:
        api.close()
    return result


class _Run:
    def __init__(
        self,
        env: DemoEnvironment,
        api: client.ApiClient,
        prometheus: Prometheus,
        progress: Progress,
        result: DemoResult,
        view: View,
    ) -> None:
        self.env, self.api, self.prometheus, self.progress, self.result, self.view = (
            env,
            api,
            prometheus,
            progress,
            result,
            view,
        )
        ns = progress.namespace
        self.world = DemoWorld(api, str(env.kubeconfig), ns, progress.settings, prometheus, env.workdir / ns)
        self.operator = operator_process(env.kubeconfig, ns, env.workdir / f"{ns}-operator.log")
        self.route = RouteWatcher(api, ns, ROUTE, MODEL_NAME, TARGET_BACKEND)
        self.probe: BreachProbe | None = None
        self.injected = False
        self.deadline = progress.started + progress.settings.timeout_s
        self.paused_since: float | None = None
        self.target_answered = 0

    def run(self) -> None:
        progress = self.progress
        try:
            progress.note = (
                f"starting the provider simulators, the {progress.settings.gateway} gateway and the operator"
            )
            self.view.update(progress)
            self.world.start()
            self.operator.start()
            self.route.start()
            _wait_for_baseline_data(self.prometheus, progress, self.view, self.deadline)
            self.world.create_migration(self.prometheus.url)
            progress.created_at = time.monotonic()
            self.result.setup_seconds = progress.created_at - progress.started
            progress.note = ""
            while not self.finished(time.monotonic()):
                time.sleep(TICK)
            progress.ended_at = time.monotonic()
            time.sleep(0.5)  # let the watch deliver the last write of the final tick
        finally:
            self.stop()
        _fill(self.result, progress, self.route, self.operator.log_tail(60))

    def finished(self, now: float) -> bool:
        """Observe once (route, migration, breach), inject the fault when due; True at the outcome."""
        progress, settings = self.progress, self.progress.settings
        progress.weights = self.route.weights
        body = _read_migration(self.api, progress.namespace)
        if body is not None:
            progress.migration = Migration.from_object(body)
        reached = self.route.first_time_at(FAULT_WEIGHT)
        due = reached is not None and progress.route_weight == FAULT_WEIGHT and now - reached >= settings.fault_delay_s
        if due and not self.injected:
            self.injected, self.probe = True, _inject(progress.scenario, self.world, self.prometheus, progress)
        if self.probe is not None:
            progress.breach_at = self.probe.visible_at
        if progress.fault_at is not None and progress.restored_at is None:
            progress.restored_at = self.route.first_time_at(0, after=progress.fault_at)
        answered = self.world.target.stats().get("total", 0)
        if answered != self.target_answered:  # counted at the provider: what the gateway really sends
            self.target_answered, progress.target_last_request_at = answered, now
        self.view.update(progress)
        mig = progress.migration
        if mig is not None and mig.phase in TERMINAL:
            return True
        if (
            mig is not None
            and mig.phase == Phase.PAUSED.value
            and mig.status.pause_reason == PauseReason.ANALYSIS_INCONCLUSIVE
        ):
            # Show that it holds: one more interval without any promotion, then the outcome stands.
            self.paused_since = self.paused_since or now
            if now - self.paused_since >= seconds(settings.interval):
                return True
        if not self.operator.alive():
            self.result.operator_exited = True
            return True
        if now > self.deadline:
            self.result.timed_out = True
            return True
        return False

    def stop(self) -> None:
        if self.probe is not None:
            self.probe.stop()
        self.operator.stop()
        self.route.stop()
        self.result.requests = {"source": self.world.source.stats(), "target": self.world.target.stats()}
        self.world.stop(delete_namespace=not self.env.keep_namespace)


def _wait_for_baseline_data(prometheus: Prometheus, progress: Progress, view: View, deadline: float) -> None:
    """The baseline is captured the moment the migration exists: first let Prometheus hold a whole window of
    the source's traffic (this also ages earlier runs' series out of every window the operator queries)."""
    window = seconds(progress.settings.baseline_window)
    query = (
        f'count_over_time(litellm_deployment_total_requests_total{{namespace="{progress.namespace}",'
        f'model_id="{SOURCE_BACKEND}"}}[{progress.settings.baseline_window}])'
    )
    while True:
        with contextlib.suppress(RuntimeError):
            samples = scalar(prometheus.query(query)) or 0
            progress.note = f"collecting a baseline: {samples:.0f}/{window} s of source traffic in Prometheus"
            view.update(progress)
            every = 2 if progress.settings.gateway == "litellm" else 1  # LiteLLM is scraped every 2 s
            if samples >= window / every - 1:  # a full window holds window/every-1 to window/every samples
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"Prometheus did not collect {window} s of the gateway's metrics in time")
        time.sleep(0.5)


def _inject(scenario: Scenario, world: DemoWorld, prometheus: Prometheus, progress: Progress) -> BreachProbe | None:
    if scenario.stops_prometheus:
        progress.fault_at = time.monotonic()
        prometheus.stop()
        progress.fault = describe_fault(scenario, None)
        return None
    if scenario.fault is None:
        return None
    changes = scenario.fault(world.target.config)
    progress.fault_at = time.monotonic()
    world.inject(changes)
    progress.fault = describe_fault(scenario, changes)
    mig = progress.migration
    if scenario.criterion is None or mig is None or mig.spec is None:
        return None
    measure, threshold = breach_measure(scenario.criterion, mig.spec, mig.status, prometheus, progress.namespace)
    return BreachProbe(measure, threshold).start()


def _read_migration(api: client.ApiClient, ns: str) -> dict[str, Any] | None:
    try:
        body = client.CustomObjectsApi(api).get_namespaced_custom_object(c.GROUP, c.VERSION, ns, c.PLURAL, MIGRATION)
    except Exception:  # a slow or restarting API server: the next tick reads again
        return None
    return body if isinstance(body, dict) else None


def _fill(result: DemoResult, progress: Progress, route: RouteWatcher, log_tail: str) -> None:
    created = progress.created_at or time.monotonic()
    mig = progress.migration
    if mig is not None:
        result.phase, result.reason = mig.phase, mig.status.reason
        result.rollback_message = mig.status.rollback_reason
        result.decisions = list((mig.raw.get("status") or {}).get("history") or [])
    result.weights = [ch.weight for ch in route.changes]
    result.weight_times = [max(ch.at - created, 0.0) for ch in route.changes]
    result.fault = progress.fault
    result.fault_at = None if progress.fault_at is None else progress.fault_at - created
    if progress.breach_at is not None:
        result.breach_visible_at = progress.breach_at - created
    if progress.restored_at is not None:
        result.route_restored_at = progress.restored_at - created
    if progress.target_last_request_at is not None and progress.breach_at is not None:
        # Only meaningful once the route is restored: the target's last request, the source serving all after it.
        result.target_last_request_at = progress.target_last_request_at - created
    result.duration_seconds = (progress.ended_at or time.monotonic()) - created
    result.operator_log_tail = log_tail
