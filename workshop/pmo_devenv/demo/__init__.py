"""`pmo demo`: a whole migration on the local environment, with a fault injected at the 50 % step.

Test and demo tooling only (never imported by the operator). `run_scenario` drives one scenario and
returns what it observed; the CLI, the e2e tests and bench/rollback_latency.py all go through it.
"""

from .environment import DemoEnvironment, attached, demo_environment
from .result import DemoResult
from .runner import Progress, run_scenario
from .scenarios import SCENARIOS, Scenario
from .world import DemoSettings

__all__ = [
    "SCENARIOS",
    "DemoEnvironment",
    "DemoResult",
    "DemoSettings",
    "Progress",
    "Scenario",
    "attached",
    "demo_environment",
    "run_scenario",
]
