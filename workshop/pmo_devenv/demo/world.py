"""One demo run's world: the provider and gateway simulators and the objects in the demo namespace.

Test and demo tooling only. Keys are random per run, live only in Secrets and the simulators, and are
never printed.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import yaml
from kubernetes import client

from pmo_devenv.prometheus import Prometheus
from pmo_devenv.simulators.gateway import GatewaySimulator
from pmo_devenv.simulators.providers import ProviderSimulator
from pmo_devenv.tenancy import delegate_to_migrations
from provider_migration.api import constants as c
from provider_migration.api.crd import crds

from .scenarios import PROVIDER_DEFAULTS

MIGRATION = "support-bot-to-claude"
ROUTE, MODEL_NAME, GATEWAY_SECRET = "llm-gateway", "chat", "llm-gateway-keys"
SOURCE_BACKEND, TARGET_BACKEND = "openai-gpt-4o", "anthropic-claude"
SCRAPE_JOB = "pmo-demo"
DEMO_FIELD_MANAGER = "pmo-demo"
# The gateway simulator's quality gauge, kept apart per run by the `namespace` label of the scrape target.
QUALITY_QUERY = 'avg(avg_over_time(llm_quality_score{namespace="{{namespace}}",backend="{{backend}}"}[{{interval}}]))'


@dataclass(frozen=True)
class DemoSettings:
    """Short timings so a whole migration takes well under a minute. The API accepts intervals of 5s and up."""

    interval: str = "5s"
    pause: str | None = None  # default: the interval
    stabilization: str | None = None  # default: the interval
    baseline_window: str = "5s"
    min_samples: int = 5  # the 10 % step sees ~3 requests/s, ~15 per 5 s window
    rps: float = 30.0
    timeout_s: float = 180.0
    # The bench spreads the fault over the analysis schedule: it holds the 50 % step longer and injects later.
    fault_step_pause: str | None = None  # pause of the 50 % step (default: pause)
    fault_delay_s: float = 0.0  # seconds after the route reaches 50 % before the fault hits


def litellm_config(source_url: str) -> str:
    """The gateway's config before the migration: all of `chat` on GPT-4o (the operator adds the target)."""
    entry = {
        "model_name": MODEL_NAME,
        "litellm_params": {
            "model": "openai/gpt-4o",
            "api_base": f"{source_url}/v1",
            "api_key": "os.environ/OPENAI_API_KEY",
            "weight": 100,
        },
        "model_info": {"id": SOURCE_BACKEND},
    }
    config = {
        "model_list": [entry],
        "router_settings": {"routing_strategy": "simple-shuffle"},
        "litellm_settings": {"callbacks": ["prometheus"]},
    }
    return yaml.safe_dump(config, sort_keys=False)


def migration_manifest(settings: DemoSettings, prometheus_url: str, target_url: str) -> dict[str, Any]:
    """The example migration (GPT-4o -> Claude, Phased 10 -> 50 -> 100) with demo timings.

    No `route.reload`: the gateway simulator follows the ConfigMap live, there are no LiteLLM pods to roll.
    Rollback thresholds are left at their defaults, which are the migration playbook's.
    """
    pause = settings.pause or settings.interval
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND,
        "metadata": {"name": MIGRATION},
        "spec": {
            "route": {"kind": "ConfigMap", "name": ROUTE, "modelName": MODEL_NAME},
            "source": {
                "provider": "openai",
                "model": "gpt-4o",
                "backend": SOURCE_BACKEND,
                "credentials": {"secretName": "openai-api-key", "key": "api-key"},
                "pricing": {"inputPerMillion": 2.5, "outputPerMillion": 10},
            },
            "target": {
                "provider": "anthropic",
                "model": "claude-sonnet-4-5",
                "backend": TARGET_BACKEND,
                "apiBase": target_url,
                "credentials": {"secretName": "anthropic-api-key", "key": "api-key"},
                "pricing": {"inputPerMillion": 3, "outputPerMillion": 15},
            },
            "gatewaySecret": GATEWAY_SECRET,
            "strategy": {
                "type": "Phased",
                "steps": [
                    {"weight": 10, "pause": pause},
                    {"weight": 50, "pause": settings.fault_step_pause or pause},
                    {"weight": 100},
                ],
            },
            "analysis": {
                "prometheus": {"url": prometheus_url, "timeout": "3s"},
                "metrics": "litellm",
                "interval": settings.interval,
                "failureLimit": 0,
                "inconclusiveLimit": 3,
                "minSamples": settings.min_samples,
                "baseline": {"window": settings.baseline_window},
                "rollbackOn": {"quality": {"query": QUALITY_QUERY}},
            },
            "cleanup": {"stabilization": settings.stabilization or settings.interval},
        },
    }


def install_crd(api: client.ApiClient, timeout: float = 60.0) -> None:
    """Server-side apply the operator's CRDs (ProviderMigration and both templates, generated from the models)
    and wait until each is Established."""
    ext = client.ApiextensionsV1Api(api)
    definitions = crds()
    for definition in definitions:
        ext.patch_custom_resource_definition(
            definition["metadata"]["name"], definition, field_manager=DEMO_FIELD_MANAGER, force=True,
            _content_type="application/apply-patch+yaml", _preload_content=False,
        )  # fmt: skip
    deadline = time.monotonic() + timeout
    for name in (d["metadata"]["name"] for d in definitions):
        while True:
            status = ext.read_custom_resource_definition(name).status
            conditions = (status.conditions if status else None) or []
            if any(x.type == "Established" and x.status == "True" for x in conditions):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {name} not Established after {timeout:.0f}s")
            time.sleep(0.1)


def _secret(name: str, data: dict[str, str]) -> client.V1Secret:
    encoded: dict[str, bytes | str] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return client.V1Secret(metadata=client.V1ObjectMeta(name=name), data=encoded)


class DemoWorld:
    """Start: the two providers (each requiring its key), the namespace's objects, the gateway simulator
    scraped by `prometheus`. Stop: everything it started, in reverse."""

    def __init__(
        self, api: client.ApiClient, kubeconfig: str, namespace: str, settings: DemoSettings, prometheus: Prometheus
    ) -> None:
        self.api, self.kubeconfig, self.namespace = api, kubeconfig, namespace
        self.settings, self.prometheus = settings, prometheus
        source_key, target_key = f"sk-demo-{secrets.token_urlsafe(18)}", f"sk-ant-demo-{secrets.token_urlsafe(18)}"
        self._keys = {"source": source_key, "target": target_key}
        self.source = ProviderSimulator("openai", api_key=source_key, **PROVIDER_DEFAULTS)
        self.target = ProviderSimulator("anthropic", api_key=target_key, **PROVIDER_DEFAULTS)
        self.gateway: GatewaySimulator | None = None
        self._scrape_target: tuple[Prometheus, str] | None = None

    def start(self) -> DemoWorld:
        self.source.start()
        self.target.start()
        core = client.CoreV1Api(self.api)
        ns = self.namespace
        labels = {"app.kubernetes.io/part-of": "pmo-demo"}
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns, labels=labels)))
        delegate_to_migrations(self.api, ns)  # what the demo's migration may touch, as a tenant would grant it
        core.create_namespaced_secret(ns, _secret("openai-api-key", {"api-key": self._keys["source"]}))
        core.create_namespaced_secret(ns, _secret("anthropic-api-key", {"api-key": self._keys["target"]}))
        core.create_namespaced_secret(ns, _secret(GATEWAY_SECRET, {"OPENAI_API_KEY": self._keys["source"]}))
        core.create_namespaced_config_map(
            ns,
            client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name=ROUTE), data={"config.yaml": litellm_config(self.source.url)}
            ),
        )
        self.gateway = GatewaySimulator(
            self.kubeconfig, ns, "ConfigMap", ROUTE, MODEL_NAME, "litellm",
            gateway_secret=GATEWAY_SECRET, rps=self.settings.rps, max_in_flight=64,
        ).start()  # fmt: skip
        self.scrape(self.prometheus)
        return self

    def scrape(self, prometheus: Prometheus) -> None:
        """Have `prometheus` scrape the gateway every second (labelled with the namespace)."""
        assert self.gateway is not None
        target = self.gateway.url.removeprefix("http://")
        prometheus.add_target(SCRAPE_JOB, target, {"namespace": self.namespace})
        self._scrape_target = (prometheus, target)

    def create_migration(self, prometheus_url: str) -> dict[str, Any]:
        body = migration_manifest(self.settings, prometheus_url, self.target.url)
        client.CustomObjectsApi(self.api).create_namespaced_custom_object(
            c.GROUP, c.VERSION, self.namespace, c.PLURAL, body
        )
        return body

    def inject(self, changes: dict[str, Any]) -> None:
        self.target.configure(**changes)

    def stop(self, delete_namespace: bool = True) -> None:
        if self._scrape_target is not None:
            prometheus, target = self._scrape_target
            prometheus.remove_target(SCRAPE_JOB, target)
        for part in (self.gateway, self.target, self.source):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()
        if delete_namespace:
            # The local control plane has no namespace controller: it stays Terminating, which is harmless.
            with contextlib.suppress(client.ApiException):
                client.CoreV1Api(self.api).delete_namespace(self.namespace)


def settings_problem(settings: DemoSettings) -> str | None:
    """Why the API would refuse a migration with these settings (judged by the same models), or None."""
    from pydantic import ValidationError

    from provider_migration.api.spec import ProviderMigrationSpec

    body = migration_manifest(settings, "http://127.0.0.1:9090", "http://127.0.0.1:8000")
    try:
        ProviderMigrationSpec.from_wire(body["spec"])
    except ValidationError as e:
        return "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()[:3])
    return None
