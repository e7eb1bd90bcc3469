"""A real kube-apiserver + etcd on loopback, for tests, `pmo dev` and the demo.

No controller-manager runs: namespaces never finish deleting, there is no garbage collection and no
`default` ServiceAccount (hence ServiceAccount admission is off). Nothing ever runs pods.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import socket
import ssl
import struct
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from kubernetes import client

from . import certs, kubeconfig
from .binaries import Binaries, find_binaries
from .net import free_port, http_get, wait_until
from .processes import ManagedProcess


class ControlPlane:
    """etcd + kube-apiserver (RBAC on, TokenRequest on) with an admin kubeconfig at `self.kubeconfig`."""

    def __init__(
        self, workdir: Path, binaries: Binaries | None = None, *, detached: bool = False, start_timeout: float = 90.0
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.binaries = binaries or find_binaries()
        self.detached = detached
        self.start_timeout = start_timeout
        self.kubeconfig = self.workdir / "kubeconfig"
        self.server = ""
        self.etcd: ManagedProcess | None = None
        self.apiserver: ManagedProcess | None = None
        self.pki: certs.Pki | None = None

    @property
    def processes(self) -> list[ManagedProcess]:
        return [p for p in (self.apiserver, self.etcd) if p is not None]

    def start(self) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            try:
                self._start()
                return self
            except BaseException as e:
                self.stop()
                # free_port() is racy: another process may take the port before we bind it.
                if attempt == 2 or "address already in use" not in str(e):
                    raise
                shutil.rmtree(self.workdir / "etcd", ignore_errors=True)
        return self

    def _start(self) -> None:
        pki = self.pki = certs.generate(self.workdir / "pki")
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_url, peer_url = f"http://127.0.0.1:{etcd_port}", f"http://127.0.0.1:{peer_port}"
        self.etcd = ManagedProcess(
            "etcd",
            [
                self.binaries.etcd,
                "--name=pmo",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=pmo={peer_url}",
                "--unsafe-no-fsync=true",  # throw-away data: fsync only slows tests down
                "--log-level=warn",
            ],
            self.workdir / "logs" / "etcd.log",
            detached=self.detached,
        )
        self.etcd.start()
        wait_until(
            lambda: '"health":"true"' in http_get(f"{etcd_url}/health")[1],
            what="etcd /health",
            timeout=self.start_timeout,
            process=self.etcd,
        )

        self.server = f"https://127.0.0.1:{api_port}"
        args: list[str | Path] = [
            self.binaries.kube_apiserver,
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            f"--secure-port={api_port}",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--authorization-mode=RBAC",
            # No controller-manager creates the `default` ServiceAccount that this plugin insists on.
            "--disable-admission-plugins=ServiceAccount",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            # Issuer and keys make the TokenRequest API (`kubectl create token`) work.
            f"--service-account-issuer={self.server}",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
        ]
        advertise = advertise_address()
        if advertise:
            args.append(f"--advertise-address={advertise}")
        self.apiserver = ManagedProcess(
            "kube-apiserver", args, self.workdir / "logs" / "kube-apiserver.log", detached=self.detached
        )
        self.apiserver.start()
        ctx = self.ssl_context()
        wait_until(
            lambda: http_get(f"{self.server}/readyz", ctx)[0] == 200,
            what="kube-apiserver /readyz",
            timeout=self.start_timeout,
            process=self.apiserver,
        )
        kubeconfig.write_kubeconfig(
            self.kubeconfig,
            self.server,
            ca_file=pki.ca_cert,
            user={"client-certificate": str(pki.admin_cert), "client-key": str(pki.admin_key)},
        )

    def ssl_context(self) -> ssl.SSLContext:
        """TLS context trusting our CA and presenting the admin client certificate."""
        assert self.pki is not None, "not started"
        ctx = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        ctx.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return ctx

    def restart_apiserver(self) -> None:
        """Stop kube-apiserver and start it again: same port, certificates and etcd data (chaos runs)."""
        assert self.apiserver is not None, "not started"
        self.apiserver.stop()
        self.apiserver.start()
        ctx = self.ssl_context()
        wait_until(
            lambda: http_get(f"{self.server}/readyz", ctx)[0] == 200,
            what="kube-apiserver /readyz after a restart",
            timeout=self.start_timeout,
            process=self.apiserver,
        )

    def stop(self) -> None:
        for p in self.processes:  # apiserver first, then its storage
            with contextlib.suppress(Exception):
                p.stop()

    def api_client(self) -> client.ApiClient:
        return kubeconfig.api_client(self.kubeconfig)

    def kubeconfig_for_token(self, token: str, path: Path) -> Path:
        return kubeconfig.kubeconfig_for_token(self.kubeconfig, token, path)

    def state(self) -> dict[str, Any]:
        return {
            "kubeconfig": str(self.kubeconfig),
            "server": self.server,
            "processes": [
                {"name": p.name, "pid": p.pid, "executable": p.argv[0], "log": str(p.log_path)} for p in self.processes
            ],
        }

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class ExistingCluster:
    """A cluster the user already has (PMO_KUBECONFIG): same surface as ControlPlane, starts nothing."""

    def __init__(self, kubeconfig_path: Path) -> None:
        self.kubeconfig = Path(kubeconfig_path).resolve()
        if not self.kubeconfig.is_file():
            raise FileNotFoundError(f"kubeconfig {self.kubeconfig} does not exist")

    def start(self) -> Self:
        return self

    def stop(self) -> None:
        pass

    def api_client(self) -> client.ApiClient:
        return kubeconfig.api_client(self.kubeconfig)

    def kubeconfig_for_token(self, token: str, path: Path) -> Path:
        return kubeconfig.kubeconfig_for_token(self.kubeconfig, token, path)


def advertise_address() -> str | None:
    """None when there is a default route (the apiserver picks its own address); otherwise the first
    non-loopback IPv4, because without a default route the apiserver refuses to start and rejects
    loopback addresses."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/route").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 1 and fields[1] == "00000000":
                return None
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:  # SIOCGIFADDR
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))
            except OSError:
                continue
        ip = socket.inet_ntoa(packed[20:24])
        if not ip.startswith("127."):
            return ip
    return None
