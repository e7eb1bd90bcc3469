"""What a demo run observed, and whether that is what its scenario expects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .scenarios import Scenario


@dataclass
class DemoResult:
    scenario: Scenario
    namespace: str
    environment: str
    phase: str | None = None
    reason: str | None = None  # status.reason at the end
    rollback_message: str | None = None  # status.rollbackReason
    weights: list[int] = field(default_factory=list)  # target %, from the initial 0, in order
    weight_times: list[float] = field(default_factory=list)  # seconds after the migration was created
    fault: str = "none"
    fault_at: float | None = None
    breach_visible_at: float | None = None
    route_restored_at: float | None = None
    target_last_request_at: float | None = None  # the target provider's last request (polled every tick)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # status.history
    requests: dict[str, dict[str, int]] = field(default_factory=dict)  # per provider: total, status_<code>
    setup_seconds: float = 0.0
    duration_seconds: float = 0.0  # migration created -> outcome
    timed_out: bool = False
    operator_exited: bool = False
    operator_log_tail: str = ""

    @property
    def detect_to_rollback_seconds(self) -> float | None:
        if self.breach_visible_at is None or self.route_restored_at is None:
            return None
        return round(self.route_restored_at - self.breach_visible_at, 3)

    @property
    def detect_to_source_only_seconds(self) -> float | None:
        """Breach visible -> the last request the target provider received: from then on the source serves all
        traffic, as the providers count it (a gateway restart included)."""
        if self.breach_visible_at is None or self.route_restored_at is None or self.target_last_request_at is None:
            return None
        return round(max(self.target_last_request_at - self.breach_visible_at, 0.0), 3)

    @property
    def rollback_reason(self) -> str | None:
        return self.reason if self.phase in ("RollingBack", "RolledBack") else None

    def problems(self) -> list[str]:
        """How the run differs from what the scenario expects; empty when it went as it should."""
        s, found = self.scenario, []
        if self.timed_out:
            found.append("timed out")
        if self.operator_exited:
            found.append("the operator process exited")
        if self.phase != s.expect_phase:
            found.append(f"phase {self.phase}, expected {s.expect_phase}")
        if s.expect_reason is not None and self.reason != s.expect_reason:
            found.append(f"reason {self.reason}, expected {s.expect_reason}")
        if self.weights != s.expect_weights:
            found.append(f"weights {self.weights}, expected {s.expect_weights}")
        if s.criterion is not None and self.detect_to_rollback_seconds is None:
            found.append("no breach-to-rollback time (breach not seen in Prometheus or route not restored)")
        return found

    @property
    def ok(self) -> bool:
        return not self.problems()

    def to_json(self) -> dict[str, Any]:
        """The `--json` line: the keys the issue names first, then what helps reading a failure."""
        return {
            "scenario": self.scenario.name,
            "phase": self.phase,
            "weights": self.weights,
            "rollback_reason": self.rollback_reason,
            "detect_to_rollback_seconds": self.detect_to_rollback_seconds,
            "detect_to_source_only_seconds": self.detect_to_source_only_seconds,
            "decisions": self.decisions,
            "reason": self.reason,
            "rollback_message": self.rollback_message,
            "namespace": self.namespace,
            "fault": self.fault,
            "setup_seconds": round(self.setup_seconds, 1),
            "duration_seconds": round(self.duration_seconds, 1),
            "weight_times": [round(t, 2) for t in self.weight_times],
            "requests": self.requests,
            "ok": self.ok,
            "problems": self.problems(),
        }
