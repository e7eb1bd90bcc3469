"""What the page shows of one migration: plain JSON built from the object, with the commands the phase
allows (the same table `pmo` refuses by)."""

from __future__ import annotations

from typing import Any

from provider_migration.cli.migrations import COMMAND_HELP, refusal
from provider_migration.views.migration import Migration

BUTTONS = tuple(COMMAND_HELP)  # promote, approve, abort, retry


def summary(obj: dict[str, Any]) -> dict[str, Any]:
    mig = Migration.from_object(obj)
    st, spec = mig.status, mig.spec
    analysis = st.last_analysis
    return {
        "key": f"{mig.namespace}/{mig.name}",
        "namespace": mig.namespace,
        "name": mig.name,
        "phase": mig.phase,
        "reason": st.reason or "",
        "message": st.message or "",
        "step": max(st.current_step, -1) + 1,
        "steps": len(mig.steps),
        "weight": st.current_weight,
        "mirror": st.mirror_percent,
        "source": f"{spec.source.provider}/{spec.source.model}" if spec else "",
        "target": f"{spec.target.provider}/{spec.target.model}" if spec else "",
        "paused": bool(spec and spec.paused),
        "template": mig.template or "",  # spec.templateRef, with the resourceVersion it started from
        "created": mig.created.isoformat() if mig.created else None,
        # The weight over time: every recorded decision carries the split at that moment.
        "weights": [{"time": h.time.isoformat(), "weight": h.weight} for h in st.history],
        "analysis": None
        if analysis is None
        else {
            "time": analysis.time.isoformat(),
            "verdict": analysis.verdict,
            "criteria": [
                {"name": r.name, "verdict": r.verdict, "value": r.value, "threshold": r.threshold}
                for r in analysis.criteria
            ],
        },
        "history": [
            {
                "time": h.time.isoformat(),
                "phase": h.phase.value,
                "step": h.step + 1,
                "weight": h.weight,
                "reason": h.reason,
                "message": h.message,
                "by": h.by,
            }
            for h in reversed(st.history)
        ],
        "commands": {c: refusal(c, mig) for c in BUTTONS},  # None: the operator acts on it now
    }
