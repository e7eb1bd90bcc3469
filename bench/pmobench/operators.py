"""The operators under test as child processes: `pmo run`, and a bare kopf operator for comparison."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pmo_devenv.kubeconfig import api_client
from pmo_devenv.net import free_port
from pmo_devenv.tenancy import LOOPBACK_CREDENTIAL_URLS, delegate_to_migrations

BARE_OPERATOR = Path(__file__).resolve().parents[1] / "bare_operator.py"
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: the kernel kills it when the benchmark dies, so no operator outlives a crashed run."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class OperatorProcess:
    """A process in its own session, so SIGKILL takes it down like a node losing the pod."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.argv, self.log_path = name, argv, log_path
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} not started"
        return self.proc.pid

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=self.env,
                preexec_fn=_die_with_parent,  # start from the main thread: the signal follows the forking thread
            )
        self.starts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, no graceful shutdown."""
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _python_module(module: str) -> list[str]:
    return [sys.executable, "-m", module]


class PmoOperator(OperatorProcess):
    """`pmo run` standalone on one namespace, with its metrics and health endpoints on free ports."""

    def __init__(self, kubeconfig: Path, namespace: str, log_path: Path, log_level: str = "INFO") -> None:
        self.health_port, self.metrics_port = free_port(), free_port()
        pmo = shutil.which("pmo")
        command = [pmo] if pmo else _python_module("provider_migration.cli.main")
        super().__init__(
            "pmo",
            [
                *command,
                "run",
                "--kubeconfig",
                str(kubeconfig),
                "-n",
                namespace,
                "--liveness",
                f"http://127.0.0.1:{self.health_port}/healthz",
                "--metrics-port",
                str(self.metrics_port),
                "--log-level",
                log_level,
                "--allow-credentials-to",
                LOOPBACK_CREDENTIAL_URLS,
            ],
            log_path,
        )
        self.kubeconfig, self.namespace = kubeconfig, namespace

    def start(self) -> None:
        api = api_client(self.kubeconfig)
        try:
            delegate_to_migrations(api, self.namespace)  # the namespace lets migrations act as its pmo-migrator
        finally:
            api.close()
        # A fresh port each start: the killed process's socket may linger a moment.
        self.health_port, self.metrics_port = free_port(), free_port()
        self.argv[self.argv.index("--liveness") + 1] = f"http://127.0.0.1:{self.health_port}/healthz"
        self.argv[self.argv.index("--metrics-port") + 1] = str(self.metrics_port)
        super().start()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if not self.alive():
                raise RuntimeError(f"pmo run exited:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"pmo run not healthy after {timeout:.0f}s")
            time.sleep(0.2)

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as r:
            return str(r.read().decode())


class BareOperator(OperatorProcess):
    """kopf with one no-op daemon and one no-op event handler per ProviderMigration: the framework's own cost."""

    def __init__(self, kubeconfig: Path, namespace: str, log_path: Path, handlers: str = "event,daemon") -> None:
        super().__init__(
            "bare-kopf",
            [*_python_module("kopf"), "run", "--standalone", "-n", namespace, "--quiet", str(BARE_OPERATOR)],
            log_path,
            env={"KUBECONFIG": str(kubeconfig), "BENCH_BARE_HANDLERS": handlers},
        )
