"""Every `pmo demo` scenario end to end: the real operator process, the real API server and Prometheus, the
provider and gateway simulators. In-process through the runner on the session's control plane and
Prometheus; `pmo demo --json` as a subprocess (its own environment) for the CLI, and Ctrl-C on it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pmo_devenv.demo import DemoResult, DemoSettings, Progress, attached, run_scenario

ROLLBACKS = {"error-spike": "ErrorRate", "latency": "Latency", "cost": "Cost", "quality": "Quality"}
CRITERIA = {"error-spike": "errorRate", "latency": "latencyP95", "cost": "cost", "quality": "quality"}
SETTINGS = DemoSettings(timeout_s=150)


class Quiet:
    """The runner's view, keeping the phases it went through instead of drawing them."""

    def __init__(self) -> None:
        self.phases: list[str] = []

    def update(self, progress: Progress) -> None:
        phase = progress.migration.phase if progress.migration else None
        if phase and phase not in self.phases[-1:]:
            self.phases.append(phase)


def run(control_plane, prometheus, tmp_path: Path, scenario: str) -> tuple[DemoResult, Quiet]:  # type: ignore[no-untyped-def]
    env = attached(control_plane.kubeconfig, prometheus, tmp_path, "e2e session control plane")
    view = Quiet()
    result = run_scenario(env, scenario, SETTINGS, view)
    print(json.dumps(result.to_json(), indent=1))  # shown when a test fails
    print("---- operator log (tail) ----\n" + result.operator_log_tail)
    return result, view


def reasons(result: DemoResult) -> list[tuple[str, int]]:
    return [(d["reason"], d["weight"]) for d in result.decisions]


def served(result: DemoResult, side: str, status: str = "status_200") -> int:
    return result.requests[side].get(status, 0)


def test_success_walks_10_50_100_and_succeeds(control_plane, prometheus, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result, view = run(control_plane, prometheus, tmp_path, "success")
    assert result.phase == "Succeeded" and result.reason == "Succeeded"
    assert result.weights == [0, 10, 50, 100]
    assert [w for r, w in reasons(result) if r == "StepAdvanced"] == [10, 50, 100]
    assert result.rollback_reason is None and result.detect_to_rollback_seconds is None
    assert view.phases[-2:] == ["Stabilizing", "Succeeded"]
    assert served(result, "target") > 0, "the gateway sent the target real requests"
    assert result.requests["target"]["total"] == served(result, "target"), "no target request failed"
    assert result.ok, result.problems()


@pytest.mark.parametrize("scenario", list(ROLLBACKS))
def test_fault_at_50_rolls_back_on_its_criterion(control_plane, prometheus, tmp_path, scenario: str) -> None:  # type: ignore[no-untyped-def]
    result, _ = run(control_plane, prometheus, tmp_path, scenario)
    assert result.phase == "RolledBack"
    assert result.reason == ROLLBACKS[scenario] and result.rollback_reason == ROLLBACKS[scenario]
    assert result.rollback_message and CRITERIA[scenario] in result.rollback_message
    assert result.weights == [0, 10, 50, 0], "rolled back from 50 %, never promoted, target ends at 0"
    assert ("RollingBack", 50) in reasons(result) and ("RolledBack", 0) in reasons(result)
    # Timed, not judged: bench/rollback_latency.py reports the figures.
    assert result.breach_visible_at is not None and result.route_restored_at is not None
    assert result.fault_at is not None and result.fault_at <= result.breach_visible_at
    assert isinstance(result.detect_to_rollback_seconds, float)
    # The providers' view: the target's last request came after the breach was visible, and before the end.
    assert result.target_last_request_at is not None and isinstance(result.detect_to_source_only_seconds, float)
    assert result.target_last_request_at <= result.duration_seconds
    if scenario == "error-spike":
        assert served(result, "target", "status_529") > 0, "the fault reached the target provider"
    assert result.ok, result.problems()


def test_prometheus_down_pauses_inconclusive_without_promoting(control_plane, prometheus, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result, view = run(control_plane, prometheus, tmp_path, "prometheus-down")
    assert result.phase == "Paused" and result.reason == "AnalysisInconclusive"
    assert result.weights == [0, 10, 50], "no weight above 50 % during the outage"
    assert [w for r, w in reasons(result) if r == "StepAdvanced"] == [10, 50]
    assert result.rollback_reason is None and result.detect_to_rollback_seconds is None
    assert "RolledBack" not in view.phases and "Succeeded" not in view.phases
    assert prometheus.query("vector(1)"), "the shared Prometheus is still up: the outage hit a private one"
    assert result.ok, result.problems()


def pmo_demo(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "provider_migration.cli.main", "demo", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def test_pmo_demo_json_ends_with_one_json_line(binaries, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = pmo_demo("--scenario", "error-spike", "--json", "--dir", str(tmp_path / "no-dev-env"))
    out, err = proc.communicate(timeout=300)
    print(err[-6000:])
    assert proc.returncode == 0
    lines = out.splitlines()
    assert len(lines) == 1, "stdout holds exactly the JSON line (progress and summary go to stderr)"
    line = json.loads(lines[0])
    for key in ("scenario", "phase", "weights", "rollback_reason", "detect_to_rollback_seconds", "decisions"):
        assert key in line
    assert (line["scenario"], line["phase"], line["rollback_reason"]) == ("error-spike", "RolledBack", "ErrorRate")
    assert line["weights"] == [0, 10, 50, 0]
    assert isinstance(line["detect_to_rollback_seconds"], float)
    assert [d["reason"] for d in line["decisions"]][-2:] == ["RollingBack", "RolledBack"]


def children(pid: int) -> dict[int, str]:
    """Direct children of pid: {pid: command line}."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_stops_everything_the_demo_started(binaries, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = pmo_demo("--scenario", "success", "--dir", str(tmp_path / "no-dev-env"))
    deadline = time.monotonic() + 120
    started: dict[int, str] = {}
    while time.monotonic() < deadline and proc.poll() is None:
        started = children(proc.pid)
        if any(" run --kubeconfig" in cmd for cmd in started.values()):
            break
        time.sleep(0.2)
    commands = " | ".join(started.values())
    assert all(name in commands for name in ("etcd", "kube-apiserver", "prometheus", " run --kubeconfig")), commands
    proc.send_signal(signal.SIGINT)  # what a terminal's Ctrl-C sends to the foreground process
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    time.sleep(0.5)
    left = {pid: cmd for pid, cmd in started.items() if alive(pid)}
    assert not left, f"still running after Ctrl-C: {left}"
