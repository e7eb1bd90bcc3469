"""The real LiteLLM proxy as the gateway of a routed ConfigMap: TEST AND DEMO TOOLING ONLY.

`LiteLLMGateway` plays the part of a LiteLLM Deployment in a cluster that has no kubelet: it starts
`litellm --config config.yaml` from the routed ConfigMap's key, with the gateway Secret's keys as the
environment (as `envFrom: secretRef` would) and the master key from another Secret, behind a stable loopback
port (the Service). It watches the reload Deployment's pod template and, when the template changes (the
operator's config-hash annotation), does what the Deployment controller and a kubelet would do in a rolling
update: start a new proxy from the ConfigMap and Secret as they are now, wait until it is live, switch the
Service to it, then stop the old one. A new proxy that does not come up leaves the old one serving (a
crash-looping new ReplicaSet), and the failure is in `status()`. Without a reload Deployment the proxy never
restarts, exactly like the real one, which reads its config only at start-up.

The proxy comes from its own venv (`hack/ci-setup.sh litellm`; `litellm[proxy]` pins packages the operator's
environment must not be downgraded to). Offline: `LITELLM_LOCAL_MODEL_COST_MAP=True`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .binaries import BinariesMissing, cache_dir
from .net import free_port, http_get, wait_until
from .processes import ManagedProcess

SETUP_HINT = "run `make setup` (or `bash hack/ci-setup.sh litellm`)"
START_TIMEOUT_S = 120.0  # ~10-20 s on 2 idle cores; far more when the machine is busy
# Environment a proxy gets besides the Secrets: nothing of ours (no KUBECONFIG, no proxies, no tokens).
_BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


def venv_dir() -> Path:
    """Must match hack/ci-setup.sh:setup_litellm."""
    return Path(os.environ.get("PMO_LITELLM_VENV", str(cache_dir() / "litellm-venv")))


def find_litellm() -> Path:
    binary = venv_dir() / "bin" / "litellm"
    if not os.access(binary, os.X_OK):
        raise BinariesMissing(f"the LiteLLM proxy is not installed in {venv_dir()}. To enable: {SETUP_HINT}.")
    return binary


def litellm_version(binary: Path | None = None) -> str:
    python = (binary or find_litellm()).parent / "python"
    out = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


class LiteLLMProcess:
    """One proxy process (one pod) on its own loopback port."""

    def __init__(self, binary: Path, workdir: Path, name: str, config: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.config_path = workdir / f"{name}.config.yaml"
        self.config_path.write_text(config)
        base = {k: os.environ[k] for k in _BASE_ENV if k in os.environ}
        # LITELLM_LOG=ERROR: per-request INFO logging costs CPU the 2-core machine needs for start-ups.
        full_env = {**base, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "NO_DOCS": "True", "LITELLM_LOG": "ERROR", **env}
        self.process = ManagedProcess(
            f"litellm-{name}",
            [binary, "--config", self.config_path, "--host", "127.0.0.1", "--port", str(self.port)],
            workdir / f"{name}.log",
            env=full_env,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT_S) -> LiteLLMProcess:
        self.process.start()
        try:
            wait_until(
                lambda: http_get(f"{self.url}/health/liveliness")[0] == 200,
                what=f"LiteLLM proxy {self.process.name} live",
                timeout=timeout,
                process=self.process,
                interval=0.25,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.process.stop(timeout=10)


class FrontDoor:
    """A TCP forwarder on a stable port (the Service): each new connection goes to the current backend."""

    def __init__(self) -> None:
        self.port = free_port()
        self.backend_port: int | None = None
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="litellm-frontdoor", daemon=True)

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        future.result(timeout=10)

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = self.backend_port
        try:
            if port is None:
                raise ConnectionRefusedError
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(OSError):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


@dataclass
class Rollout:
    """One pod-template revision the gateway started (or failed to start)."""

    template_hash: str | None
    config_hash: str
    started_at: float  # time.time() when the template change was seen
    ready_at: float | None = None  # when the Service switched to the new proxy
    error: str | None = None


@dataclass
class GatewayObjects:
    """Where the gateway's pod spec would point."""

    namespace: str
    config_map: str
    config_key: str = "config.yaml"
    gateway_secret: str | None = None  # envFrom
    master_key: tuple[str, str] | None = None  # (Secret, key) -> LITELLM_MASTER_KEY
    reload_deployment: str | None = None  # its pod template is watched for rollouts


@dataclass
class _Snapshot:
    config: str
    env: dict[str, str] = field(repr=False)
    template_hash: str | None = None


class LiteLLMGateway:
    """The proxy following `objects` in a real API server (see the module docstring)."""

    def __init__(
        self,
        api: Any,  # kubernetes.client.ApiClient
        objects: GatewayObjects,
        workdir: Path,
        *,
        binary: Path | None = None,
        poll_interval: float = 0.5,
        on_rollout: Callable[[Rollout], None] | None = None,
    ) -> None:
        from kubernetes import client

        self.objects = objects
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = binary or find_litellm()
        self.poll_interval = poll_interval
        self.on_rollout = on_rollout
        self._core = client.CoreV1Api(api)
        self._apps = client.AppsV1Api(api)
        self.front = FrontDoor()
        self.current: LiteLLMProcess | None = None
        self.rollouts: list[Rollout] = []
        self._master_key: str | None = None
        self._stopping = threading.Event()
        self._poller: threading.Thread | None = None
        self._seq = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.front.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.front.port}"

    @property
    def master_key(self) -> str | None:
        """For the test and demo clients only (as an app would mount it); never printed."""
        return self._master_key

    def start(self) -> LiteLLMGateway:
        self.front.start()
        snapshot = self._snapshot()
        self._roll(snapshot, first=True)
        if self.current is None:
            error = self.rollouts[-1].error if self.rollouts else "unknown"
            self.stop()
            raise RuntimeError(f"the LiteLLM proxy did not start: {error}")
        self._poller = threading.Thread(target=self._poll, name="litellm-gateway-poll", daemon=True)
        self._poller.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._poller is not None:
            self._poller.join(timeout=START_TIMEOUT_S)
        with self._lock:
            if self.current is not None:
                self.current.stop()
                self.current = None
        self.front.stop()

    def __enter__(self) -> LiteLLMGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def status(self) -> dict[str, Any]:
        last = self.rollouts[-1] if self.rollouts else None
        return {
            "url": self.url,
            "rollouts": len(self.rollouts),
            "serving_template": next((r.template_hash for r in reversed(self.rollouts) if r.ready_at), None),
            "last_error": last.error if last else None,
        }

    def model_info(self) -> list[dict[str, Any]]:
        """`GET /v1/model/info` of the serving proxy: the deployments its router created."""
        import urllib.request

        request = urllib.request.Request(
            f"{self.url}/v1/model/info", headers={"Authorization": f"Bearer {self._master_key}"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            return list(json.loads(resp.read())["data"])

    def wait_for_rollouts(self, count: int, timeout: float = START_TIMEOUT_S) -> None:
        """Until `count` rollouts have finished (served or failed)."""
        wait_until(
            lambda: len([r for r in self.rollouts if r.ready_at or r.error]) >= count,
            what=f"{count} LiteLLM rollouts",
            timeout=timeout,
        )

    # --- the watch loop ---

    def _poll(self) -> None:
        while not self._stopping.wait(self.poll_interval):
            if not self.objects.reload_deployment:
                continue  # nothing would ever restart the pods
            try:
                template = self._template_hash()
            except Exception:  # API server briefly away: pods keep running
                continue
            if template is None or template == self._last_template():
                continue
            try:
                snapshot = self._snapshot()
            except Exception as exc:
                self._record(Rollout(template, "", time.time(), error=f"read failed: {type(exc).__name__}"))
                continue
            snapshot.template_hash = template
            self._roll(snapshot)

    def _last_template(self) -> str | None:
        return self.rollouts[-1].template_hash if self.rollouts else None

    def _roll(self, snapshot: _Snapshot, first: bool = False) -> None:
        rollout = Rollout(snapshot.template_hash, _sha(snapshot.config), time.time())
        self._seq += 1
        try:
            new = LiteLLMProcess(self.binary, self.workdir, f"pod-{self._seq}", snapshot.config, snapshot.env)
            new.start()
        except Exception as exc:
            rollout.error = f"{type(exc).__name__}: {str(exc)[-500:]}"
            self._record(rollout)
            return
        with self._lock:
            old, self.current = self.current, new
            self.front.backend_port = new.port
            rollout.ready_at = time.time()
        self._record(rollout)
        if old is not None:
            time.sleep(0.5)  # let requests already on the old pod finish (terminationGracePeriod, shortened)
            old.stop()

    def _record(self, rollout: Rollout) -> None:
        self.rollouts.append(rollout)
        if self.on_rollout is not None:
            self.on_rollout(rollout)

    # --- reading the objects ---

    def _template_hash(self) -> str | None:
        name = self.objects.reload_deployment
        if not name:
            return None
        dep = self._apps.read_namespaced_deployment(name, self.objects.namespace, _request_timeout=5)
        template = self._apps.api_client.sanitize_for_serialization(dep.spec.template)
        return _sha(json.dumps(template, sort_keys=True))

    def _snapshot(self) -> _Snapshot:
        ns = self.objects.namespace
        cm = self._core.read_namespaced_config_map(self.objects.config_map, ns, _request_timeout=5)
        config = (cm.data or {}).get(self.objects.config_key)
        if config is None:
            raise RuntimeError(f"ConfigMap {ns}/{self.objects.config_map} has no key {self.objects.config_key}")
        env: dict[str, str] = {}
        if self.objects.gateway_secret:
            env.update(self._secret(self.objects.gateway_secret))
        if self.objects.master_key:
            name, key = self.objects.master_key
            value = self._secret(name).get(key)
            if not value:
                raise RuntimeError(f"Secret {ns}/{name} has no key {key}")
            env["LITELLM_MASTER_KEY"] = self._master_key = value
        template = self._template_hash() if self.objects.reload_deployment else None
        return _Snapshot(config, env, template)

    def _secret(self, name: str) -> dict[str, str]:
        secret = self._core.read_namespaced_secret(name, self.objects.namespace, _request_timeout=5)
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def install_gateway_objects(
    api: Any,
    namespace: str,
    config: str,
    provider_keys: dict[str, str],
    *,
    name: str = "llm-gateway",
    secret: str = "llm-gateway-keys",
    master_key_secret: str = "llm-gateway-master-key",
    config_key: str = "config.yaml",
    field_manager: str = "pmo-workshop",
) -> GatewayObjects:
    """Create what a LiteLLM install in `namespace` consists of: the ConfigMap, the provider-key Secret (read
    through `envFrom`), a master-key Secret with a fresh random key, and the Deployment whose pod template
    the operator annotates (nothing runs it here: `LiteLLMGateway` does). Returns where they are."""
    import secrets as random_secrets

    from kubernetes import client

    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)

    def b64(value: str) -> str:
        return base64.b64encode(value.encode()).decode()

    core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data={config_key: config})
    )
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name=secret), data={k: b64(v) for k, v in provider_keys.items()}),
    )
    master = f"sk-{random_secrets.token_urlsafe(24)}"
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name=master_key_secret), data={"master-key": b64(master)}),
    )
    labels = {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": name}
    container = client.V1Container(
        name="litellm",
        image="ghcr.io/berriai/litellm:main-stable",
        args=["--config", f"/etc/litellm/{config_key}", "--port", "4000"],
        env_from=[client.V1EnvFromSource(secret_ref=client.V1SecretEnvSource(name=secret))],
        env=[
            client.V1EnvVar(
                name="LITELLM_MASTER_KEY",
                value_from=client.V1EnvVarSource(
                    secret_key_ref=client.V1SecretKeySelector(name=master_key_secret, key="master-key")
                ),
            )
        ],
        volume_mounts=[client.V1VolumeMount(name="config", mount_path="/etc/litellm")],
    )
    apps.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name=name, labels=labels),
            spec=client.V1DeploymentSpec(
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(
                        containers=[container],
                        volumes=[client.V1Volume(name="config", config_map=client.V1ConfigMapVolumeSource(name=name))],
                    ),
                ),
            ),
        ),
        field_manager=field_manager,
    )
    return GatewayObjects(
        namespace,
        name,
        config_key,
        gateway_secret=secret,
        master_key=(master_key_secret, "master-key"),
        reload_deployment=name,
    )
