"""`pmo simulate`: argument handling, the rich and JSON outputs, and that it never touches the network."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from example_manifests import EXAMPLES
from provider_migration.cli.main import main

SUPPORT_BOT = EXAMPLES / "gpt4o-to-claude-litellm.yaml"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pmo simulate opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["simulate", *args, "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_json_document_of_a_caught_fault(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "-f", str(SUPPORT_BOT), "--scenario", "error-spike", "--requests-per-second", "20")
    assert doc["scenario"] == "error-spike"
    (result,) = doc["migrations"]
    assert result["name"] == "support-bot-to-claude"
    assert (result["final_phase"], result["final_reason"]) == ("RolledBack", "ErrorRate")
    assert result["weights"] == [0, 10, 50, 0] and result["fault_step"] == 2
    assert result["exposure"]["served"] == pytest.approx(20 * 0.5 * result["detection_time"], rel=0.02)
    reasons = [row["reason"] for row in result["timeline"]]
    assert reasons.index("SimulatedFault") < reasons.index("AnalysisFailed") < reasons.index("RolledBack")
    first = result["timeline"][0]
    assert set(first) == {"offset", "phase", "step", "weight", "mirror", "reason", "message"}


def test_json_comparison_of_strategies(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "-f", str(SUPPORT_BOT), "--scenario", "cost", "--compare-strategies")
    strategies = doc["migrations"][0]["strategies"]
    assert list(strategies) == ["Phased", "BigBang", "Parallel"]
    assert {s["final_reason"] for s in strategies.values()} == {"Cost"}
    served = {name: s["exposure"]["served"] for name, s in strategies.items()}
    assert served["BigBang"] > served["Phased"] > 0
    assert strategies["Parallel"]["splits"][1] == "mirror 20%"
    assert any("cannot mirror" in n for n in strategies["Parallel"]["notes"])


def test_rich_output_shows_timeline_and_outcome(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["simulate", "-f", str(SUPPORT_BOT), "--scenario", "latency"]) == 0
    out = capsys.readouterr().out
    for text in ("Decision timeline", "StepAdvanced", "SimulatedFault", "RolledBack (Latency)", "0% → 10% → 50% → 0%"):
        assert text in out
    # 10 rps x 50 % x (one 1m interval + the 0.5 s tick in which the rollback is recorded before it routes)
    assert "Faulty target" in out and "302 served" in out


def test_stops_at_an_approval_gate_unless_told_to_approve(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["simulate", "-f", str(SUPPORT_BOT)]) == 0
    assert "waiting for `pmo approve` at step 3" in capsys.readouterr().out
    doc = run_json(capsys, "-f", str(SUPPORT_BOT), "--auto-approve", "--approve-after", "4h")
    assert doc["migrations"][0]["final_phase"] == "Succeeded"


def test_without_analysis_the_output_says_metrics_never_roll_back(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = list(yaml.safe_load_all(SUPPORT_BOT.read_text()))
    migration = next(d for d in docs if d and d["kind"] == "ProviderMigration")
    del migration["spec"]["analysis"]
    monkeypatch.setattr("sys.stdin", io.StringIO(yaml.safe_dump(migration)))
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["simulate", "-f", "-", "--scenario", "error-spike", "--auto-approve"]) == 0
    out = capsys.readouterr().out
    assert "never rolls back on metrics" in out and "Succeeded" in out


def test_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["simulate", "-f", str(tmp_path / "missing.yaml")]) == 1
    only_secret = tmp_path / "secret.yaml"
    only_secret.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n")
    assert main(["simulate", "-f", str(only_secret)]) == 2
    assert "no migrations.llmops.dev/v1alpha1 ProviderMigration" in capsys.readouterr().err
    assert main(["simulate", "-f", str(SUPPORT_BOT), "--scenario", "error-spike", "--fault-step", "9"]) == 2
    assert "not a step" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "-f", str(SUPPORT_BOT), "--scenario", "meteor"])
