"""The benchmark's own local environment: a fresh control plane, Prometheus and the LiteLLM exporter."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import yaml
from kubernetes import client

from pmo_devenv import ControlPlane, Prometheus
from pmo_devenv.net import free_port
from pmo_devenv.tenancy import delegate_to_migrations
from provider_migration.api import constants as c

from .exporter import LiteLLMExporter

REPO = Path(__file__).resolve().parents[2]
CRD_FILE = REPO / "crds" / "providermigrations.migrations.llmops.dev.yaml"


class BenchPrometheus(Prometheus):
    """The devenv Prometheus with a slower scrape: thousands of series every second would measure Prometheus."""

    def __init__(self, workdir: Path, scrape_interval: str = "5s") -> None:
        super().__init__(workdir)
        self.scrape_interval = scrape_interval

    def write_config(self) -> Path:
        path = super().write_config()
        config = yaml.safe_load(path.read_text())
        config["global"].update(scrape_interval=self.scrape_interval, scrape_timeout=self.scrape_interval)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path


class BenchEnvironment:
    """Control plane + Prometheus scraping one LiteLLMExporter; everything under a temporary directory."""

    def __init__(self, scrape_interval: str = "5s", workdir: Path | None = None) -> None:
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="pmo-bench-")
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.control_plane = ControlPlane(self.workdir / "controlplane")
        self.prometheus = BenchPrometheus(self.workdir / "prometheus", scrape_interval)
        self.exporter = LiteLLMExporter()
        self.exporter_port = 0

    def start(self) -> Self:
        self.control_plane.start()
        self.prometheus.start()
        self.exporter_port = free_port()
        self.exporter.serve(self.exporter_port)
        self.prometheus.add_target("litellm", f"127.0.0.1:{self.exporter_port}")
        self.install_crd()
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.prometheus.stop()
        with contextlib.suppress(Exception):
            self.control_plane.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def api(self) -> client.ApiClient:
        api = self.control_plane.api_client()
        api.configuration.connection_pool_maxsize = 32
        return api

    def kubectl(self, *args: str) -> str:
        out = subprocess.run(
            ["kubectl", f"--kubeconfig={self.control_plane.kubeconfig}", *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return out.stdout

    def install_crd(self) -> None:
        self.kubectl("apply", "--server-side", f"--field-manager={c.FIELD_MANAGER}", "-f", str(CRD_FILE))
        self.kubectl("wait", "--for=condition=Established", f"crd/{c.CRD_NAME}", "--timeout=60s")

    def create_namespace(self, name: str) -> None:
        body: Any = {"metadata": {"name": name}}
        client.CoreV1Api(self.api()).create_namespace(body)
        delegate_to_migrations(self.api(), name)  # what migrations there may touch (docs/helm.md, Authority)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def describe(self) -> dict[str, Any]:
        return {"kubeconfig": str(self.control_plane.kubeconfig), "prometheus": self.prometheus.url}
