"""Local environment for tests, `pmo dev` and the demo: a real kube-apiserver + etcd and Prometheus.

Never imported by the operator's runtime path.
"""

from .binaries import Binaries, BinariesMissing, build_binaries, find_binaries, find_prometheus
from .controlplane import ControlPlane, ExistingCluster
from .environment import DevEnvironment
from .kubeconfig import api_client, kubeconfig_for_token, write_kubeconfig
from .prometheus import Prometheus
from .tenancy import LOOPBACK_CREDENTIAL_URLS, MIGRATOR, delegate_to_migrations

__all__ = [
    "LOOPBACK_CREDENTIAL_URLS",
    "MIGRATOR",
    "Binaries",
    "BinariesMissing",
    "ControlPlane",
    "DevEnvironment",
    "ExistingCluster",
    "Prometheus",
    "api_client",
    "build_binaries",
    "delegate_to_migrations",
    "find_binaries",
    "find_prometheus",
    "kubeconfig_for_token",
    "write_kubeconfig",
]
