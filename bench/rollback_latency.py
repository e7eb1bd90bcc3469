"""Breach-to-rollback latency: N error-spike demo runs (default 20), each timed from the moment the breach is
visible in Prometheus (the error-rate query over the analysis interval, polled every 0.1 s) to the moment
the LiteLLM ConfigMap is back at 100 % source (seen by a watch), and, beside it, to the moment the source
serves all traffic as the providers see it (the target simulator's last request; with `--gateway litellm`
that includes the proxy's restart). Prints p50 and p95 and their ratio to the analysis interval; the design
target is p95 <= interval + 1 s (route restored). Figures only, no assertion.

By default the fault hits at a random moment one to two intervals into a long 50 % step, so the breach
lands anywhere between two analyses (the worst case included); `--at-step-start` injects it the moment the
step begins, as `pmo demo` does, which always leaves the same stretch to the next analysis.

    python bench/rollback_latency.py [--runs 20] [--interval 5s] [--at-step-start] [--gateway litellm] [--dir .dev]

Reuses a running `pmo dev up` environment in --dir, else starts a private control plane and Prometheus.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import time
from pathlib import Path

from pmo_devenv.demo import DemoSettings, Progress, demo_environment, run_scenario
from pmo_devenv.demo.world import settings_problem
from provider_migration.api.durations import seconds


class NoView:
    def update(self, progress: Progress) -> None:
        pass


def p50_p95(values: list[float]) -> tuple[float, float]:
    """Linear interpolation between closest ranks (numpy's default)."""
    if len(values) == 1:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=20, method="inclusive")  # 5 %, 10 %, ... 95 %
    return cuts[9], cuts[18]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--interval", default="5s", help="analysis interval (the API accepts 5s and up)")
    parser.add_argument("--dir", type=Path, default=Path(".dev"), help="reuse a `pmo dev up` environment here")
    parser.add_argument("--at-step-start", action="store_true", help="inject when the 50 %% step begins")
    parser.add_argument("--gateway", choices=["simulator", "litellm"], default="simulator")
    args = parser.parse_args()
    settings = DemoSettings(interval=args.interval, timeout_s=120 if args.gateway == "simulator" else 400)
    if args.gateway == "litellm":
        settings = dataclasses.replace(settings, gateway="litellm", baseline_window=args.interval, rps=20.0)
    problem = settings_problem(settings)
    if problem:
        print(f"rollback_latency: the API would refuse interval {args.interval}: {problem}", file=sys.stderr)
        return 2
    interval = float(seconds(args.interval))
    if not args.at_step_start:  # the 50 % step outlasts the latest fault plus its detection
        settings = dataclasses.replace(settings, fault_step_pause=f"{int(6 * interval) + 30}s")
    latencies: list[float] = []
    source_only: list[float] = []
    failed: list[str] = []
    started = time.monotonic()
    with demo_environment(args.dir, keep=False) as env:
        when = "when the 50 % step begins" if args.at_step_start else "1-2 intervals into the 50 % step"
        print(
            f"environment: {env.origin}\n{args.runs} error-spike runs, analysis interval {args.interval}, fault {when}",
            flush=True,
        )
        for i in range(1, args.runs + 1):
            delay = 0.0 if args.at_step_start else random.uniform(interval, 2 * interval)
            run = dataclasses.replace(settings, fault_delay_s=delay)
            result = run_scenario(env, "error-spike", run, NoView())
            took = result.detect_to_rollback_seconds
            outcome = f"{result.phase} {result.reason}"
            if result.ok and took is not None:
                latencies.append(took)
                served = result.detect_to_source_only_seconds
                if served is not None:
                    source_only.append(served)
                shown = f"{served:5.2f}s" if served is not None else "    -"
                print(
                    f"run {i:2}/{args.runs}: breach visible -> route 100% source {took:5.2f}s, "
                    f"-> source serving all {shown}  ({outcome})",
                    flush=True,
                )
            else:
                failed.append(f"run {i}: {'; '.join(result.problems())}")
                print(f"run {i:2}/{args.runs}: NOT COUNTED ({outcome}): {'; '.join(result.problems())}", flush=True)
    print(f"\n{len(latencies)} of {args.runs} runs timed in {time.monotonic() - started:.0f}s")
    if not latencies:
        return 1
    p50, p95 = p50_p95(latencies)
    print(f"breach -> rollback  p50 {p50:.2f}s  p95 {p95:.2f}s  (min {min(latencies):.2f}s, max {max(latencies):.2f}s)")
    print(f"ratio to the interval ({interval:g}s)  p50 {p50 / interval:.2f}  p95 {p95 / interval:.2f}")
    if source_only:
        s50, s95 = p50_p95(source_only)
        print(f"breach -> source serving all (at the providers)  p50 {s50:.2f}s  p95 {s95:.2f}s  ({args.gateway})")
    target = interval + 1.0
    print(f"target p95 <= interval + 1s = {target:g}s: {'met' if p95 <= target else 'NOT met'}")
    for line in failed:
        print(f"not counted: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
