"""The operator image, built here (hack/build-image.sh: podman, a Debian base from debootstrap, the Dockerfile's
steps) and run as the chart runs it: the image's own `pmo run` with the installed Deployment's arguments,
in-cluster configuration from a ServiceAccount token of the chart mounted where Kubernetes mounts it, as user
65532 with a read-only root filesystem and only /tmp writable. It must answer its liveness and metrics
endpoints and carry a migration to Succeeded with nothing but that token.

The API server listens on loopback, so the container shares the host's network. Outside CI the test skips when
podman (or runc/debootstrap for a first build) is missing; under CI=true that is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import test_rbac
import yaml
from kubernetes import client
from operator_support import (
    SOURCE_KEY,
    TARGET_KEY,
    WeightRecorder,
    create_litellm_world,
    free_port,
    get_migration,
    migration,
    phase_of,
    target_weight_in,
    wait_for,
)
from test_rbac import Release, _plain

from pmo_devenv import delegate_to_migrations
from provider_migration.api import constants as c

pytestmark = pytest.mark.e2e
install = test_rbac.install  # the fixture that installs the chart and hands out its ServiceAccount's token

REPO = Path(__file__).resolve().parents[2]
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# What this machine allows: crun refuses a hybrid cgroup layout, and limits above the sandbox's are refused.
PODMAN = ["podman", "--runtime", "runc"]
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def unavailable(message: str) -> None:
    """Fail under CI (the image test must run there), skip elsewhere."""
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=check)


@pytest.fixture(scope="module")
def image() -> str:
    """The image reference; built on first use (cold: a few minutes), then found in the cache at once."""
    missing = [tool for tool in ("podman", "runc", "debootstrap") if not shutil.which(tool)]
    if missing:
        unavailable(
            f"{', '.join(missing)} not found: apt-get install podman runc debootstrap (or bash hack/ci-setup.sh image)"
        )
    built = subprocess.run(
        ["bash", str(REPO / "hack" / "build-image.sh")], capture_output=True, text=True, timeout=2400
    )
    assert built.returncode == 0, built.stderr[-4000:]
    ref = built.stdout.strip().splitlines()[-1]
    size = int(podman("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip())
    print(f"image {ref}: {size / 1e6:.0f} MB")  # the image's size, in the test log
    return ref


def _in_image(image: str, code: str) -> str:
    run = podman("run", "--rm", *LIMITS, "--read-only", "--entrypoint", "python", image, "-c", code)
    return run.stdout.strip()


def test_the_image_holds_only_the_runtime_distribution(image: str) -> None:
    found = json.loads(
        _in_image(
            image,
            "import importlib.util, json; "
            "print(json.dumps({m: importlib.util.find_spec(m) is not None "
            "for m in ('provider_migration', 'kopf', 'pmo_devenv', 'matplotlib', 'pytest')}))",
        )
    )
    assert found == {
        "provider_migration": True,
        "kopf": True,
        "pmo_devenv": False,
        "matplotlib": False,
        "pytest": False,
    }
    config = json.loads(podman("image", "inspect", "--format", "{{json .Config}}", image).stdout)
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["pmo", "run"]


def _server_and_ca(kubeconfig: Path, into: Path) -> tuple[str, str]:
    """host, port of the API server and its CA (written to `into`), from a kubeconfig."""
    config: dict[str, Any] = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    if "certificate-authority-data" in cluster:
        import base64

        into.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    else:
        shutil.copyfile(cluster["certificate-authority"], into)
    url = urlsplit(cluster["server"])
    return str(url.hostname), str(url.port or 443)


def _token(release: Release) -> str:
    config: dict[str, Any] = yaml.safe_load(release.kubeconfig.read_text())
    return str(config["users"][0]["user"]["token"])


@pytest.fixture
def container_name() -> Iterator[str]:
    name = f"pmo-e2e-{secrets.token_hex(4)}"
    yield name
    podman("rm", "--force", "--time", "5", name, check=False)


def test_the_image_runs_a_whole_migration_in_cluster_as_non_root_on_a_read_only_root(
    image: str,
    install: Callable[..., Release],
    kube: client.ApiClient,
    tmp_path: Path,
    container_name: str,
) -> None:
    release = install({"rbac": {"scope": "namespaced"}}, watched=1)
    ns = release.watched[0]
    create_litellm_world(kube, ns)
    delegate_to_migrations(kube, ns)  # the namespace lets migrations act as its pmo-migrator

    # The projected ServiceAccount volume, as the kubelet writes it.
    sa = tmp_path / "serviceaccount"
    sa.mkdir(mode=0o755)
    sa.chmod(0o755)
    host, port = _server_and_ca(release.kubeconfig, sa / "ca.crt")
    (sa / "token").write_text(_token(release))
    (sa / "namespace").write_text(release.namespace)
    for f in sa.iterdir():
        f.chmod(0o644)

    deployment = _plain(
        kube, client.AppsV1Api(kube).read_namespaced_deployment(release.service_account, release.namespace)
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    health_port, metrics_port = free_port(), free_port()
    local = {
        "--liveness": f"--liveness=http://127.0.0.1:{health_port}/healthz",
        "--metrics-port": f"--metrics-port={metrics_port}",
    }
    args = [local.get(a.split("=", 1)[0], a) for a in container["args"]]
    assert [a for a in args if a.startswith("--namespace")] == [f"--namespace={ns}"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    user = deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]

    podman(
        "run", "--detach", "--name", container_name, *LIMITS,
        "--network", "host",
        "--user", f"{user}:{user}",
        "--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp:rw,size=64m,mode=1777",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--env", f"KUBERNETES_SERVICE_HOST={host}", "--env", f"KUBERNETES_SERVICE_PORT={port}",
        "--volume", f"{sa}:{SA_DIR}:ro",
        image, *args,
    )  # fmt: skip
    try:
        wait_for(lambda: _get(f"http://127.0.0.1:{health_port}/healthz")[0] == 200, 60, "the image's /healthz")
        assert podman("exec", container_name, "id", "-u").stdout.strip() == str(user)
        wrote = podman("exec", container_name, "touch", "/opt/pmo/written", check=False)
        assert wrote.returncode != 0 and "Read-only file system" in wrote.stderr
        client.CustomObjectsApi(kube).create_namespaced_custom_object(
            c.GROUP, c.VERSION, ns, c.PLURAL, migration("from-the-image")
        )
        with WeightRecorder(kube, ns) as recorder:
            wait_for(
                lambda: phase_of(kube, ns, "from-the-image") in ("Succeeded", "Failed", "Blocked"),
                120,
                "the migration to finish",
            )
        status, metrics = _get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200
        assert f'pmo_migration_target_weight{{name="from-the-image",namespace="{ns}"}} 100.0' in metrics
    finally:
        logs = podman("logs", container_name, check=False)
        log_text = logs.stdout + logs.stderr
        print("---- image log (tail) ----\n" + "\n".join(log_text.splitlines()[-60:]))  # shown on failure
    final = get_migration(kube, ns, "from-the-image")["status"]
    assert final["phase"] == "Succeeded", final.get("message")
    assert recorder.weights == [0, 10, 50, 100]
    config = _plain(kube, client.CoreV1Api(kube).read_namespaced_config_map("llm-gateway", ns))["data"]
    assert target_weight_in(config["config.yaml"]) == 100
    # In-cluster configuration, not a kubeconfig: the token file is the only credential the container has.
    assert "Forbidden" not in log_text and " 403" not in log_text
    assert SOURCE_KEY not in log_text and TARGET_KEY not in log_text


def _get(url: str) -> tuple[int, str]:
    with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()
    return 0, ""
