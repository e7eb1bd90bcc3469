"""One demo run's world: the provider simulators, the real LiteLLM proxy, and the objects in the demo namespace.

Test and demo tooling only. Keys (provider keys and the proxy's master key) are random per run, live only in
Secrets, the simulators and the proxy's environment, and are never printed.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from pmo_devenv.clients import ChatClients
from pmo_devenv.litellm_proxy import GatewayObjects, LiteLLMGateway, install_gateway_objects
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
PROVIDERS_JOB = "pmo-demo-providers"
MASTER_KEY_SECRET = "llm-gateway-master-key"
DEMO_FIELD_MANAGER = "pmo-demo"
# The quality gauge (the gateway simulator's, or with the real proxy the providers' own), kept apart per run by
# the `namespace` label of the scrape target.
QUALITY_QUERY = 'avg(avg_over_time(llm_quality_score{namespace="{{namespace}}",backend="{{backend}}"}[{{interval}}]))'


@dataclass(frozen=True)
class DemoSettings:
    """Short timings so a whole migration takes well under a minute. The API accepts intervals of 5s and up.

    `gateway="litellm"` runs the real LiteLLM proxy instead of the gateway simulator (experimental: four
    restarts per migration, and on a busy machine its /metrics needs 2 s scrapes, so use 10 s windows and
    fewer requests, see docs/performance.md)."""

    interval: str = "5s"
    pause: str | None = None  # default: the interval
    stabilization: str | None = None  # default: the interval
    baseline_window: str = "5s"
    min_samples: int = 5  # the 10 % step sees ~3 requests/s, ~15 per 5 s window
    rps: float = 30.0
    timeout_s: float = 180.0
    gateway: str = "simulator"  # or "litellm"
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
        # Per-deployment series only: client_ip, user_agent and key labels would start new series per client.
        "litellm_settings": {"callbacks": ["prometheus"]},
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }
    return yaml.safe_dump(config, sort_keys=False)


def migration_manifest(
    settings: DemoSettings, prometheus_url: str, target_url: str, gateway_url: str = "http://127.0.0.1:4000"
) -> dict[str, Any]:
    """The example migration (GPT-4o -> Claude, Phased 10 -> 50 -> 100) with demo timings.

    With the real proxy, `route.reload` rolls the LiteLLM Deployment after each write (the workshop's gateway
    restarts the proxy on it) and `route.verify` has each step count only once the proxy serves it.
    Rollback thresholds are left at their defaults, which are the migration playbook's.
    """
    pause = settings.pause or settings.interval
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND,
        "metadata": {"name": MIGRATION},
        "spec": {
            "route": {
                "kind": "ConfigMap",
                "name": ROUTE,
                "modelName": MODEL_NAME,
                **_reload_and_verify(settings, gateway_url),
            },
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


def _reload_and_verify(settings: DemoSettings, gateway_url: str) -> dict[str, Any]:
    """The real proxy is rolled after each write and asked what it serves; the simulator follows the ConfigMap
    live, there are no pods to roll."""
    if settings.gateway != "litellm":
        return {}
    return {
        "reload": {"deployment": ROUTE},
        "verify": {"url": gateway_url, "keySecret": {"name": MASTER_KEY_SECRET, "key": "master-key"}},
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
    """Start: the two providers (each requiring its key), the namespace's objects, the real LiteLLM proxy
    following them, clients calling it, all scraped by `prometheus`. Stop: everything it started, in reverse."""

    def __init__(
        self,
        api: client.ApiClient,
        kubeconfig: str,
        namespace: str,
        settings: DemoSettings,
        prometheus: Prometheus,
        workdir: Path | None = None,
    ) -> None:
        self.api, self.kubeconfig, self.namespace = api, kubeconfig, namespace
        self.settings, self.prometheus = settings, prometheus
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"pmo-demo-{namespace}-"))
        source_key, target_key = f"sk-demo-{secrets.token_urlsafe(18)}", f"sk-ant-demo-{secrets.token_urlsafe(18)}"
        self._keys = {"source": source_key, "target": target_key}
        self.source = ProviderSimulator("openai", api_key=source_key, backend=SOURCE_BACKEND, **PROVIDER_DEFAULTS)
        self.target = ProviderSimulator("anthropic", api_key=target_key, backend=TARGET_BACKEND, **PROVIDER_DEFAULTS)
        self.gateway: LiteLLMGateway | None = None
        self.simulator: GatewaySimulator | None = None
        self.objects: GatewayObjects | None = None
        self.clients: ChatClients | None = None
        self._scraped: list[tuple[str, str]] = []

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
        if self.settings.gateway == "litellm":
            self._start_litellm()
        else:
            core.create_namespaced_secret(ns, _secret(GATEWAY_SECRET, {"OPENAI_API_KEY": self._keys["source"]}))
            core.create_namespaced_config_map(
                ns,
                client.V1ConfigMap(
                    metadata=client.V1ObjectMeta(name=ROUTE), data={"config.yaml": litellm_config(self.source.url)}
                ),
            )
            self.simulator = GatewaySimulator(
                self.kubeconfig, ns, "ConfigMap", ROUTE, MODEL_NAME, "litellm",
                gateway_secret=GATEWAY_SECRET, rps=self.settings.rps, max_in_flight=64,
            ).start()  # fmt: skip
        self.scrape(self.prometheus)
        return self

    def _start_litellm(self) -> None:
        self.objects = install_gateway_objects(
            self.api,
            self.namespace,
            litellm_config(self.source.url),
            {"OPENAI_API_KEY": self._keys["source"]},
            name=ROUTE,
            secret=GATEWAY_SECRET,
            master_key_secret=MASTER_KEY_SECRET,
            field_manager=DEMO_FIELD_MANAGER,
        )
        self.gateway = LiteLLMGateway(self.api, self.objects, self.workdir / "litellm").start()
        assert self.gateway.master_key
        self.clients = ChatClients(
            self.gateway.url, MODEL_NAME, [self.gateway.master_key], self.settings.rps, max_in_flight=64
        ).start()

    @property
    def gateway_url(self) -> str:
        return self.gateway.url if self.gateway is not None else "http://127.0.0.1:4000"

    def scrape(self, prometheus: Prometheus) -> None:
        """Have `prometheus` scrape the gateway (the real proxy with its master key, as /metrics requires, every
        2 s) and the providers' quality gauges, every second, labelled with the namespace."""
        labels = {"namespace": self.namespace}
        if self.gateway is not None:
            assert self.gateway.master_key
            # /metrics/ directly: /metrics answers with a redirect to it.
            prometheus.add_authorized_target(
                SCRAPE_JOB, self.gateway.address, self.gateway.master_key, labels, metrics_path="/metrics/"
            )
            self._scraped = [(SCRAPE_JOB, self.gateway.address)]
            for sim in (self.source, self.target):
                address = sim.url.removeprefix("http://")
                prometheus.add_target(PROVIDERS_JOB, address, labels)
                self._scraped.append((PROVIDERS_JOB, address))
        elif self.simulator is not None:
            target = self.simulator.url.removeprefix("http://")
            prometheus.add_target(SCRAPE_JOB, target, labels)
            self._scraped = [(SCRAPE_JOB, target)]

    def create_migration(self, prometheus_url: str) -> dict[str, Any]:
        body = migration_manifest(self.settings, prometheus_url, self.target.url, self.gateway_url)
        client.CustomObjectsApi(self.api).create_namespaced_custom_object(
            c.GROUP, c.VERSION, self.namespace, c.PLURAL, body
        )
        return body

    def inject(self, changes: dict[str, Any]) -> None:
        self.target.configure(**changes)

    def stop(self, delete_namespace: bool = True) -> None:
        for job, target in self._scraped:
            with contextlib.suppress(Exception):
                self.prometheus.remove_target(job, target)
        for part in (self.clients, self.gateway, self.simulator, self.target, self.source):
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
