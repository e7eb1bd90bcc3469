"""Liveness: kopf's health endpoint proves only that the probe task runs; this proves the ticks do too."""

from __future__ import annotations

import time


class Heartbeat:
    def __init__(self, stale_after: float) -> None:
        self.stale_after = stale_after
        self.last = time.monotonic()
        self.active = 0  # migrations whose driver loop is running

    def beat(self) -> None:
        self.last = time.monotonic()

    def age(self) -> float:
        return time.monotonic() - self.last

    def check(self) -> dict[str, float | int]:
        """Raises (so the liveness probe fails and the pod restarts) when drivers exist but stopped ticking."""
        age = self.age()
        if self.active and age > self.stale_after:
            raise RuntimeError(f"no reconcile tick for {age:.0f}s with {self.active} active migrations")
        return {"lastTickAgeSeconds": round(age, 1), "activeMigrations": self.active}
