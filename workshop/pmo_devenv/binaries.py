"""Where the locally built kube-apiserver, etcd and helm live, and the Debian Prometheus.

The binaries are built by hack/build-binaries.sh into a per-version cache outside the repo; this module
computes the same directory so tests, `pmo dev` and the helm tests all find them in one place.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

K8S_VERSION = os.environ.get("PMO_K8S_VERSION", "v1.37.2")
ETCD_VERSION = os.environ.get("PMO_ETCD_VERSION", "v3.6.14")
HELM_VERSION = os.environ.get("PMO_HELM_VERSION", "v3.21.4")

SETUP_HINT = "run `make setup` (or `bash hack/build-binaries.sh`; needs Go and the Go module proxy)"


class BinariesMissing(RuntimeError):
    """A binary the local environment needs is not installed or not built."""


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    etcd: Path
    helm: Path


def repo_root() -> Path:
    # workshop/pmo_devenv/binaries.py -> repo root (editable installs only).
    return Path(__file__).resolve().parents[3]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("PMO_CACHE_DIR", f"{base}/provider-migration-operator"))


def bin_dir() -> Path:
    return cache_dir() / f"bin-k8s-{K8S_VERSION}-etcd-{ETCD_VERSION}-helm-{HELM_VERSION}"


def find_binaries() -> Binaries:
    """The built binaries; raises BinariesMissing (with a hint how to build them) if any is absent."""
    d = bin_dir()
    found = Binaries(d / "kube-apiserver", d / "etcd", d / "helm")
    missing = [p.name for p in vars(found).values() if not os.access(p, os.X_OK)]
    if missing:
        go = "" if shutil.which("go") else " Go is not on PATH."
        raise BinariesMissing(f"{', '.join(missing)} not found in {d}.{go} To enable: {SETUP_HINT}.")
    return found


def build_binaries() -> Binaries:
    """Runs hack/build-binaries.sh (idempotent; a cold build takes 10-25 min) and returns the result."""
    script = repo_root() / "hack" / "build-binaries.sh"
    if not script.exists():
        raise BinariesMissing(f"{script} not found (not an editable install?). To enable: {SETUP_HINT}.")
    subprocess.run(["bash", str(script)], check=True, stdout=subprocess.DEVNULL)
    return find_binaries()


def find_prometheus() -> Path:
    path = shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)
    if not path:
        raise BinariesMissing("prometheus not found. To enable: run `make setup` (or `apt-get install prometheus`).")
    return Path(path)
