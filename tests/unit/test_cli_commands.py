"""The CLI's decisions that need no cluster: phase refusals, request ids, timeouts, configuration, exit codes."""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from provider_migration.api.status import Phase
from provider_migration.cli import kubeclient, migrations
from provider_migration.cli.main import main
from provider_migration.cli.migrations import parse_timeout, refusal, request_id
from provider_migration.views.migration import Migration

SPEC: dict[str, Any] = {
    "route": {"kind": "ConfigMap", "name": "gw", "modelName": "chat"},
    "source": {"provider": "openai", "model": "gpt-4o", "backend": "a"},
    "target": {"provider": "anthropic", "model": "claude", "backend": "b"},
    "strategy": {"type": "Phased", "steps": [{"weight": 10, "pause": "1m"}, {"approval": {}}, {"weight": 100}]},
}


def mig(phase: str, **spec: Any) -> Migration:
    return Migration.from_object({"metadata": {"name": "bot"}, "spec": {**SPEC, **spec}, "status": {"phase": phase}})


def allowed(command: str) -> set[str]:
    return {p.value for p in Phase if refusal(command, mig(p.value)) is None}


def test_approve_only_at_a_gate() -> None:
    assert allowed("approve") == {"AwaitingApproval"}


def test_retry_only_after_the_migration_stopped() -> None:
    assert allowed("retry") == {"RolledBack", "Failed", "Blocked"}


def test_abort_in_every_phase_that_can_still_roll_back() -> None:
    assert allowed("abort") == {p.value for p in Phase} - {"Succeeded", "RolledBack", "Failed", "RollingBack"}


def test_promote_ends_pauses_but_not_a_pause_set_in_spec() -> None:
    assert allowed("promote") == {"Progressing", "Paused", "Stabilizing"}
    why = refusal("promote", mig("Paused", paused=True))
    assert why is not None and "resume" in why


def test_pause_refused_once_finished_and_resume_always_allowed() -> None:
    assert {"Succeeded", "RolledBack", "Failed", "RollingBack"}.isdisjoint(allowed("pause"))
    assert "Progressing" in allowed("pause")
    assert allowed("resume") == {p.value for p in Phase}


def test_refusal_names_the_phase_and_an_unknown_phase_is_refused() -> None:
    why = refusal("approve", mig("Progressing"))
    assert why is not None and "Progressing" in why and "AwaitingApproval" in why
    unknown = refusal("abort", mig("Verifying"))
    assert unknown is not None and "Verifying" in unknown


def test_request_id_is_rfc3339_utc_with_nanoseconds() -> None:
    rid = request_id(1_717_243_200_123_456_789)
    assert rid == "2024-06-01T12:00:00.123456789Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", request_id(5))
    assert datetime.fromisoformat(rid[:26] + "+00:00").microsecond == 123456
    assert request_id(1) != request_id(2)


@pytest.mark.parametrize(("text", "expected"), [("90", 90.0), ("1.5", 1.5), ("30s", 30.0), ("5m", 300.0), ("0", 0)])
def test_parse_timeout(text: str, expected: float) -> None:
    assert parse_timeout(text) == expected


@pytest.mark.parametrize("text", ["-1", "5 minutes", "1h30m", ""])
def test_parse_timeout_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_timeout(text)


def test_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["approve", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for code in range(6):
        assert re.search(rf"^\s+{code}\s+\S", out, re.MULTILINE), f"exit code {code} not documented"
    assert {m.value for m in migrations.Exit} == set(range(6))


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["promote"], ["get", "-o", "xml"], ["watch", "bot", "--timeout", "soon"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2, argv


def _kubeconfig(path: Path, namespaces: dict[str, str | None], current: str) -> Path:
    contexts = [
        {"name": name, "context": {"cluster": "c", "user": "u", **({"namespace": ns} if ns else {})}}
        for name, ns in namespaces.items()
    ]
    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": contexts,
        "current-context": current,
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_namespace_comes_from_flag_then_context_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _kubeconfig(tmp_path / "config", {"prod": "payments", "dev": None}, current="prod")
    monkeypatch.setenv("KUBECONFIG", str(cfg))
    assert kubeclient.connect(None, None, None).namespace == "payments"
    assert kubeclient.connect(None, None, "other").namespace == "other"
    assert kubeclient.connect(None, "dev", None).namespace == "default"
    explicit = _kubeconfig(tmp_path / "explicit", {"x": "from-flag"}, current="x")
    assert kubeclient.connect(str(explicit), None, None).namespace == "from-flag"


def test_no_configuration_at_all_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(kubeclient.ClusterError, match="no kubeconfig"):
        kubeclient.connect(None, None, None)


def _api_error(status: int, body: dict[str, Any]) -> client.ApiException:
    e = client.ApiException(status=status, reason="x")
    e.body = json.dumps(body)
    return e


def test_api_errors_map_to_not_found_missing_crd_conflict_and_other() -> None:
    missing = _api_error(404, {"reason": "NotFound", "details": {"name": "bot", "kind": "providermigrations"}})
    assert isinstance(kubeclient._translate(missing, "bot"), kubeclient.NotFound)
    no_crd = kubeclient._translate(_api_error(404, {"reason": "NotFound", "details": {}}), "bot")
    assert not isinstance(no_crd, kubeclient.NotFound) and "CRD" in str(no_crd)
    assert isinstance(kubeclient._translate(_api_error(409, {"message": "changed"}), "bot"), kubeclient.Conflict)
    forbidden = kubeclient._translate(_api_error(403, {"message": "cannot patch"}), "bot")
    assert type(forbidden) is kubeclient.ClusterError and "403 cannot patch" in str(forbidden)


def test_unreachable_cluster_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _kubeconfig(tmp_path / "config", {"x": "ns"}, current="x")  # server 127.0.0.1:1 refuses connections
    assert main(["get", "--kubeconfig", str(cfg)]) == 1
    assert (
        capsys.readouterr().err == "pmo get: Unable to connect to the server https://127.0.0.1:1: connection refused\n"
    )
