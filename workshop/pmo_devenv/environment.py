"""The whole local environment (control plane + Prometheus) as `pmo dev up/status/down` runs it:
started detached, described by a state file in its directory, stopped later by pid."""

from __future__ import annotations

import contextlib
import json
import shutil
import ssl
import time
from pathlib import Path
from typing import Any

from .controlplane import ControlPlane
from .net import http_get
from .processes import pid_matches, stop_pid
from .prometheus import Prometheus

STATE_FILE = "state.json"
# Everything `up` generates in the directory; removed on the next `up` so each start is fresh.
_GENERATED = ("etcd", "pki", "apiserver-certs", "logs", "prometheus", "kubeconfig")


class DevEnvironment:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory).resolve()
        self.state_path = self.directory / STATE_FILE

    def read_state(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.state_path.read_text()))
        except (OSError, ValueError):
            return None

    def processes_alive(self, state: dict[str, Any]) -> dict[str, bool]:
        return {p["name"]: pid_matches(p["pid"], p["executable"]) for p in state["processes"]}

    def up(self) -> dict[str, Any]:
        """Starts everything detached (or returns the running environment's state)."""
        state = self.read_state()
        if state and all(self.processes_alive(state).values()):
            return state
        self.down()  # leftovers of a half-dead earlier run
        self.directory.mkdir(parents=True, exist_ok=True)
        for name in _GENERATED:
            path = self.directory / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        cp = ControlPlane(self.directory, detached=True)
        prom = Prometheus(self.directory / "prometheus", detached=True)
        try:
            cp.start()
            prom.start()
            crds = self._install_crds(cp)
        except BaseException:
            prom.stop()
            cp.stop()
            raise
        state = {
            "kubeconfig": str(cp.kubeconfig),
            "server": cp.server,
            "prometheus_url": prom.url,
            "prometheus_targets_dir": str(prom.targets_dir),
            "started_at": time.time(),
            **crds,
            "processes": cp.state()["processes"] + prom.state()["processes"],
        }
        self.state_path.write_text(json.dumps(state, indent=2) + "\n")
        return state

    @staticmethod
    def _install_crds(cp: ControlPlane) -> dict[str, Any]:
        """The ProviderMigration CRD and the upstream ones the examples use (HTTPRoute, AIGatewayRoute, ...).
        Without the upstream directory the environment still starts; the state says what is missing."""
        from .demo.world import install_crd
        from .thirdparty_crds import CrdsUnavailable, install_upstream_crds, upstream_crds_dir

        api = cp.api_client()
        try:
            install_crd(api)
            try:
                return {"upstream_crds": install_upstream_crds(api), "upstream_crds_dir": str(upstream_crds_dir())}
            except CrdsUnavailable as e:
                return {"upstream_crds": [], "upstream_crds_missing": str(e)}
        finally:
            api.close()

    def status(self) -> dict[str, Any] | None:
        """The state plus live checks, or None when nothing was started here."""
        state = self.read_state()
        if state is None:
            return None
        alive = self.processes_alive(state)
        status = dict(state, alive=alive)
        # /readyz is readable anonymously (system:public-info-viewer): no client certificate needed.
        ctx = ssl.create_default_context(cafile=str(self.directory / "pki" / "ca.crt"))
        status["apiserver_ready"] = http_get(f"{state['server']}/readyz", ctx)[0] == 200
        status["prometheus_ready"] = http_get(f"{state['prometheus_url']}/-/ready")[0] == 200
        status["healthy"] = all(alive.values()) and status["apiserver_ready"] and status["prometheus_ready"]
        return status

    def down(self) -> list[str]:
        """Stops every process recorded in the state file; returns the names it found running."""
        state = self.read_state()
        if state is None:
            return []
        stopped = []
        for p in state["processes"]:  # recorded apiserver-first, etcd after it
            if pid_matches(p["pid"], p["executable"]):
                stopped.append(p["name"])
            stop_pid(p["pid"], p["executable"])
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()
        return stopped
