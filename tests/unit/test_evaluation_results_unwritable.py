"""A results ConfigMap that cannot be written blocks the migration (verdict Error naming it); the gate does
not raise, since a raise would make the next tick send the paid golden set again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from rollout_world import spec_from

from provider_migration.api.status import EvaluationStatus
from provider_migration.evaluation import operator_gate


class Outcome:
    run = object()
    status = EvaluationStatus(verdict="Pass", completed_at=datetime(2026, 12, 1, tzinfo=UTC), message="passed")

    def results_data(self) -> dict[str, str]:
        return {"results.json": "[]"}


@pytest.mark.parametrize("status", [403, 422])
def test_unwritable_results_are_an_error_verdict(monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    sent: list[str] = []

    async def evaluate(*args: Any, **kwargs: Any) -> Outcome:
        sent.append("golden set")
        return Outcome()

    def store(*args: Any) -> str:
        raise ApiException(status=status, reason="Forbidden or immutable")

    monkeypatch.setattr(operator_gate, "_results_name_taken", lambda *a: None)
    monkeypatch.setattr(operator_gate, "_config_map_value", lambda *a: "- prompt: hi")
    monkeypatch.setattr(operator_gate, "_secret_value", lambda *a: None)
    monkeypatch.setattr(operator_gate, "evaluate", evaluate)
    monkeypatch.setattr(operator_gate, "_store_results", store)
    spec = spec_from(evaluation={"dataset": {"configMap": "golden"}})
    result = operator_gate.run_gate(object(), "support", "bot", spec, datetime.now(UTC))  # type: ignore[arg-type]
    assert result.verdict == "Error" and sent == ["golden set"]
    assert result.message == f"cannot store the results in ConfigMap support/bot-evaluation: HTTP {status}"
