"""`pmo` / `kubectl migration` against the real kube-apiserver. No operator runs here: the tests write
status through the status subresource themselves to put a migration in the phase they need."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from kubernetes import client

from pmo_devenv import ControlPlane, ExistingCluster
from provider_migration.api.constants import GROUP, PLURAL, VERSION, command_annotation
from provider_migration.cli.main import main

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CRD_FILE = REPO / "crds" / f"{PLURAL}.{GROUP}.yaml"
MERGE = "application/merge-patch+json"
SCRIPTS = Path(sysconfig.get_path("scripts"))

SPEC: dict[str, Any] = {
    "route": {"kind": "ConfigMap", "name": "llm-gateway", "modelName": "chat"},
    "source": {"provider": "openai", "model": "gpt-4o", "backend": "openai-gpt-4o"},
    "target": {"provider": "anthropic", "model": "claude-sonnet-4", "backend": "anthropic-claude"},
    "strategy": {"type": "Phased", "steps": [{"weight": 10, "pause": "1m"}, {"approval": {}}, {"weight": 100}]},
}


@pytest.fixture(scope="module")
def crd(kube: client.ApiClient, kubectl: Callable[..., subprocess.CompletedProcess[str]]) -> str:
    """The product CRD from crds/, server-side applied and Established."""
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD_FILE))
    kubectl("wait", "--for=condition=Established", "--timeout=30s", f"crd/{PLURAL}.{GROUP}")
    return f"{PLURAL}.{GROUP}"


@pytest.fixture
def api(kube: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(kube)


@pytest.fixture
def kubeconfig(control_plane: ControlPlane | ExistingCluster) -> str:
    return str(control_plane.kubeconfig)


@pytest.fixture
def make(api: client.CustomObjectsApi, crd: str, namespace: str) -> Callable[..., dict[str, Any]]:
    """Create a ProviderMigration and (optionally) give it a status, as the operator would."""

    def create(name: str = "bot", status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "ProviderMigration",
            "metadata": {"name": name},
            "spec": {**SPEC, **spec},
        }
        obj = cast(dict[str, Any], api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body))
        if status is not None:
            obj = write_status(api, namespace, name, status)
        return obj

    return create


def write_status(api: client.CustomObjectsApi, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
    return cast(
        dict[str, Any],
        api.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, name, {"status": status}, _content_type=MERGE
        ),
    )


def get(api: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    return cast(dict[str, Any], api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name))


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def pmo(namespace: str, kubeconfig: str, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the CLI in-process against the test namespace; returns (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main([*argv, "-n", namespace, "--kubeconfig", kubeconfig])
        except SystemExit as e:  # argparse usage errors
            code = int(e.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


Make = Callable[..., dict[str, Any]]
PROGRESSING = {
    "phase": "Progressing",
    "currentStep": 0,
    "currentWeight": 10,
    "stepStartedAt": "2025-01-01T00:00:00Z",
    "startedAt": "2025-01-01T00:00:00Z",
}


def annotations_of(api: client.CustomObjectsApi, namespace: str) -> dict[str, str]:
    return dict(get(api, namespace, "bot")["metadata"].get("annotations") or {})


def test_get_lists_migrations_with_phase_step_weight(make: Make, pmo: Run, namespace: str) -> None:
    make("bot", status=PROGRESSING)
    make("fresh")  # no status yet: shown as Pending before its first step
    code, out, _ = pmo("get")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "PHASE", "STEP", "WEIGHT", "SOURCE", "TARGET", "AGE"]
    cells = {r.split()[0]: r.split() for r in rows}
    assert cells["bot"][1:6] == ["Progressing", "1/3", "10%", "openai/gpt-4o", "anthropic/claude-sonnet-4"]
    assert cells["fresh"][1:4] == ["Pending", "0/3", "0%"]

    code, out, _ = pmo("get", "-A")
    assert code == 0 and out.splitlines()[0].split()[0] == "NAMESPACE"
    assert any(line.split()[:2] == [namespace, "bot"] for line in out.splitlines())


def test_json_output_parses(make: Make, pmo: Run) -> None:
    criterion = {"name": "errorRate", "verdict": "Pass", "value": 0.01, "threshold": 0.05}
    analysis = {"time": "2025-01-01T00:01:00Z", "verdict": "Pass", "criteria": [criterion]}
    make("bot", status={**PROGRESSING, "lastAnalysis": analysis})
    code, out, _ = pmo("get", "-o", "json")
    assert code == 0
    assert [i["metadata"]["name"] for i in json.loads(out)["items"]] == ["bot"]

    code, out, _ = pmo("status", "bot", "-o", "json")
    assert code == 0
    summary = json.loads(out)
    assert summary["phase"] == "Progressing" and summary["steps"] == 3
    assert summary["status"]["lastAnalysis"]["criteria"][0]["threshold"] == 0.05


def test_status_renders_steps_weights_and_analysis(make: Make, pmo: Run) -> None:
    criterion = {"name": "latencyP95", "verdict": "Inconclusive", "message": "no data"}
    analysis = {"time": "2025-01-01T00:01:00Z", "verdict": "Inconclusive", "criteria": [criterion]}
    make("bot", status={**PROGRESSING, "phase": "Paused", "reason": "AnalysisInconclusive", "lastAnalysis": analysis})
    code, out, _ = pmo("status", "bot")
    assert code == 0
    assert "Paused (AnalysisInconclusive)" in out
    assert "▶ 1. weight 10%, pause 1m" in out
    assert "source 90%" in out and "10% target" in out
    assert "latencyP95" in out and "no data" in out


def test_promote_sets_a_fresh_request_id_annotation(
    make: Make, pmo: Run, api: client.CustomObjectsApi, namespace: str
) -> None:
    make("bot", status={**PROGRESSING, "phase": "Paused"})
    code, out, _ = pmo("promote", "bot", "-o", "json")
    first = json.loads(out)["requestId"]
    assert code == 0 and annotations_of(api, namespace)[command_annotation("promote")] == first

    code, out, _ = pmo("promote", "bot", "-o", "json")
    second = json.loads(out)["requestId"]
    assert code == 0 and second != first
    assert annotations_of(api, namespace)[command_annotation("promote")] == second


def test_wait_returns_once_status_records_the_handled_request(
    make: Make, pmo: Run, api: client.CustomObjectsApi, namespace: str
) -> None:
    make("bot", status={**PROGRESSING, "phase": "AwaitingApproval", "currentStep": 1})
    result: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: result.update(outcome=pmo("approve", "bot", "--wait", "--timeout", "30s", "--interval", "0.2"))
    )
    runner.start()
    deadline = time.monotonic() + 20
    while not (request := annotations_of(api, namespace).get(command_annotation("approve"))):
        assert time.monotonic() < deadline, "approve never set its annotation"
        time.sleep(0.1)
    time.sleep(0.5)
    assert runner.is_alive(), "--wait returned before the request was handled"
    # Play the operator: record the request as handled and move on.
    write_status(
        api, namespace, "bot", {"phase": "Progressing", "currentStep": 2, "handledCommands": {"approve": request}}
    )
    runner.join(timeout=15)
    assert not runner.is_alive()
    code, out, _ = result["outcome"]
    assert code == 0 and f"handled by the operator (request {request}); phase Progressing" in out


def test_wait_times_out_with_exit_5(make: Make, pmo: Run) -> None:
    make("bot", status={**PROGRESSING, "phase": "Paused"})
    code, _, err = pmo("promote", "bot", "--wait", "--timeout", "1", "--interval", "0.2")
    assert code == 5 and "timed out" in err


def test_commands_are_refused_by_phase_unless_forced(
    make: Make, pmo: Run, api: client.CustomObjectsApi, namespace: str
) -> None:
    make("bot", status=PROGRESSING)
    for command in ("approve", "retry"):
        code, _, err = pmo(command, "bot")
        assert code == 4, command
        assert "Progressing" in err and "--force" in err
    assert annotations_of(api, namespace) == {}

    assert pmo("approve", "bot", "--force")[0] == 0
    assert command_annotation("approve") in annotations_of(api, namespace)

    write_status(api, namespace, "bot", {"phase": "RolledBack"})
    assert pmo("abort", "bot")[0] == 4
    assert command_annotation("abort") not in annotations_of(api, namespace)
    assert pmo("retry", "bot")[0] == 0
    assert command_annotation("retry") in annotations_of(api, namespace)


def test_pause_and_resume_toggle_spec_paused(
    make: Make, pmo: Run, api: client.CustomObjectsApi, namespace: str
) -> None:
    make("bot", status=PROGRESSING)
    assert pmo("pause", "bot")[0] == 0
    paused = get(api, namespace, "bot")
    assert paused["spec"]["paused"] is True
    # The CLI writes under its own field manager, never as the operator.
    assert any(m["manager"] == "pmo" for m in paused["metadata"]["managedFields"])
    code, _, err = pmo("promote", "bot")
    assert code == 4 and "resume" in err
    assert pmo("resume", "bot")[0] == 0
    assert get(api, namespace, "bot")["spec"]["paused"] is False

    write_status(api, namespace, "bot", {"phase": "Succeeded"})
    assert pmo("pause", "bot")[0] == 4
    assert get(api, namespace, "bot")["spec"]["paused"] is False


@pytest.mark.parametrize("command", ["get", "status", "promote", "pause", "watch"])
def test_missing_migration_exits_3(command: str, crd: str, pmo: Run) -> None:
    code, _, err = pmo(command, "ghost")
    assert code == 3 and '"ghost"' in err and "not found" in err


def test_namespace_defaults_to_the_kubeconfig_context(
    make: Make,
    namespace: str,
    kubeconfig: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make("bot", status=PROGRESSING)
    cfg = yaml.safe_load(Path(kubeconfig).read_text())
    for ctx in cfg["contexts"]:
        ctx["context"]["namespace"] = namespace
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("KUBECONFIG", str(path))
    capsys.readouterr()
    assert main(["get"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[0] == "bot"


def _cli_env(kubeconfig: str) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": kubeconfig, "PATH": f"{SCRIPTS}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_kubectl_plugin(make: Make, namespace: str, kubeconfig: str) -> None:
    assert (SCRIPTS / "kubectl-migration").exists(), "the console script is not installed"
    make("bot", status=PROGRESSING)

    def kubectl_migration(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", "migration", *argv, "-n", namespace],
            env=_cli_env(kubeconfig),
            capture_output=True,
            text=True,
            timeout=60,
        )

    listed = kubectl_migration("get")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].split()[:4] == ["bot", "Progressing", "1/3", "10%"]
    assert kubectl_migration("status", "ghost").returncode == 3


@pytest.fixture
def watcher(namespace: str, kubeconfig: str) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """`pmo watch` in a subprocess (stdout not a terminal: one line or JSON record per change)."""
    procs: list[subprocess.Popen[str]] = []

    def start(*argv: str) -> subprocess.Popen[str]:
        cmd = [
            sys.executable,
            "-m",
            "provider_migration.cli.main",
            "watch",
            *argv,
            "-n",
            namespace,
            "--interval",
            "0.2",
        ]
        proc = subprocess.Popen(
            cmd, env=_cli_env(kubeconfig), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_watch_follows_changes_until_a_terminal_phase(
    make: Make, api: client.CustomObjectsApi, namespace: str, watcher: Callable[..., subprocess.Popen[str]]
) -> None:
    make("bot", status=PROGRESSING)
    proc = watcher("bot")
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert "Progressing" in first and "weight 10%" in first
    write_status(api, namespace, "bot", {"phase": "RolledBack", "currentWeight": 0})
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "RolledBack" in out.splitlines()[-1] and "weight 0%" in out.splitlines()[-1]


def test_watch_exit_codes_for_success_and_timeout(make: Make, watcher: Callable[..., subprocess.Popen[str]]) -> None:
    make("done", status={"phase": "Succeeded", "currentStep": 2, "currentWeight": 100})
    make("slow", status=PROGRESSING)
    ok, slow = watcher("done", "-o", "json"), watcher("slow", "--timeout", "1")
    out, _ = ok.communicate(timeout=30)
    assert ok.returncode == 0 and json.loads(out.splitlines()[-1])["phase"] == "Succeeded"
    _, err = slow.communicate(timeout=30)
    assert slow.returncode == 5 and "timed out" in err


def operator_status(**fields: Any) -> dict[str, Any]:
    """A status as the operator writes it (derived fields such as `step` included)."""
    from provider_migration.api.status import ProviderMigrationStatus

    return ProviderMigrationStatus.model_validate(fields).to_wire()


def test_kubectl_get_step_column_agrees_with_pmo(
    make: Make, pmo: Run, kubectl: Callable[..., subprocess.CompletedProcess[str]], namespace: str
) -> None:
    done = {"phase": "Succeeded", "currentStep": 2, "currentWeight": 100, "reason": "Succeeded", "message": "Done"}
    make("done", status=operator_status(**done))
    make("fresh", status=operator_status())
    listed = kubectl("get", "pmig", "-n", namespace, "-o", "wide").stdout.splitlines()
    header = ["NAME", "PHASE", "STEP", "WEIGHT", "SOURCE", "TARGET", "REASON", "TEMPLATE", "AGE", "MESSAGE"]
    assert listed[0].split() == header
    rows = {line.split()[0]: line.split() for line in listed[1:]}
    assert rows["done"][1:4] == ["Succeeded", "3", "100"] and rows["done"][6] == "Succeeded"
    assert rows["fresh"][1:4] == ["Pending", "0", "0"]
    code, out, _ = pmo("get", "-o", "wide")
    assert code == 0 and out.splitlines()[0].split() == listed[0].split()
    ours = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert ours["done"][1:4] == ["Succeeded", "3/3", "100%"] and ours["done"][6] == "Succeeded"
    assert ours["fresh"][1:3] == ["Pending", "0/3"]


def test_get_label_selector(make: Make, api: client.CustomObjectsApi, namespace: str, pmo: Run) -> None:
    make("chat")
    make("batch")
    api.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "chat", {"metadata": {"labels": {"app": "chat"}}}, _content_type=MERGE
    )
    code, out, _ = pmo("get", "-l", "app=chat", "-o", "name")
    assert code == 0 and out.splitlines() == [f"providermigration.{GROUP}/chat"]
    code, out, _ = pmo("get", "-l", "app!=chat", "-o", "name")
    assert code == 0 and out.splitlines() == [f"providermigration.{GROUP}/batch"]


def _pmo_process(kubeconfig: str, *argv: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "provider_migration.cli.main", *argv]
    return subprocess.Popen(cmd, env=_cli_env(kubeconfig), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_get_watch_prints_the_list_then_each_change(
    make: Make, api: client.CustomObjectsApi, namespace: str, kubeconfig: str
) -> None:
    make("bot", status=PROGRESSING)
    # Global flags before the sub-command, as kubectl takes them.
    proc = _pmo_process(kubeconfig, "-n", namespace, "get", "-w", "--interval", "0.2")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().split()[:3] == ["NAME", "PHASE", "STEP"]
        assert proc.stdout.readline().split()[:4] == ["bot", "Progressing", "1/3", "10%"]
        write_status(api, namespace, "bot", {"phase": "AwaitingApproval", "currentStep": 1})
        assert proc.stdout.readline().split()[:4] == ["bot", "AwaitingApproval", "2/3", "10%"]
    finally:
        proc.kill()
        proc.wait()


def test_watch_into_a_closed_pipe_ends_without_a_traceback(
    make: Make, api: client.CustomObjectsApi, namespace: str, kubeconfig: str
) -> None:
    """`pmo watch bot -o json | head -1`: head exits after one line; the next write must end pmo quietly."""
    make("bot", status=PROGRESSING)
    proc = _pmo_process(kubeconfig, "watch", "bot", "-o", "json", "-n", namespace, "--interval", "0.2")
    assert proc.stdout is not None and proc.stderr is not None
    assert json.loads(proc.stdout.readline())["phase"] == "Progressing"
    proc.stdout.close()  # what head -1 does once it has its line
    write_status(api, namespace, "bot", {"phase": "Paused"})
    assert proc.wait(timeout=60) == 141
    err = proc.stderr.read()
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_unreachable_server_reads_like_kubectl(tmp_path: Path, kubeconfig: str) -> None:
    config = yaml.safe_load(Path(kubeconfig).read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = "https://127.0.0.1:1"
    broken = tmp_path / "kubeconfig"
    broken.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [sys.executable, "-m", "provider_migration.cli.main", "--kubeconfig", str(broken), "get"],
        env=_cli_env(str(broken)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == "pmo get: Unable to connect to the server https://127.0.0.1:1: connection refused\n"


def test_kubectl_explain_describes_every_level(
    crd: str, kubectl: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    """The descriptions reach the API server's published OpenAPI, which is what kubectl explain reads."""
    for path, words in (
        ("providermigrations.status.step", "0 before the first step"),
        ("providermigrations.spec.analysis.rollbackOn.errorRate.above", "failed/total"),
        ("providermigrations.status.history.step", "0-based index"),
    ):
        deadline = time.monotonic() + 60  # the server publishes a new CRD's OpenAPI a little after Established
        while (done := kubectl("explain", path, check=False)).returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert done.returncode == 0 and words in " ".join(done.stdout.split()), (path, done.stdout, done.stderr)


def test_status_yaml(make: Make, pmo: Run) -> None:
    make("bot", status=PROGRESSING)
    code, out, _ = pmo("status", "bot", "-o", "yaml")
    assert code == 0 and yaml.safe_load(out)["phase"] == "Progressing"
