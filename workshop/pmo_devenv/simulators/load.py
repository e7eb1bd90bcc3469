"""Synthetic client load for the gateway simulator (test and demo tooling only).

An asyncio loop on its own daemon thread ticks at a fixed rate, picks an arm by weight for each request
(and mirror targets by percent), calls the provider simulator and records the outcome. Bounded: rate
<= MAX_RPS, at most `max_in_flight` requests open (extra ticks are dropped, not queued), loopback URLs
only, and stop() cancels whatever is in flight, so it never waits on a slow provider.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

import httpx

from pmo_devenv.simulators.metrics import GatewayMetrics, Outcome
from pmo_devenv.simulators.providers import PATHS, QUALITY_HEADER
from pmo_devenv.simulators.routing_readers import Arm, RoutePlan

MAX_RPS = 1000.0
MAX_IN_FLIGHT = 256
PROMPT = [{"role": "user", "content": "Summarise our refund policy in two sentences."}]


@dataclass(frozen=True)
class LiveRoute:
    """What the gateway currently routes by: the plan plus resolved keys (never logged)."""

    plan: RoutePlan | None
    keys: dict[str, str | None] = field(default_factory=dict, repr=False)
    error: str | None = None


def pick_arm(arms: Sequence[Arm], rng: random.Random) -> Arm | None:
    """Weighted pick, as both LiteLLM's simple-shuffle and Envoy do; None when every weight is 0."""
    live = [a for a in arms if a.weight > 0]
    if not live:
        return None
    return rng.choices(live, weights=[a.weight for a in live])[0]


def mirror_arms(plan: RoutePlan, rng: random.Random) -> list[Arm]:
    return [m.arm for m in plan.mirrors if rng.random() * 100.0 < m.percent]


@lru_cache(maxsize=256)
def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LoadGenerator:
    def __init__(
        self,
        route: Callable[[], LiveRoute],
        metrics: GatewayMetrics,
        model_name: str,
        rps: float = 20.0,
        max_in_flight: int = 32,
        seed: int | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._route = route
        self._metrics = metrics
        self._model_name = model_name
        self._rng = random.Random(seed)
        self._timeout_s = timeout_s
        self.max_in_flight = max(1, min(int(max_in_flight), MAX_IN_FLIGHT))
        self.rps = 0.0
        self.set_rps(rps)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sending = False  # what the loop saw last: written by its thread only

    def set_rps(self, rps: float) -> None:
        if not 0.0 <= rps <= MAX_RPS:
            raise ValueError(f"rps must be within 0..{MAX_RPS}")
        self.rps = float(rps)

    def settled(self) -> bool:
        """True once the loop has seen rps 0 and every request it sent (mirrors too) has been answered: from
        then on the counts stay as they are, however fast or slow the machine was."""
        return not self._sending and not self._tasks

    def counts(self) -> dict[str, int]:
        """Keys: `sent`, `dropped`, `no_route`, `<backend>:success|failure|mirrored`."""
        with self._lock:
            return dict(self._counts)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="gateway-sim-load")
            self._thread.daemon = True
            self._thread.start()

    def stop(self) -> bool:
        """Cancel what is in flight and end the loop; False when it has not ended within 5 s."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout=5)
        return not thread.is_alive()

    def _count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    async def _main(self) -> None:
        tasks = self._tasks
        # trust_env=False: a proxy from the environment must never see this loopback traffic.
        limits = httpx.Limits(max_connections=self.max_in_flight * 2)
        async with httpx.AsyncClient(timeout=self._timeout_s, limits=limits, trust_env=False) as client:
            next_at = time.monotonic()
            while not self._stopping.is_set():
                rps = self.rps  # read once: set_rps may change it from another thread meanwhile
                self._sending = rps > 0
                if rps <= 0:
                    await asyncio.sleep(0.1)
                    next_at = time.monotonic()
                    continue
                now = time.monotonic()
                if next_at > now:
                    await asyncio.sleep(min(next_at - now, 0.1))  # short naps keep stop() prompt
                    continue
                next_at = max(next_at + 1.0 / rps, now - 1.0)  # catch up at most 1 s, no bursts
                if len(tasks) >= self.max_in_flight:
                    self._count("dropped")
                    continue
                self._spawn(self._one(client))
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[None, None, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _one(self, client: httpx.AsyncClient) -> None:
        live = self._route()
        arm = pick_arm(live.plan.arms, self._rng) if live.plan else None
        if live.plan is None or arm is None:
            self._count("no_route")
            return
        mirrors = mirror_arms(live.plan, self._rng)
        self._count("sent")
        for target in mirrors:
            # Mirrored responses are ignored, as Envoy does; only counted.
            self._spawn(self._mirror(client, target, live.keys.get(target.backend)))
        out = await self._call(client, arm, live.keys.get(arm.backend))
        self._metrics.record(out)
        self._count(f"{arm.backend}:{'success' if out.ok else 'failure'}")

    async def _mirror(self, client: httpx.AsyncClient, arm: Arm, key: str | None) -> None:
        await self._call(client, arm, key)
        self._metrics.record_mirror(arm.backend)
        self._count(f"{arm.backend}:mirrored")

    async def _call(self, client: httpx.AsyncClient, arm: Arm, key: str | None) -> Outcome:
        start = time.monotonic()
        if not arm.url or not is_loopback(arm.url):
            # An unresolvable backend is answered 500, like Gateway API's invalid backendRef.
            return Outcome(arm, self._model_name, 500, time.monotonic() - start)
        headers = {"content-type": "application/json"}
        body: dict[str, object] = {"model": arm.upstream_model, "messages": PROMPT, "max_tokens": 256}
        if arm.flavor == "anthropic":
            headers["anthropic-version"] = "2023-06-01"
            if key:
                headers["x-api-key"] = key
        elif key:
            headers["authorization"] = f"Bearer {key}"
        try:
            resp = await client.post(arm.url + PATHS[arm.flavor], json=body, headers=headers)
        except httpx.HTTPError:
            return Outcome(arm, self._model_name, 500, time.monotonic() - start)
        latency = time.monotonic() - start
        if resp.status_code != 200:
            return Outcome(arm, self._model_name, resp.status_code, latency)
        try:
            usage = resp.json().get("usage") or {}
            quality = resp.headers.get(QUALITY_HEADER)
            return Outcome(
                arm,
                self._model_name,
                200,
                latency,
                int(usage.get("prompt_tokens", usage.get("input_tokens", 0))),
                int(usage.get("completion_tokens", usage.get("output_tokens", 0))),
                float(quality) if quality else None,
            )
        except (ValueError, AttributeError):
            return Outcome(arm, self._model_name, 502, latency)
