"""Watching a namespace for the whole run, through operator crashes and an API server restart.

Each watcher lists, then watches from the list's resourceVersion; when the connection drops (the API
server restarting) or the version expires, it lists again and reports every object whose resourceVersion
moved meanwhile, marked `relisted`, so a verifier knows it saw the latest state after a gap rather than
every state. On this control plane resourceVersions are etcd revisions: comparable across objects.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client, watch

from provider_migration.api import constants as c

from .measure import ApiTally


@dataclass(frozen=True)
class Change:
    kind: str  # configmaps, secrets, providermigrations
    name: str
    rv: int
    seen_at: float  # time.time() when the watcher received it
    obj: dict[str, Any] | None  # None: deleted
    relisted: bool = False  # seen by a list after a gap, not as a watch event


class NamespaceWatcher:
    """One kind in one namespace; calls `on_change` (from its own thread) for every new resourceVersion."""

    def __init__(
        self, api: client.ApiClient, namespace: str, kind: str, on_change: Callable[[Change], None], tally: ApiTally
    ) -> None:
        self.namespace, self.kind, self.on_change, self.tally = namespace, kind, on_change, tally
        self._list = self._list_function(api, kind)
        self._rv: dict[str, int] = {}
        self.gaps = 0  # times the watch broke and a list had to fill in
        self.failures = 0  # failed attempts (e.g. while the API server restarts)
        self.synced = threading.Event()
        self._stop = threading.Event()
        self._watch: watch.Watch | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"watch-{kind}")

    @staticmethod
    def _list_function(api: client.ApiClient, kind: str) -> Callable[..., Any]:
        core = client.CoreV1Api(api)
        if kind == "configmaps":
            return core.list_namespaced_config_map
        if kind == "secrets":
            return core.list_namespaced_secret
        if kind == "deployments":
            return client.AppsV1Api(api).list_namespaced_deployment
        custom = client.CustomObjectsApi(api)
        return lambda namespace, **kw: custom.list_namespaced_custom_object(
            c.GROUP, c.VERSION, namespace, c.PLURAL, **kw
        )

    def start(self) -> NamespaceWatcher:
        self._thread.start()
        if not self.synced.wait(60):
            raise TimeoutError(f"no initial list of {self.kind} within 60s")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                rv = self._relist(relisted=not first)
                self.gaps += 0 if first else 1
                first = False
                self.synced.set()
                while not self._stop.is_set():
                    rv = self._watch_from(rv)
            except Exception:
                if self._stop.is_set():
                    return
                self.failures += 1
                self._stop.wait(0.2)

    def _relist(self, relisted: bool) -> str:
        self.tally.add("LIST", self.kind)
        listing = json.loads(self._list(self.namespace, _preload_content=False).data)
        now = time.time()
        present = set()
        for obj in listing.get("items") or []:
            present.add(obj["metadata"]["name"])
            self._seen(obj, now, relisted)
        for name in set(self._rv) - present:
            del self._rv[name]
            self.on_change(Change(self.kind, name, 0, now, None, relisted))
        return str(listing["metadata"]["resourceVersion"])

    def _watch_from(self, rv: str) -> str:
        """Watch until the server ends the request; returns the version to resume from. Raises on expiry."""
        self._watch = watch.Watch()
        try:
            for event in self._watch.stream(
                self._list,
                self.namespace,
                resource_version=rv,
                allow_watch_bookmarks=True,
                timeout_seconds=60,
                deserialize=False,
            ):
                kind, obj = event["type"], event["object"]
                if kind == "ERROR":
                    raise RuntimeError(f"watch error: {obj.get('message')}")
                rv = obj["metadata"]["resourceVersion"]
                if kind == "BOOKMARK":
                    continue
                now = time.time()
                if kind == "DELETED":
                    self._rv.pop(obj["metadata"]["name"], None)
                    self.on_change(Change(self.kind, obj["metadata"]["name"], int(rv), now, None))
                else:
                    self._seen(obj, now, relisted=False)
        finally:
            self.tally.add("WATCH", self.kind)
        return rv

    def _seen(self, obj: dict[str, Any], now: float, relisted: bool) -> None:
        name, rv = obj["metadata"]["name"], int(obj["metadata"]["resourceVersion"])
        if self._rv.get(name) == rv:
            return
        self._rv[name] = rv
        self.on_change(Change(self.kind, name, rv, now, obj, relisted))
