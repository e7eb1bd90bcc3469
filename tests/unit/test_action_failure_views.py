"""A change the operator keeps retrying is visible where people wait: `pmo status`, `pmo watch` and `--wait`."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from provider_migration.cli import migrations as cli
from provider_migration.views import terminal as render
from provider_migration.views.migration import Migration

FAILING = {
    "metadata": {"name": "bot", "namespace": "support", "resourceVersion": "7"},
    "status": {
        "phase": "RollingBack",
        "reason": "Aborted",
        "message": "Aborted by request r1",
        "actionFailure": {
            "action": "SetWeights",
            "reason": "SetWeights failed: HTTP 403",
            "count": 4,
            "since": "2026-12-01T20:00:00Z",
            "nextTryAt": "2026-12-01T20:01:15Z",
            "inputs": "1:abc",
        },
    },
}


class OneObject:
    def get(self, name: str) -> dict[str, Any]:
        return FAILING


def test_wait_names_the_failing_change_while_waiting_and_when_it_times_out(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(cli.TimedOut, match=r"phase RollingBack; SetWeights failed: HTTP 403 \(4 tries"):
        cli._wait_for(OneObject(), "bot", lambda m: m.phase == "RolledBack", 0.05, 0.01)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert err.count("the operator keeps retrying: SetWeights failed: HTTP 403") == 1, "told once, not every poll"


def test_status_and_watch_lines_show_it() -> None:
    mig = Migration.from_object(FAILING)
    console = Console(width=160, record=True)
    console.print(render.status_view(mig, mig.status.action_failure.since))  # type: ignore[union-attr]
    text = console.export_text()
    assert "Failing  SetWeights failed: HTTP 403 (4 tries; next at 20:01:15Z)" in text
    line = render.status_line(mig, mig.status.action_failure.since)  # type: ignore[union-attr]
    assert "failing: SetWeights failed: HTTP 403" in line
