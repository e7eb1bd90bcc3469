"""The Argo CD health check (charts/provider-migration-operator/files/argocd/health.lua), run as Argo CD runs it.

Argo CD evaluates the script with gopher-lua (Lua 5.1), only the base, table, string and math libraries, the
live object as the global `obj`, and every JSON number as a float64. The tests reproduce that with lupa on
Lua 5.1 and 5.4, and build the objects from the real example manifest and the operator's own status model,
so a renamed status field or a new phase breaks them.
"""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from provider_migration.api.status import Phase, ProviderMigrationStatus

REPO = Path(__file__).resolve().parents[2]
HEALTH_LUA = REPO / "charts/provider-migration-operator/files/argocd/health.lua"
EXAMPLE = REPO / "examples/gpt4o-to-claude-litellm.yaml"
CM_KEY = "resource.customizations.health.migrations.llmops.dev_ProviderMigration"

# The contract, phase by phase (docs/argocd.md explains the choices).
EXPECTED = {
    Phase.SUCCEEDED: "Healthy",
    Phase.PENDING: "Progressing",
    Phase.INITIALIZING: "Progressing",
    Phase.EVALUATING: "Progressing",
    Phase.PROGRESSING: "Progressing",
    Phase.STABILIZING: "Progressing",
    Phase.ROLLING_BACK: "Progressing",
    Phase.AWAITING_APPROVAL: "Suspended",
    Phase.PAUSED: "Suspended",
    Phase.BLOCKED: "Degraded",
    Phase.FAILED: "Degraded",
    Phase.ROLLED_BACK: "Degraded",
}
# Libraries Argo CD's Lua VM does not open; the script must not depend on them.
NOT_IN_ARGOCD = ("os", "io", "debug", "dofile", "loadfile", "require", "package", "python")


def _as_argocd_value(value: Any) -> Any:
    """JSON -> what gopher-lua sees: every number a float64."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: _as_argocd_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_argocd_value(v) for v in value]
    return value


def _to_lua(runtime: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return runtime.table_from({k: _to_lua(runtime, v) for k, v in value.items()})
    if isinstance(value, list):
        return runtime.table_from([_to_lua(runtime, v) for v in value])
    return value


@pytest.fixture(params=["lua51", "lua54"])
def health(request: pytest.FixtureRequest) -> Any:
    """health(obj) -> {"status": ..., "message": ...} using the shipped script."""
    module = importlib.import_module(f"lupa.{request.param}")
    script = HEALTH_LUA.read_text()

    def run(obj: dict[str, Any]) -> dict[str, Any]:
        runtime = module.LuaRuntime(register_eval=False, register_builtins=False)
        for name in NOT_IN_ARGOCD:
            runtime.execute(f"{name} = nil")
        runtime.globals().obj = _to_lua(runtime, _as_argocd_value(obj))
        result = runtime.execute(script)
        return dict(result.items())

    return run


def _migration(generation: int = 3, status: ProviderMigrationStatus | None = None) -> dict[str, Any]:
    """The example ProviderMigration as the API server would return it, with `status` on the wire."""
    doc = next(d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d and d["kind"] == "ProviderMigration")
    doc["metadata"].update(namespace="support", generation=generation, uid="0d6e4c6e-1b7e-4a0b-9f7e-3a1f0c2b9d11")
    if status is not None:
        doc["status"] = status.to_wire()
    return doc


def _status(phase: Phase, generation: int = 3, **fields: Any) -> ProviderMigrationStatus:
    return ProviderMigrationStatus(
        phase=phase, observed_generation=generation, started_at=datetime(2026, 5, 4, 9, 0, tzinfo=UTC), **fields
    )


def test_the_contract_covers_every_phase_the_operator_can_write() -> None:
    assert set(EXPECTED) == set(Phase)


@pytest.mark.parametrize("phase", list(Phase), ids=str)
def test_each_phase_maps_to_its_argocd_health(health: Any, phase: Phase) -> None:
    result = health(_migration(status=_status(phase, current_weight=50, message="step 2 of 4")))
    assert result["status"] == EXPECTED[phase]
    assert result["message"] == f"{phase.value} (50% on target): step 2 of 4"


def test_a_migration_the_operator_has_not_seen_yet_is_progressing(health: Any) -> None:
    result = health(_migration())
    assert result["status"] == "Progressing"
    assert "operator" in result["message"]


def test_a_status_without_a_phase_is_progressing(health: Any) -> None:
    obj = _migration()
    obj["status"] = {"observedGeneration": 3}
    assert health(obj)["status"] == "Progressing"


@pytest.mark.parametrize("phase", [Phase.SUCCEEDED, Phase.FAILED, Phase.AWAITING_APPROVAL, Phase.ROLLED_BACK], ids=str)
def test_a_status_for_an_older_generation_waits_for_the_operator(health: Any, phase: Phase) -> None:
    result = health(_migration(generation=4, status=_status(phase, generation=3)))
    assert result["status"] == "Progressing"
    assert result["message"] == "Waiting for the operator to observe generation 4"


def test_a_status_without_observed_generation_is_not_trusted(health: Any) -> None:
    obj = _migration(status=_status(Phase.SUCCEEDED))
    del obj["status"]["observedGeneration"]
    assert health(obj)["status"] == "Progressing"


def test_the_current_generation_lets_the_phase_decide(health: Any) -> None:
    assert health(_migration(generation=4, status=_status(Phase.SUCCEEDED, generation=4)))["status"] == "Healthy"


def test_a_rollback_reports_why(health: Any) -> None:
    status = _status(
        Phase.ROLLED_BACK,
        current_weight=0,
        reason="AnalysisFailed",
        message="errorRate 0.081 above 0.05 at step 1",
        rollback_reason="errorRate",
    )
    result = health(_migration(status=status))
    assert result == {
        "status": "Degraded",
        "message": "RolledBack (0% on target): errorRate 0.081 above 0.05 at step 1",
    }


def test_the_reason_stands_in_for_a_missing_message(health: Any) -> None:
    result = health(_migration(status=_status(Phase.BLOCKED, reason="SecretMissing")))
    assert result["status"] == "Degraded"
    assert result["message"].endswith(": SecretMissing")


def test_a_phase_from_a_newer_operator_is_unknown_not_healthy(health: Any) -> None:
    obj = _migration(status=_status(Phase.PROGRESSING))
    obj["status"]["phase"] = "Hibernating"
    result = health(obj)
    assert result["status"] == "Unknown"
    assert "Hibernating" in result["message"]


def test_docs_ship_the_same_script_as_the_chart() -> None:
    """docs/argocd.md's argocd-cm snippet is the chart's file, byte for byte (modulo YAML indentation)."""
    text = (REPO / "docs/argocd.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    docs = [d for b in blocks for d in yaml.safe_load_all(b) if isinstance(d, dict)]
    configmaps = [d for d in docs if d.get("kind") == "ConfigMap"]
    snippets = [cm["data"][CM_KEY] for cm in configmaps if CM_KEY in cm.get("data", {})]
    assert snippets, f"docs/argocd.md has no argocd-cm snippet with {CM_KEY}"
    assert all(s == HEALTH_LUA.read_text() for s in snippets)
