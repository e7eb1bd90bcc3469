"""The reason enums are the documented ones, and the wire values of objects already stored keep their meaning."""

from __future__ import annotations

from pathlib import Path

from provider_migration.api.reasons import EVENT_REASONS, PauseReason
from provider_migration.api.status import Phase, ProviderMigrationStatus

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_every_reason_is_in_the_architecture_table() -> None:
    text = ARCHITECTURE.read_text()
    missing = sorted(r for r in EVENT_REASONS if f"`{r}`" not in text)
    assert not missing, f"docs/architecture.md does not explain {missing}"


def test_an_older_paused_object_reads_its_pause_cause_from_status_reason() -> None:
    for cause in PauseReason:
        old = ProviderMigrationStatus.model_validate({"phase": "Paused", "reason": cause.value})
        assert old.pause_reason == cause
    progressing = ProviderMigrationStatus.model_validate({"phase": "Progressing", "reason": "PausedBySpec"})
    assert progressing.pause_reason is None
    assert ProviderMigrationStatus(phase=Phase.PAUSED, reason="SomethingNewer").pause_reason is None
