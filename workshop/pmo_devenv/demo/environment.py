"""Where the demo runs: a running `pmo dev up` environment, one started for the run, or the tests' fixtures."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pmo_devenv.controlplane import ControlPlane
from pmo_devenv.environment import DevEnvironment
from pmo_devenv.prometheus import Prometheus


@dataclass
class DemoEnvironment:
    kubeconfig: Path
    prometheus: Prometheus
    owns_prometheus: bool  # False: shared (dev env, test session), so the outage scenario gets its own
    workdir: Path  # logs of this run's processes
    origin: str  # for the summary: where the control plane came from
    keep_namespace: bool = False  # --keep: leave the run's namespace for inspection

    @contextlib.contextmanager
    def prometheus_for(self, stops_prometheus: bool) -> Iterator[Prometheus]:
        """The Prometheus a scenario may use: a private one when it is going to stop it and the shared
        one is not ours to stop."""
        if not stops_prometheus or self.owns_prometheus:
            yield self.prometheus
            return
        private = Prometheus(Path(tempfile.mkdtemp(prefix="prometheus-", dir=self.workdir)))
        try:
            yield private.start()
        finally:
            private.stop()


def attached(kubeconfig: Path, prometheus: Prometheus, workdir: Path, origin: str) -> DemoEnvironment:
    """An environment someone else owns (the e2e fixtures): nothing is started or stopped here."""
    return DemoEnvironment(Path(kubeconfig), prometheus, owns_prometheus=False, workdir=workdir, origin=origin)


def _dev_prometheus(state: dict[str, object]) -> Prometheus:
    """A handle on the dev environment's Prometheus (adds and removes scrape targets; never starts one)."""
    targets_dir = Path(str(state["prometheus_targets_dir"]))
    binary = next(Path(str(p["executable"])) for p in state["processes"] if p["name"] == "prometheus")  # type: ignore[attr-defined,index]
    return Prometheus(targets_dir.parent, binary, port=urlsplit(str(state["prometheus_url"])).port)


@contextlib.contextmanager
def demo_environment(dev_dir: Path, keep: bool) -> Iterator[DemoEnvironment]:
    """Reuses a healthy `pmo dev up` environment in `dev_dir`; with `keep`, starts one there (it outlives
    the demo); otherwise starts a private control plane and Prometheus and stops them at the end."""
    dev = DevEnvironment(dev_dir)
    status = dev.status()
    if status is None or not status["healthy"]:
        if keep:
            status = {**dev.up(), "origin": f"started in {dev_dir} (left running: pmo dev down --dir {dev_dir})"}
        else:
            status = None
    else:
        status["origin"] = f"the running environment in {dev_dir}"
    workdir = Path(tempfile.mkdtemp(prefix="pmo-demo-"))
    try:
        if status is not None:
            yield DemoEnvironment(
                Path(str(status["kubeconfig"])),
                _dev_prometheus(status),
                owns_prometheus=False,
                workdir=workdir,
                origin=str(status["origin"]),
                keep_namespace=keep,
            )
            return
        with ControlPlane(workdir / "controlplane") as cp, Prometheus(workdir / "prometheus") as prom:
            yield DemoEnvironment(
                cp.kubeconfig,
                prom,
                owns_prometheus=True,
                workdir=workdir,
                origin="started for this run (stopped at the end)",
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
