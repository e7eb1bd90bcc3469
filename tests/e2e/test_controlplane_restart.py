"""ControlPlane.restart_apiserver (used by bench/chaos.py): a new kube-apiserver process on the same address
serves the same etcd data, and clients made before the restart keep working."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from pmo_devenv import Binaries, ControlPlane

pytestmark = pytest.mark.e2e


def meta(name: str) -> client.V1ObjectMeta:
    return client.V1ObjectMeta(name=name)


def test_restart_apiserver_keeps_address_and_data(binaries: Binaries, tmp_path: Path) -> None:
    with ControlPlane(tmp_path / "cp", binaries) as cp:
        api = cp.api_client()
        core = client.CoreV1Api(api)
        core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=meta("kept"), data={"k": "v"}))
        server, old_pid = cp.server, cp.apiserver.pid  # type: ignore[union-attr]

        cp.restart_apiserver()

        assert cp.apiserver is not None and cp.apiserver.pid != old_pid and cp.apiserver.alive()
        assert cp.server == server
        assert core.read_namespaced_config_map("kept", "default").data == {"k": "v"}, "etcd data survives"
        core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=meta("after")))  # writes work again
        assert cp.etcd is not None and cp.etcd.alive(), "etcd itself was left running"
        api.close()
