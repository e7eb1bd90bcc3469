"""Support for e2e tests that run the real operator (`pmo run` as a process) against the local control plane."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import yaml
from kubernetes import client

from pmo_devenv import LOOPBACK_CREDENTIAL_URLS, api_client, delegate_to_migrations
from provider_migration.api import constants as c

REPO = Path(__file__).resolve().parents[2]
CRD_FILE = REPO / "crds" / "providermigrations.migrations.llmops.dev.yaml"
CRD_FILES = [
    CRD_FILE,
    *(REPO / "crds" / f"{p}.migrations.llmops.dev.yaml" for p in ("migrationtemplates", "clustermigrationtemplates")),
]

SOURCE_KEY = "sk-source-VALUE-7c1f0e"  # the secret values tests search for in logs, Events and status
TARGET_KEY = "sk-ant-target-VALUE-93ab2d"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def litellm_config(source_weight: int = 100) -> str:
    return yaml.safe_dump(
        {
            "model_list": [
                {
                    "model_name": "chat",
                    "litellm_params": {
                        "model": "openai/gpt-4o",
                        "api_key": "os.environ/OPENAI_API_KEY",
                        "weight": source_weight,
                    },
                    "model_info": {"id": "openai-gpt-4o"},
                },
                {"model_name": "embed", "litellm_params": {"model": "openai/text-embedding-3-small"}},
            ],
            "router_settings": {"routing_strategy": "simple-shuffle"},
        },
        sort_keys=False,
    )


def migration(name: str, **spec_overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "route": {"kind": "ConfigMap", "name": "llm-gateway", "modelName": "chat", "reload": {"deployment": "litellm"}},
        "source": {
            "provider": "openai",
            "model": "gpt-4o",
            "backend": "openai-gpt-4o",
            "credentials": {"secretName": "openai-api-key", "key": "api-key"},
        },
        "target": {
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "backend": "anthropic-claude",
            "apiBase": "http://127.0.0.1:9/v1",
            "credentials": {"secretName": "anthropic-api-key", "key": "api-key"},
        },
        "gatewaySecret": "llm-gateway-keys",
        "strategy": {
            "type": "Phased",
            "steps": [{"weight": 10, "pause": "3s"}, {"weight": 50, "pause": "3s"}, {"weight": 100}],
        },
        "cleanup": {"stabilization": "2s"},
    }
    spec.update(spec_overrides)
    return {"apiVersion": c.API_VERSION, "kind": c.KIND, "metadata": {"name": name}, "spec": spec}


def create_litellm_world(kube: client.ApiClient, namespace: str, *, with_target_secret: bool = True) -> None:
    """The gateway's objects: LiteLLM ConfigMap, its Deployment, the gateway Secret and the provider key Secrets."""
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    gateway_config = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="llm-gateway"), data={"config.yaml": litellm_config()}
    )
    core.create_namespaced_config_map(namespace, gateway_config)
    core.create_namespaced_secret(namespace, _secret("openai-api-key", {"api-key": SOURCE_KEY}))
    if with_target_secret:
        core.create_namespaced_secret(namespace, _secret("anthropic-api-key", {"api-key": TARGET_KEY}))
    core.create_namespaced_secret(namespace, _secret("llm-gateway-keys", {"OPENAI_API_KEY": SOURCE_KEY}))
    deployment: Any = litellm_deployment()  # the client takes plain manifests as well as its models
    apps.create_namespaced_deployment(namespace, deployment)


def litellm_deployment() -> dict[str, Any]:
    """The gateway's Deployment (nothing runs it here: the operator only bumps its pod template)."""
    labels = {"app": "litellm"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "litellm"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "litellm", "image": "ghcr.io/berriai/litellm:main-stable"}]},
            },
        },
    }


def _secret(name: str, data: dict[str, str]) -> Any:
    """A Secret manifest: a body for the client (which takes dicts as well as models) or a file in Git."""
    return {"metadata": {"name": name}, "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def target_weight_in(config_yaml: str) -> int | None:
    """Target share in percent, read independently of the operator's own parser."""
    entries = {
        (e.get("model_info") or {}).get("id"): (e.get("litellm_params") or {}).get("weight", 0)
        for e in (yaml.safe_load(config_yaml) or {}).get("model_list", [])
        if e.get("model_name") == "chat"
    }
    source, target = entries.get("openai-gpt-4o") or 0, entries.get("anthropic-claude") or 0
    total = source + target
    return None if total == 0 else round(100 * target / total)


class WeightRecorder:
    """Watches the LiteLLM ConfigMap the whole time and records every distinct target weight it goes through."""

    def __init__(self, kube: client.ApiClient, namespace: str, name: str = "llm-gateway") -> None:
        self._core = client.CoreV1Api(kube)
        self.namespace, self.name = namespace, name
        self.weights: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WeightRecorder:
        self._thread.start()
        wait_for(lambda: self.weights, 10, "the first reading of the route")  # the starting split is recorded
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                cm = self._core.read_namespaced_config_map(self.name, self.namespace)
                weight = target_weight_in((cm.data or {}).get("config.yaml", ""))
            except Exception:
                weight = None
            if weight is not None and (not self.weights or self.weights[-1] != weight):
                self.weights.append(weight)
            self._stop.wait(0.05)


class OperatorProcess:
    """`pmo run` in its own process, so tests can SIGKILL it like a crashing pod."""

    def __init__(self, kubeconfig: str, namespace: str, log_dir: Path, extra_args: Sequence[str] = ()) -> None:
        self.kubeconfig, self.namespace = kubeconfig, namespace
        self.extra_args = list(extra_args)
        self.log_path = log_dir / "operator.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.health_port = 0
        self.starts = 0

    def start(self) -> None:
        api = api_client(Path(self.kubeconfig))
        try:
            delegate_to_migrations(api, self.namespace)  # the namespace lets migrations act as its pmo-migrator
        finally:
            api.close()
        self.health_port = free_port()
        pmo = shutil.which("pmo") or sys.executable
        args = [pmo] if pmo.endswith("pmo") else [pmo, "-m", "provider_migration.cli.main"]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                *args,
                "run",
                "--kubeconfig",
                self.kubeconfig,
                "-n",
                self.namespace,
                "--liveness",
                f"http://127.0.0.1:{self.health_port}/healthz",
                "--metrics-port",
                "0",
                "--allow-credentials-to",
                LOOPBACK_CREDENTIAL_URLS,
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, exactly like a node losing the pod."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def get_migration(kube: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    body = client.CustomObjectsApi(kube).get_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, name)
    return cast(dict[str, Any], body)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def phase_of(kube: client.ApiClient, namespace: str, name: str) -> str | None:
    return (get_migration(kube, namespace, name).get("status") or {}).get("phase")


def annotate(kube: client.ApiClient, namespace: str, name: str, command: str, value: str) -> None:
    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        c.GROUP,
        c.VERSION,
        namespace,
        c.PLURAL,
        name,
        {"metadata": {"annotations": {c.command_annotation(command): value}}},
    )


def events_text(kube: client.ApiClient, namespace: str) -> str:
    events = client.CoreV1Api(kube).list_namespaced_event(namespace).items
    return "\n".join(f"{e.reason}: {e.message}" for e in events)


def event_reasons(kube: client.ApiClient, namespace: str) -> list[str]:
    return [e.reason or "" for e in client.CoreV1Api(kube).list_namespaced_event(namespace).items]
