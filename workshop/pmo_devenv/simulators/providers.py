"""Fake LLM provider servers: TEST AND DEMO TOOLING ONLY, never used by the operator at run time.

`ProviderSimulator(flavor="openai")` answers `POST /v1/chat/completions` like the OpenAI API;
`flavor="anthropic"` answers `POST /v1/messages` like the Anthropic API. Both check the API key
(`Authorization: Bearer` / `x-api-key`), return realistic bodies with token usage, and can be tuned at run
time (latency, error rate, token counts, a quality score) through `POST /admin/config` or `.configure()`.
The quality score travels back in the `x-sim-quality` response header (the gateway simulator exports it) and
is exported by the provider itself on `GET /metrics` as `llm_quality_score{backend=...}`, a decaying mean of
what it answered: the stand-in for a quality judge, scraped beside a real gateway that knows nothing of it.

Admin endpoints (`/admin/config`, `/admin/stats`) and `/healthz` need no key: this is loopback tooling.

CLI: python -m pmo_devenv.simulators.providers --flavor openai --port 8001 \\
         --api-key-env OPENAI_API_KEY
"""

from __future__ import annotations

import argparse
import dataclasses
import hmac
import os
import random
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from pmo_devenv.simulators._http import BackgroundServer, JsonHandler, make_server, serve_until_terminated, url_for

Flavor = Literal["openai", "anthropic"]
FLAVORS: tuple[Flavor, ...] = ("openai", "anthropic")
QUALITY_HEADER = "x-sim-quality"
PATHS: dict[str, str] = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}
DEFAULT_ERROR_STATUS: dict[str, int] = {"openai": 500, "anthropic": 529}
QUALITY_ALPHA = 0.2  # weight of the newest answer in the decaying mean quality


@dataclass(frozen=True)
class ProviderConfig:
    """Run-time knobs. Means are in ms / tokens; rates and quality are fractions in 0..1."""

    latency_ms: float = 50.0
    latency_jitter_ms: float = 10.0
    error_rate: float = 0.0
    error_status: int | None = None  # None: 500 for openai, 529 (overloaded) for anthropic
    input_tokens: int = 400
    output_tokens: int = 200
    quality: float = 0.9
    quality_jitter: float = 0.0

    def updated(self, changes: dict[str, Any]) -> ProviderConfig:
        """A validated copy with `changes` applied; raises ValueError on unknown keys or bad values."""
        fields = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - fields
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        values = dataclasses.asdict(self) | changes
        try:
            new = ProviderConfig(
                latency_ms=float(values["latency_ms"]),
                latency_jitter_ms=float(values["latency_jitter_ms"]),
                error_rate=float(values["error_rate"]),
                error_status=None if values["error_status"] is None else int(values["error_status"]),
                input_tokens=int(values["input_tokens"]),
                output_tokens=int(values["output_tokens"]),
                quality=float(values["quality"]),
                quality_jitter=float(values["quality_jitter"]),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad config value: {exc}") from None
        new.check()
        return new

    def check(self) -> None:
        if self.latency_ms < 0 or self.latency_jitter_ms < 0:
            raise ValueError("latency_ms and latency_jitter_ms must be >= 0")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be within 0..1")
        if not 0.0 <= self.quality <= 1.0 or self.quality_jitter < 0:
            raise ValueError("quality must be within 0..1 and quality_jitter >= 0")
        if self.input_tokens < 0 or self.output_tokens < 0:
            raise ValueError("token means must be >= 0")
        if self.error_status is not None and not 400 <= self.error_status <= 599:
            raise ValueError("error_status must be an HTTP error status")


class ProviderSimulator:
    """One fake provider endpoint on its own loopback port (test and demo tooling)."""

    def __init__(
        self,
        flavor: Flavor = "openai",
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        *,
        seed: int | None = None,
        backend: str | None = None,
        **config: Any,
    ) -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {FLAVORS}")
        self.flavor: Flavor = flavor
        self._api_key = api_key  # None disables the check; never logged or returned
        self.backend = backend or flavor  # the `backend` label of its own metrics
        self._quality: float | None = None
        self._config = ProviderConfig().updated(config)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stats: Counter[str] = Counter()
        self._stopping = threading.Event()
        handler = type("ProviderHandler", (_ProviderHandler,), {"sim": self})
        self._server = BackgroundServer(make_server(host, port, handler), f"provider-sim-{flavor}")
        self.host = host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return url_for(self.host, self.port)

    def start(self) -> ProviderSimulator:
        self._server.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping on simulated latency
        self._server.stop()

    def __enter__(self) -> ProviderSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def configure(self, **changes: Any) -> ProviderConfig:
        """Change knobs at run time; `api_key=` rotates the expected key."""
        with self._lock:
            if "api_key" in changes:
                self._api_key = changes.pop("api_key")
            self._config = self._config.updated(changes)
            return self._config

    @property
    def config(self) -> ProviderConfig:
        return self._config

    def config_view(self) -> dict[str, Any]:
        return dataclasses.asdict(self._config) | {"flavor": self.flavor, "api_key_set": self._api_key is not None}

    def stats(self) -> dict[str, int]:
        """Requests seen, keyed `total` and `status_<code>`."""
        with self._lock:
            return dict(self._stats)

    # --- request handling (called from handler threads) ---

    def key_ok(self, presented: str | None) -> bool:
        expected = self._api_key
        if expected is None:
            return True
        return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())

    def count(self, status: int, quality: float | None = None) -> None:
        with self._lock:
            self._stats["total"] += 1
            self._stats[f"status_{status}"] += 1
            if quality is not None:
                prev = self._quality
                self._quality = quality if prev is None else prev + QUALITY_ALPHA * (quality - prev)

    def metrics_text(self) -> str:
        """Prometheus text: the quality gauge and the requests it answered per status (ground truth)."""
        label = self.backend.replace("\\", "\\\\").replace('"', '\\"')
        with self._lock:
            stats, quality = dict(self._stats), self._quality
        lines = ["# TYPE llm_provider_sim_requests_total counter"]
        for key, value in sorted(stats.items()):
            if key.startswith("status_"):
                lines.append(f'llm_provider_sim_requests_total{{backend="{label}",status="{key[7:]}"}} {value}')
        if quality is not None:
            lines += ["# TYPE llm_quality_score gauge", f'llm_quality_score{{backend="{label}"}} {quality:.6f}']
        return "\n".join(lines) + "\n"

    def draw(self) -> tuple[float, bool, int, int, float]:
        """(delay_s, fail, input_tokens, output_tokens, quality) for one request, from the seeded RNG."""
        cfg, rng = self._config, self._rng
        with self._lock:
            delay = max(0.0, rng.gauss(cfg.latency_ms, cfg.latency_jitter_ms)) / 1000.0
            fail = rng.random() < cfg.error_rate
            tin = max(1, round(rng.gauss(cfg.input_tokens, cfg.input_tokens * 0.1))) if cfg.input_tokens else 0
            tout = max(1, round(rng.gauss(cfg.output_tokens, cfg.output_tokens * 0.1))) if cfg.output_tokens else 0
            quality = min(1.0, max(0.0, rng.gauss(cfg.quality, cfg.quality_jitter)))
        return delay, fail, tin, tout, quality

    def sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _ProviderHandler(JsonHandler):
    sim: ProviderSimulator

    def do_GET(self) -> None:
        if self.path == "/metrics":
            self.send_bytes(200, self.sim.metrics_text().encode(), "text/plain; version=0.0.4")
        elif self.path == "/healthz":
            self.send_json(200, {"status": "ok", "flavor": self.sim.flavor})
        elif self.path == "/admin/config":
            self.send_json(200, self.sim.config_view())
        elif self.path == "/admin/stats":
            self.send_json(200, self.sim.stats())
        else:
            self.send_json(404, _error_body(self.sim.flavor, 404, "not found"))

    def do_POST(self) -> None:
        try:
            body = self.read_json()
        except (ValueError, UnicodeDecodeError):
            self._answer(400, _error_body(self.sim.flavor, 400, "request body is not valid JSON"))
            return
        if self.path == "/admin/config":
            self._admin_config(body)
        elif self.path == PATHS[self.sim.flavor]:
            self._completion(body)
        else:
            self._answer(404, _error_body(self.sim.flavor, 404, f"no route for {self.path}"))

    def _admin_config(self, body: Any) -> None:
        if not isinstance(body, dict):
            self.send_json(400, {"error": "expected a JSON object"})
            return
        try:
            self.sim.configure(**body)
        except ValueError as exc:
            self.send_json(400, {"error": str(exc)})
            return
        self.send_json(200, self.sim.config_view())

    def _completion(self, body: Any) -> None:
        flavor = self.sim.flavor
        if not self.sim.key_ok(_presented_key(flavor, self.headers)):
            self._answer(401, _error_body(flavor, 401, "invalid api key"))
            return
        problem = _validate(flavor, body)
        if problem:
            self._answer(400, _error_body(flavor, 400, problem))
            return
        delay, fail, tin, tout, quality = self.sim.draw()
        self.sim.sleep(delay)
        if fail:
            status = self.sim.config.error_status or DEFAULT_ERROR_STATUS[flavor]
            self._answer(status, _error_body(flavor, status, "simulated provider error"))
            return
        model = str(body["model"])
        payload = _openai_body(model, tin, tout) if flavor == "openai" else _anthropic_body(model, tin, tout)
        self._answer(200, payload, {QUALITY_HEADER: f"{quality:.4f}"}, quality)

    def _answer(
        self, status: int, body: Any, headers: dict[str, str] | None = None, quality: float | None = None
    ) -> None:
        self.sim.count(status, quality)
        self.send_json(status, body, {"x-request-id": f"req_{secrets.token_hex(12)}", **(headers or {})})


def _presented_key(flavor: str, headers: Any) -> str | None:
    if flavor == "anthropic":
        return headers.get("x-api-key")
    auth = headers.get("Authorization") or ""
    return auth[7:] if auth.startswith("Bearer ") else None


def _validate(flavor: str, body: Any) -> str | None:
    if not isinstance(body, dict):
        return "expected a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: field required"
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return "messages: field required"
    if flavor == "anthropic" and not isinstance(body.get("max_tokens"), int):
        return "max_tokens: field required"
    return None


def _openai_body(model: str, tin: int, tout: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_sim",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": f"Simulated answer from {model}.", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout},
    }


def _anthropic_body(model: str, tin: int, tout: int) -> dict[str, Any]:
    return {
        "id": f"msg_{secrets.token_hex(12)}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": f"Simulated answer from {model}."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": tin, "output_tokens": tout},
    }


_OPENAI_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "unknown_url"),
    429: ("rate_limit_exceeded", "rate_limit_exceeded"),
}
_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _error_body(flavor: str, status: int, message: str) -> dict[str, Any]:
    if flavor == "anthropic":
        kind = _ANTHROPIC_ERRORS.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    kind, code = _OPENAI_ERRORS.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake LLM provider (test and demo tooling).")
    parser.add_argument("--flavor", choices=FLAVORS, default="openai")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--api-key-env", default=None, help="name of the env var holding the expected key (keeps it off argv)"
    )
    parser.add_argument("--no-auth", action="store_true", help="accept any key")
    parser.add_argument("--seed", type=int, default=None)
    defaults = ProviderConfig()
    for field in dataclasses.fields(ProviderConfig):
        if field.name == "error_status":
            parser.add_argument("--error-status", type=int, default=None)
            continue
        kind = int if isinstance(getattr(defaults, field.name), int) else float
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=kind, default=getattr(defaults, field.name))
    args = parser.parse_args(argv)
    api_key = None
    if not args.no_auth:
        if not args.api_key_env or not os.environ.get(args.api_key_env):
            parser.error("give --api-key-env NAME (set in the environment) or --no-auth")
        api_key = os.environ[args.api_key_env]
    config = {f.name: getattr(args, f.name) for f in dataclasses.fields(ProviderConfig)}
    sim = ProviderSimulator(args.flavor, args.host, args.port, api_key, seed=args.seed, **config)
    return serve_until_terminated(sim, {"flavor": sim.flavor, "url": sim.url})


if __name__ == "__main__":
    sys.exit(main())
