"""Observers of a demo run: the routing object (watched the whole time) and the breach in Prometheus."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client, watch

from pmo_devenv.simulators.routing_readers import RouteError, read_litellm_configmap


def target_share(config_map: client.V1ConfigMap | None, model_name: str, target_backend: str) -> int | None:
    """The target's share in percent as the gateway reads the config (None when unreadable)."""
    if config_map is None:
        return None
    try:
        plan = read_litellm_configmap({"data": config_map.data or {}}, model_name, {}, None)
    except RouteError:
        return None
    return round(100 * plan.shares().get(target_backend, 0.0))


@dataclass
class WeightChange:
    at: float  # time.monotonic() when the change arrived
    weight: int


@dataclass
class RouteWatcher:
    """Records every distinct target weight the LiteLLM ConfigMap goes through, from a watch (not polling),
    so even a short-lived step is seen; re-lists when the watch expires or breaks."""

    api: client.ApiClient
    namespace: str
    name: str
    model_name: str
    target_backend: str
    changes: list[WeightChange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._core = client.CoreV1Api(self.api)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="demo-route-watch", daemon=True)

    def start(self) -> RouteWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    @property
    def weights(self) -> list[int]:
        with self._lock:
            return [c.weight for c in self.changes]

    @property
    def current(self) -> int | None:
        with self._lock:
            return self.changes[-1].weight if self.changes else None

    def first_time_at(self, weight: int, after: float = -math.inf) -> float | None:
        with self._lock:
            return next((c.at for c in self.changes if c.weight == weight and c.at >= after), None)

    def _record(self, config_map: client.V1ConfigMap | None) -> None:
        weight = target_share(config_map, self.model_name, self.target_backend)
        with self._lock:
            if weight is not None and (not self.changes or self.changes[-1].weight != weight):
                self.changes.append(WeightChange(time.monotonic(), weight))

    def _run(self) -> None:
        selector = f"metadata.name={self.name}"
        while not self._stop.is_set():
            try:
                listed = self._core.list_namespaced_config_map(self.namespace, field_selector=selector)
                self._record(listed.items[0] if listed.items else None)
                version = listed.metadata.resource_version if listed.metadata else None
                stream = watch.Watch().stream(
                    self._core.list_namespaced_config_map, self.namespace, field_selector=selector,
                    resource_version=version, timeout_seconds=2, allow_watch_bookmarks=False,
                )  # fmt: skip
                for event in stream:  # ends after timeout_seconds, so stop() is noticed promptly
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._record(event["object"])
                    if self._stop.is_set():
                        break
            except Exception:  # API hiccup or an expired resourceVersion: list again
                self._stop.wait(0.2)


class BreachProbe:
    """Polls one criterion's value in Prometheus until it first crosses its threshold: the moment the
    breach is visible to anyone who asks, against which the operator's reaction is timed."""

    def __init__(
        self, measure: Callable[[], tuple[float | None, float | None]], threshold: float, period: float = 0.1
    ) -> None:
        self._measure, self.threshold, self.period = measure, threshold, period
        self.visible_at: float | None = None  # time.monotonic()
        self.value: float | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-breach-probe", daemon=True)

    def start(self) -> BreachProbe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set() and self.visible_at is None:
            started = time.monotonic()
            try:
                value, samples = self._measure()
                self.error = None
            except Exception as e:  # Prometheus busy or restarting: ask again
                value, samples, self.error = None, None, type(e).__name__
            self.value = value
            if value is not None and samples is not None and _beyond(value, self.threshold):
                self.visible_at = started  # the answer describes the data as of the request
                return
            self._stop.wait(self.period)


def _beyond(value: float, limit: float) -> bool:
    # As the criteria judge it: strictly beyond, float noise at the boundary does not count.
    return value > limit and not math.isclose(value, limit, rel_tol=1e-9, abs_tol=1e-12)


def scalar(result: list[Any]) -> float | None:
    """The single value of an instant query's result (a vector, or a scalar `[time, "value"]`); None for no
    data or NaN."""
    if not result:
        return None
    with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
        raw = result[1] if len(result) == 2 and not isinstance(result[0], dict) else result[0]["value"][1]
        value = float(raw)
        return None if math.isnan(value) else value
    return None
