"""Which command acts in which phase: the one table decide() follows and the CLI refuses by.

promote, approve, abort and retry are annotations (a request id each, handled once); pause and resume set
`spec.paused`. A command sent in a phase not listed here is not acted on: decide() handles it at once as
ignored (history, a Warning Event), so it never fires in a later phase.
"""

from __future__ import annotations

from enum import StrEnum

from provider_migration.api.status import TERMINAL_PHASES, Phase


class Command(StrEnum):
    PROMOTE = "promote"
    APPROVE = "approve"
    ABORT = "abort"
    RETRY = "retry"
    PAUSE = "pause"
    RESUME = "resume"


# Every phase that can still roll back.
ROLLBACK_POSSIBLE = frozenset(Phase) - TERMINAL_PHASES - {Phase.ROLLING_BACK}

ACTS_IN: dict[Command, frozenset[Phase]] = {
    # Ends the current pause or the stabilisation window (not a pause set in spec: that takes resume).
    Command.PROMOTE: frozenset({Phase.PROGRESSING, Phase.PAUSED, Phase.STABILIZING}),
    Command.APPROVE: frozenset({Phase.AWAITING_APPROVAL}),
    Command.ABORT: ROLLBACK_POSSIBLE,
    Command.RETRY: frozenset({Phase.ROLLED_BACK, Phase.FAILED, Phase.BLOCKED}),
    # spec.paused holds the rollout the next time it would move on to a step; the last step's stabilisation
    # window is not held, so pausing there would promise what does not happen.
    Command.PAUSE: ROLLBACK_POSSIBLE - {Phase.STABILIZING},
    Command.RESUME: frozenset(Phase),  # spec.paused=false is harmless anywhere
}


def acts_in(command: Command, phase: Phase) -> bool:
    return phase in ACTS_IN[command]
