"""LLM gateway simulator: TEST AND DEMO TOOLING ONLY, never used by the operator at run time.

Follows the routing object the operator writes (LiteLLM ConfigMap, HTTPRoute or AIGatewayRoute), polling
it and the key Secrets it references, sends a steady synthetic load split by those weights to provider
simulators on loopback, and exports the chosen preset's metrics on its own port:

    GET  /metrics       Prometheus text (private registry)
    GET  /weights       JSON: weights read from the route, shares, per-arm request counts, last read error
    POST /admin/config  JSON {"rps": n}: change the load at run time
    GET  /healthz

Unlike a real LiteLLM (which reads config.yaml at start-up), ConfigMap changes apply at the next poll: the
operator's reload step has no pods to roll here.

CLI: python -m pmo_devenv.simulators.gateway --kubeconfig kc --namespace support \\
         --route-kind ConfigMap --route-name llm-gateway --model-name chat --preset litellm \\
         --gateway-secret llm-gateway-keys --backend openai-gpt-4o=http://127.0.0.1:8001,model=gpt-4o
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pmo_devenv.simulators._http import BackgroundServer, JsonHandler, make_server, serve_until_terminated, url_for
from pmo_devenv.simulators.kube import RouteReader, SecretReader, kube_readers
from pmo_devenv.simulators.load import LiveRoute, LoadGenerator
from pmo_devenv.simulators.metrics import PRESETS, make_metrics
from pmo_devenv.simulators.routing_readers import (
    Backend,
    RouteError,
    RoutePlan,
    normalize_kind,
    read_route,
)


class GatewaySimulator:
    """One simulated gateway for one routed model name (test and demo tooling)."""

    def __init__(
        self,
        kubeconfig: str | None,
        namespace: str,
        route_kind: str,
        route_name: str,
        model_name: str,
        preset: str = "litellm",
        backends: Mapping[str, Mapping[str, Any] | Backend] | None = None,
        gateway_secret: str | None = None,
        rps: float = 20.0,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        max_in_flight: int = 32,
        poll_interval: float = 0.5,
        timeout_s: float = 30.0,
        seed: int | None = None,
        route_reader: RouteReader | None = None,
        secret_reader: SecretReader | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.route_kind = normalize_kind(route_kind)
        self.route_name = route_name
        self.model_name = model_name
        self.gateway_secret = gateway_secret
        self.backends = {
            name: spec if isinstance(spec, Backend) else Backend.parse(spec) for name, spec in (backends or {}).items()
        }
        self.metrics = make_metrics(preset)
        self.preset = self.metrics.preset
        self.poll_interval = max(0.05, poll_interval)
        self._read_route = route_reader
        self._read_secret = secret_reader
        self._live = LiveRoute(None, error="not read yet")
        self._updated_at = 0.0
        self._stopping = threading.Event()
        self._poller: threading.Thread | None = None
        self.load = LoadGenerator(
            lambda: self._live, self.metrics, model_name, rps, max_in_flight, seed=seed, timeout_s=timeout_s
        )
        handler = type("GatewayHandler", (_GatewayHandler,), {"sim": self})
        self._server = BackgroundServer(make_server(host, port, handler), "gateway-sim-metrics")
        self.host = host

    @property
    def url(self) -> str:
        return url_for(self.host, self._server.port)

    @property
    def metrics_url(self) -> str:
        return self.url + "/metrics"

    def start(self) -> GatewaySimulator:
        if self._read_route is None:
            self._read_route, kube_secret = kube_readers(
                self.kubeconfig, self.namespace, self.route_kind, self.route_name
            )
            self._read_secret = self._read_secret or kube_secret
        self.refresh()
        self._server.start()
        self._poller = threading.Thread(target=self._poll, name="gateway-sim-poll", daemon=True)
        self._poller.start()
        self.load.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.load.stop()
        if self._poller is not None:
            # Daemon thread: if the API server hangs a read, stop() returns anyway.
            self._poller.join(timeout=1)
        self._server.stop()

    def __enter__(self) -> GatewaySimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refresh(self) -> LiveRoute:
        """Read the routing object and its keys once; keeps the last good plan if the API is unreachable."""
        assert self._read_route is not None, "start() or a route_reader is needed"
        try:
            obj = self._read_route()
            if obj is None:
                live = LiveRoute(None, error=f"{self.route_kind} {self.namespace}/{self.route_name} not found")
            else:
                plan = read_route(self.route_kind, obj, self.model_name, self.backends, self.gateway_secret)
                live = LiveRoute(plan, self._resolve_keys(plan))
        except RouteError as exc:
            live = LiveRoute(None, error=str(exc))
        except Exception as exc:  # API down: a real gateway keeps serving its last config
            status = getattr(exc, "status", None)
            reason = f"read failed: {type(exc).__name__}" + (f" {status}" if status else "")
            live = LiveRoute(self._live.plan, self._live.keys, error=reason)
        self._live = live
        self._updated_at = time.time()
        self.metrics.set_weights(live.plan.weights() if live.plan else {})
        return live

    def _resolve_keys(self, plan: RoutePlan) -> dict[str, str | None]:
        cache: dict[str, dict[str, str] | None] = {}
        keys: dict[str, str | None] = {}
        for arm in (*plan.arms, *(m.arm for m in plan.mirrors)):
            key = arm.api_key
            if key is None and arm.key_ref is not None and self._read_secret is not None:
                name = arm.key_ref.secret_name
                if name not in cache:
                    cache[name] = self._read_secret(name)
                key = (cache[name] or {}).get(arm.key_ref.key)
            keys[arm.backend] = key  # None: sent without a key, so the provider answers 401
        return keys

    def _poll(self) -> None:
        while not self._stopping.wait(self.poll_interval):
            self.refresh()

    def status(self) -> dict[str, Any]:
        """What `/weights` returns. Never includes key values."""
        live, counts = self._live, self.load.counts()
        plan = live.plan
        arms: dict[str, dict[str, int]] = {}
        for key, value in counts.items():
            if ":" in key:
                backend, outcome = key.rsplit(":", 1)
                arms.setdefault(backend, {"success": 0, "failure": 0, "mirrored": 0})[outcome] = value
        return {
            "route": {"kind": self.route_kind, "namespace": self.namespace, "name": self.route_name},
            "model_name": self.model_name,
            "preset": self.preset,
            "weights": plan.weights() if plan else {},
            "shares": plan.shares() if plan else {},
            "mirrors": {m.arm.backend: m.percent for m in plan.mirrors} if plan else {},
            "keys_present": {name: key is not None for name, key in live.keys.items()},
            "error": live.error,
            "updated_at": self._updated_at,
            "requests": arms,
            "sent": counts.get("sent", 0),
            "dropped": counts.get("dropped", 0),
            "no_route": counts.get("no_route", 0),
            "rps": self.load.rps,
        }


class _GatewayHandler(JsonHandler):
    sim: GatewaySimulator

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self.send_bytes(200, generate_latest(self.sim.metrics.registry), CONTENT_TYPE_LATEST)
        elif path == "/weights":
            self.send_json(200, self.sim.status())
        elif path == "/healthz":
            self.send_json(200, {"status": "ok"})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/admin/config":
            self.send_json(404, {"error": "not found"})
            return
        try:
            body = self.read_json() or {}
            self.sim.load.set_rps(float(body["rps"]))
        except (ValueError, KeyError, TypeError) as exc:
            self.send_json(400, {"error": f"expected {{'rps': number}}: {exc}"})
            return
        self.send_json(200, {"rps": self.sim.load.rps})


def parse_backend_flag(value: str) -> tuple[str, dict[str, str]]:
    """`NAME=URL[,model=M][,flavor=F][,secret=S][,secret-key=K]` -> (NAME, backend spec)."""
    name, _, rest = value.partition("=")
    url, *opts = rest.split(",")
    if not name or not url:
        raise argparse.ArgumentTypeError("expected NAME=URL[,model=..][,flavor=..][,secret=..][,secret-key=..]")
    spec = {"url": url}
    aliases = {"secret": "secret_name", "secret-key": "secret_key", "provider": "flavor"}
    for opt in opts:
        key, _, val = opt.partition("=")
        spec[aliases.get(key, key)] = val
    return name, spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="LLM gateway simulator (test and demo tooling).")
    parser.add_argument("--kubeconfig", default=None)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--route-kind", required=True, choices=["ConfigMap", "HTTPRoute", "AIGatewayRoute"])
    parser.add_argument("--route-name", required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--preset", choices=PRESETS, default="litellm")
    parser.add_argument("--backend", action="append", type=parse_backend_flag, default=[])
    parser.add_argument("--backends-json", default=None, help="JSON object {name: {url, model, ...}} or @file")
    parser.add_argument("--gateway-secret", default=None)
    parser.add_argument("--rps", type=float, default=20.0)
    parser.add_argument("--max-in-flight", type=int, default=32)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--poll-interval", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    backends: dict[str, Any] = {}
    if args.backends_json:
        text = args.backends_json
        if text.startswith("@"):
            with open(text[1:]) as fh:
                text = fh.read()
        backends.update(json.loads(text))
    backends.update(dict(args.backend))
    sim = GatewaySimulator(
        args.kubeconfig,
        args.namespace,
        args.route_kind,
        args.route_name,
        args.model_name,
        args.preset,
        backends,
        args.gateway_secret,
        args.rps,
        args.port,
        host=args.host,
        max_in_flight=args.max_in_flight,
        poll_interval=args.poll_interval,
        seed=args.seed,
    )
    return serve_until_terminated(sim, {"metrics_url": sim.metrics_url, "weights_url": sim.url + "/weights"})


if __name__ == "__main__":
    sys.exit(main())
