"""Synthetic applications calling a gateway's OpenAI-compatible API: TEST AND DEMO TOOLING ONLY.

An asyncio loop on its own daemon thread sends `POST /v1/chat/completions` for one model name at a fixed
rate, rotating over the given API keys and user agents (each pair is a separate client, hence separate
LiteLLM series). Bounded: rate <= MAX_RPS, at most `max_in_flight` requests open (extra ticks are dropped,
not queued), loopback URLs only, and stop() cancels whatever is in flight.
Counts outcomes per status and per deployment (`x-litellm-model-id`), never a key.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from collections.abc import Sequence
from urllib.parse import urlsplit

import httpx

MAX_RPS = 500.0
PROMPT = [{"role": "user", "content": "Summarise our refund policy in two sentences."}]


class ChatClients:
    def __init__(
        self,
        url: str,
        model: str,
        keys: Sequence[str],
        rps: float = 20.0,
        *,
        user_agents: Sequence[str] = ("pmo-client",),
        max_in_flight: int = 32,
        timeout_s: float = 30.0,
    ) -> None:
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("clients only call loopback gateways")
        if not 0 <= rps <= MAX_RPS:
            raise ValueError(f"rps must be within 0..{MAX_RPS}")
        self.url, self.model, self.rps = url.rstrip("/"), model, float(rps)
        self._clients = itertools.cycle([(k, ua) for k in keys for ua in user_agents])
        self.max_in_flight = max_in_flight
        self._timeout_s = timeout_s
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def set_rps(self, rps: float) -> None:
        if not 0 <= rps <= MAX_RPS:
            raise ValueError(f"rps must be within 0..{MAX_RPS}")
        self.rps = float(rps)

    def counts(self) -> dict[str, int]:
        """Keys: `sent`, `dropped`, `ok`, `failed`, `status:<code>`, `model_id:<id>` (answered requests)."""
        with self._lock:
            return dict(self._counts)

    def start(self) -> ChatClients:
        if self._thread is None:
            self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="chat-clients")
            self._thread.daemon = True
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> ChatClients:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _count(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._counts[key] += 1

    async def _main(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        limits = httpx.Limits(max_connections=self.max_in_flight)
        # trust_env=False: a proxy from the environment must never see this loopback traffic.
        async with httpx.AsyncClient(timeout=self._timeout_s, limits=limits, trust_env=False) as client:
            next_at = time.monotonic()
            while not self._stopping.is_set():
                now = time.monotonic()
                if self.rps <= 0:
                    await asyncio.sleep(0.1)
                    next_at = now
                    continue
                if next_at > now:
                    await asyncio.sleep(min(next_at - now, 0.1))
                    continue
                next_at = max(next_at + 1.0 / self.rps, now - 1.0)  # catch up at most 1 s, no bursts
                if len(tasks) >= self.max_in_flight:
                    self._count("dropped")
                    continue
                task = asyncio.create_task(self._one(client, *next(self._clients)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, client: httpx.AsyncClient, key: str, user_agent: str) -> None:
        self._count("sent")
        headers = {"authorization": f"Bearer {key}", "user-agent": user_agent}
        body = {"model": self.model, "messages": PROMPT, "max_tokens": 256}
        try:
            resp = await client.post(f"{self.url}/v1/chat/completions", json=body, headers=headers)
        except httpx.HTTPError:
            self._count("failed", "status:0")
            return
        model_id = resp.headers.get("x-litellm-model-id")
        keys = ["ok" if resp.status_code == 200 else "failed", f"status:{resp.status_code}"]
        if model_id:
            keys.append(f"model_id:{model_id}")
        self._count(*keys)
