"""Offline rehearsal of a migration (`pmo simulate`): the real decide() and the real analysis, no cluster.

A simulated world obeys the decisions' actions on a fake clock; synthetic Prometheus answers give the
source a baseline and the target a scenario's metrics (a fault from a chosen step on).
"""

from .result import SimulationOptions, SimulationResult
from .run import simulate
from .scenarios import SCENARIOS, Scenario
from .strategies import STRATEGIES, strategy_variants

__all__ = [
    "SCENARIOS",
    "STRATEGIES",
    "Scenario",
    "SimulationOptions",
    "SimulationResult",
    "simulate",
    "strategy_variants",
]
