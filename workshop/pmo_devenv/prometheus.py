"""A real Prometheus (the Debian package's binary, our own process) on a free loopback port.

Scrape targets come from `file_sd_configs`, so tests add and remove them at run time by writing small
JSON files; Prometheus picks them up within about a second. A target that needs a bearer token (LiteLLM's
`/metrics`) gets a scrape job of its own with `authorization.credentials_file`, as a ServiceMonitor's
`authorization` would: its definition is a file under `auth-jobs/` and the config is rewritten from those
files and reloaded (Debian's 2.42 has no `scrape_config_files`).
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import yaml

from .binaries import find_prometheus
from .net import free_port, http_get, wait_until
from .processes import ManagedProcess


class Prometheus:
    def __init__(
        self,
        workdir: Path,
        binary: Path | None = None,
        *,
        port: int | None = None,
        detached: bool = False,
        retention: str = "6h",
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.binary = binary or find_prometheus()
        self.port = port
        self.detached = detached
        self.retention = retention
        self.targets_dir = self.workdir / "targets"
        self.auth_jobs_dir = self.workdir / "auth-jobs"
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        assert self.port, "not started"
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    # Each target's `job` label comes from its file (SD labels win over job_name).
                    "job_name": "file-sd",
                    "file_sd_configs": [{"files": [f"{self.targets_dir}/*.json"], "refresh_interval": "1s"}],
                },
                *self._auth_jobs(),
            ],
        }
        path = self.workdir / "prometheus.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def start(self) -> Self:
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.process = ManagedProcess(
            "prometheus",
            [
                self.binary,
                f"--config.file={self.write_config()}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--storage.tsdb.retention.time={self.retention}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",  # POST /-/reload after editing the config
                "--log.level=warn",
            ],
            self.workdir / "logs" / "prometheus.log",
            detached=self.detached,
        )
        self.process.start()
        try:
            wait_until(
                lambda: http_get(f"{self.url}/-/ready")[0] == 200,
                what="Prometheus /-/ready",
                timeout=60,
                process=self.process,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def _target_file(self, job: str, target: str) -> Path:
        return self.targets_dir / (re.sub(r"[^A-Za-z0-9_.-]", "_", f"{job}--{target}") + ".json")

    def add_target(
        self, job: str, target: str, labels: dict[str, str] | None = None, metrics_path: str = "/metrics"
    ) -> None:
        """Scrape `target` ("127.0.0.1:PORT") every second under job label `job`."""
        entry = {"targets": [target], "labels": {**(labels or {}), "job": job, "__metrics_path__": metrics_path}}
        path = self._target_file(job, target)
        tmp = path.with_suffix(".tmp")  # write then rename: Prometheus must never read half a file
        tmp.write_text(json.dumps([entry]))
        tmp.replace(path)

    def remove_target(self, job: str, target: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._target_file(job, target).unlink()
        auth = self._auth_job_file(job, target)
        if auth.exists():
            auth.unlink()
            self._reload()

    def add_authorized_target(
        self,
        job: str,
        target: str,
        token: str,
        labels: dict[str, str] | None = None,
        metrics_path: str = "/metrics",
        interval: str = "2s",
    ) -> None:
        """Scrape `target` every `interval` with `Authorization: Bearer <token>` (the token lives in a 0600 file
        beside the config, never in it). 2 s by default: LiteLLM's /metrics can take over a second to answer
        on two busy cores, and a scrape that times out is a gap in every rate()."""
        self.auth_jobs_dir.mkdir(parents=True, exist_ok=True)
        path = self._auth_job_file(job, target)
        token_file = path.with_suffix(".token")
        token_file.touch(mode=0o600)
        token_file.write_text(token)
        job_config = {
            "job_name": path.stem,
            "metrics_path": metrics_path,
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
            "follow_redirects": True,
            "static_configs": [{"targets": [target], "labels": {**(labels or {}), "job": job}}],
        }
        path.write_text(json.dumps(job_config))
        self._reload()

    def _auth_job_file(self, job: str, target: str) -> Path:
        return self.auth_jobs_dir / (re.sub(r"[^A-Za-z0-9_-]", "_", f"auth--{job}--{target}") + ".json")

    def _auth_jobs(self) -> list[dict[str, Any]]:
        if not self.auth_jobs_dir.is_dir():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.auth_jobs_dir.glob("*.json"))]

    def _reload(self) -> None:
        self.write_config()
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=10) as resp:
            if resp.status != 200:
                raise RuntimeError(f"Prometheus reload answered HTTP {resp.status}")

    def targets(self) -> list[dict[str, Any]]:
        status, body = http_get(f"{self.url}/api/v1/targets?state=active")
        return json.loads(body)["data"]["activeTargets"] if status == 200 else []

    def wait_for_target(self, job: str, target: str | None = None, timeout: float = 30.0) -> None:
        """Waits until Prometheus has scraped the target successfully at least once."""

        def up() -> bool:
            return any(
                t["labels"].get("job") == job
                and t.get("health") == "up"
                and (target is None or t["labels"].get("instance") == target)
                for t in self.targets()
            )

        wait_until(
            up,
            what=f"Prometheus target job={job} {target or ''} up",
            timeout=timeout,
            process=self.process,
            interval=0.25,
        )

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query; the `result` list (empty when no data)."""
        status, body = http_get(f"{self.url}/api/v1/query?query={quote(promql)}")
        if status != 200:
            raise RuntimeError(f"query {promql!r} failed with HTTP {status}: {body[:300]}")
        return list(json.loads(body)["data"]["result"])

    def wait_for_series(self, promql: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if result or time.monotonic() > deadline:
                if not result:
                    raise TimeoutError(f"no data for {promql!r} after {timeout:.0f}s")
                return result
            time.sleep(0.25)

    def state(self) -> dict[str, Any]:
        assert self.process is not None
        return {
            "url": self.url,
            "processes": [
                {
                    "name": "prometheus",
                    "pid": self.process.pid,
                    "executable": str(self.binary),
                    "log": str(self.process.log_path),
                }
            ],
        }

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
