"""The objects one benchmarked migration needs: its own LiteLLM ConfigMap route, gateway Deployment, key
Secrets (source, target, gateway) and the ProviderMigration itself, all named after its index."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import yaml
from kubernetes import client

from provider_migration.api import constants as c

from .exporter import Backend

MODEL_NAME = "chat"
SOURCE_KEY = "sk-bench-source-VALUE"  # searched for in logs and status: it must never appear there
TARGET_KEY = "sk-bench-target-VALUE"


@dataclass(frozen=True)
class Names:
    index: int
    migration: str
    route: str
    deployment: str
    source_secret: str
    target_secret: str
    gateway_secret: str
    source_backend: str
    target_backend: str
    source_model: str
    target_model: str

    @classmethod
    def of(cls, index: int) -> Names:
        n = f"{index:04d}"
        return cls(
            index=index,
            migration=f"mig-{n}",
            route=f"gw-{n}",
            deployment=f"litellm-{n}",
            source_secret=f"src-key-{n}",
            target_secret=f"tgt-key-{n}",
            gateway_secret=f"gw-keys-{n}",
            source_backend=f"src-{n}",
            target_backend=f"tgt-{n}",
            source_model=f"gpt-bench-{n}",
            target_model=f"claude-bench-{n}",
        )


def backends(names: Names, target_error: float = 0.0) -> list[Backend]:
    """Source and target series; the target is a little slower (p95 ratio 1.2, under the default 2.0)."""
    return [
        Backend(names.source_backend, f"openai/{names.source_model}", mean_latency_s=0.5),
        Backend(
            names.target_backend,
            f"anthropic/{names.target_model}",
            mean_latency_s=0.6,
            error_fraction=target_error,
        ),
    ]


def litellm_config(names: Names) -> str:
    return yaml.safe_dump(
        {
            "model_list": [
                {
                    "model_name": MODEL_NAME,
                    "litellm_params": {
                        "model": f"openai/{names.source_model}",
                        "api_key": "os.environ/OPENAI_API_KEY",
                        "weight": 100,
                    },
                    "model_info": {"id": names.source_backend},
                }
            ],
            "router_settings": {"routing_strategy": "simple-shuffle"},
        },
        sort_keys=False,
    )


def _secret(name: str, data: dict[str, str]) -> Any:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"metadata": {"name": name}, "data": encoded}


def gateway_objects(api: client.ApiClient, namespace: str, names: Names) -> int:
    """Creates the route, Deployment and Secrets; returns the number of API requests made."""
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    config_map: Any = {"metadata": {"name": names.route}, "data": {"config.yaml": litellm_config(names)}}
    core.create_namespaced_config_map(namespace, config_map)
    labels = {"app": names.deployment}
    deployment: Any = {
        "metadata": {"name": names.deployment},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "litellm", "image": "ghcr.io/berriai/litellm:main-stable"}]},
            },
        },
    }
    apps.create_namespaced_deployment(namespace, deployment)
    core.create_namespaced_secret(namespace, _secret(names.source_secret, {"api-key": SOURCE_KEY}))
    core.create_namespaced_secret(namespace, _secret(names.target_secret, {"api-key": TARGET_KEY}))
    core.create_namespaced_secret(namespace, _secret(names.gateway_secret, {"OPENAI_API_KEY": SOURCE_KEY}))
    return 5


@dataclass(frozen=True)
class Rollout:
    """The short Phased rollout every benchmarked migration walks."""

    steps: tuple[tuple[int, str | None], ...] = ((10, "30s"), (50, "30s"), (100, None))
    interval: str = "30s"
    baseline_window: str = "2m"
    stabilization: str = "10s"
    inconclusive_limit: int = 3

    def weights(self) -> list[int]:
        return [w for w, _ in self.steps]


def migration(names: Names, prometheus_url: str | None, rollout: Rollout) -> dict[str, Any]:
    steps = [{"weight": w, **({"pause": p} if p else {})} for w, p in rollout.steps]
    spec: dict[str, Any] = {
        "route": {
            "kind": "ConfigMap",
            "name": names.route,
            "modelName": MODEL_NAME,
            "reload": {"deployment": names.deployment},
        },
        "source": {
            "provider": "openai",
            "model": names.source_model,
            "backend": names.source_backend,
            "credentials": {"secretName": names.source_secret, "key": "api-key"},
            "pricing": {"inputPerMillion": 2.5, "outputPerMillion": 10},
        },
        "target": {
            "provider": "anthropic",
            "model": names.target_model,
            "backend": names.target_backend,
            "apiBase": "http://127.0.0.1:9/v1",
            "credentials": {"secretName": names.target_secret, "key": "api-key"},
            "pricing": {"inputPerMillion": 3, "outputPerMillion": 15},
        },
        "gatewaySecret": names.gateway_secret,
        "strategy": {"type": "Phased", "steps": steps},
        "cleanup": {"stabilization": rollout.stabilization},
    }
    if prometheus_url:
        spec["analysis"] = {
            "prometheus": {"url": prometheus_url, "timeout": "5s"},
            "metrics": "litellm",
            "interval": rollout.interval,
            "inconclusiveLimit": rollout.inconclusive_limit,
            "baseline": {"window": rollout.baseline_window},
        }
    return {"apiVersion": c.API_VERSION, "kind": c.KIND, "metadata": {"name": names.migration}, "spec": spec}


def create_migration(api: client.ApiClient, namespace: str, body: dict[str, Any]) -> int:
    client.CustomObjectsApi(api).create_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, body)
    return 1


def in_parallel(
    work: Callable[[int], int], indices: Iterable[int], progress: Callable[[int], None] | None = None, threads: int = 8
) -> int:
    """Runs work(i) for every index on a few threads; returns the sum of what they return (request counts)."""
    done = total = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for count in pool.map(work, indices):
            total += count
            done += 1
            if progress is not None:
                progress(done)
    return total
