"""Chaos: concurrent migrations while the operator is SIGKILLed and restarted at random moments, the API
server restarts once (same etcd data) and Prometheus stops for three analysis intervals.

    python bench/chaos.py [--migrations 10] [--kills 20] [--seed N]

Every third migration's target starts failing (50 % errors) once it carries 30 % of the traffic. Afterwards
each migration is checked from the weights its LiteLLM route went through and its gateway Secret's keys
(both watched the whole time) and from its status history: no step repeated or skipped, weights summing to
100, the target never weighted before its key was projected, no step taken while Prometheus was down, and a
terminal phase its metrics justify (healthy: Succeeded; failing: RolledBack for its error rate, never at
100 %). Prints the faults injected, the migrations correct and the violations (exit 1 unless 0).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

from pmobench.chaos import ChaosConfig, ChaosRun


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--migrations", type=int, default=10)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, help="repeat a run's random schedule")
    args = parser.parse_args(argv)
    config = replace(ChaosConfig(), migrations=args.migrations, kills=args.kills, seed=args.seed)
    say(
        f"chaos: {config.migrations} migrations, {config.kills} operator kills, {config.apiserver_restarts} API "
        f"server restart(s), {config.prometheus_outages} Prometheus outage(s) of {config.outage_intervals} intervals"
    )
    report = ChaosRun(config, say).run()
    print()
    print(f"seed                     {report.seed}")
    print(f"run time                 {report.elapsed_s:.0f}s")
    print(f"faults injected          {sum(report.faults.values())}  {report.faults}")
    print(f"promotions after outage  {report.promotions}")
    print(f"watch gaps (relisted)    {report.watch_gaps}")
    print(f"migrations correct       {report.correct}/{report.migrations}")
    print(f"violations               {report.violation_count}")
    for name, problems in sorted(report.violations.items()):
        for problem in problems:
            print(f"  {name}: {problem}")
    return 0 if report.violation_count == 0 and report.correct == report.migrations else 1


if __name__ == "__main__":
    sys.exit(main())
