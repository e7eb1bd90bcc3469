"""`pmo run` as a child process scoped to the demo namespace (dies with the demo, even on SIGKILL)."""

from __future__ import annotations

import sys
from pathlib import Path

from pmo_devenv.processes import ManagedProcess
from pmo_devenv.tenancy import LOOPBACK_CREDENTIAL_URLS


def operator_process(kubeconfig: Path, namespace: str, log_path: Path) -> ManagedProcess:
    argv = [
        sys.executable, "-m", "provider_migration.cli.main", "run",
        "--kubeconfig", str(kubeconfig), "--namespace", namespace,
        "--liveness", "",  # no health endpoint: nothing probes it here, and it would need a free port
        "--metrics-port", "0",
        "--allow-credentials-to", LOOPBACK_CREDENTIAL_URLS,
    ]  # fmt: skip
    return ManagedProcess("pmo-operator", argv, log_path)
