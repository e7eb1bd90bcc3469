"""`pmo demo`: a whole migration on a local cluster with simulated providers, and a fault at the 50 % step."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from pmo_devenv.binaries import BinariesMissing
from pmo_devenv.demo import SCENARIOS, DemoSettings, demo_environment, run_scenario
from pmo_devenv.demo.view import LiveView, summary_view
from pmo_devenv.demo.world import settings_problem


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "demo", help="run a migration end to end on a local cluster with simulated providers",
        description="Starts (or reuses) the local environment, the provider and gateway simulators and the "
        "operator, applies GPT-4o -> Claude (10 -> 50 -> 100 %), injects the scenario's fault at 50 % and "
        "shows how the operator reacts.",
    )  # fmt: skip
    parser.add_argument("--scenario", choices=list(SCENARIOS), default="success")
    parser.add_argument(
        "--json", action="store_true", help="end with one JSON line on stdout (progress and summary go to stderr)"
    )
    parser.add_argument(
        "--interval",
        default="5s",
        help="analysis interval, also used for the pauses and stabilization (5s and up; default 5s)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the environment and the demo namespace running for inspection "
        "(starts `pmo dev up` in --dir when none runs there)",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(".dev"),
        help="a running `pmo dev up` environment here is reused (default: .dev)",
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="give up after this many seconds (default 180)")
    parser.add_argument(
        "--gateway",
        choices=["simulator", "litellm"],
        default="simulator",
        help="the gateway simulator (default) or the real LiteLLM proxy (experimental; use --interval 10s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = DemoSettings(interval=args.interval, timeout_s=args.timeout, gateway=args.gateway)
    if args.gateway == "litellm":
        from pmo_devenv.litellm_proxy import litellm_version

        try:
            version = litellm_version()
        except (BinariesMissing, OSError, subprocess.SubprocessError) as e:
            print(f"pmo demo: {e}", file=sys.stderr)
            return 1
        print(f"pmo demo: LiteLLM proxy {version}", file=sys.stderr)
        settings = replace(settings, baseline_window=args.interval, rps=min(settings.rps, 20.0))
    problem = settings_problem(settings)
    if problem:
        print(f"pmo demo: the API would refuse this migration: {problem}", file=sys.stderr)
        return 2
    console = Console(stderr=args.json)
    try:
        with demo_environment(args.dir, args.keep) as env, LiveView(console) as view:
            result = run_scenario(env, args.scenario, settings, view)
            kubeconfig = env.kubeconfig
    except KeyboardInterrupt:
        console.print("pmo demo: interrupted; everything it started is stopped")
        return 130
    except (BinariesMissing, RuntimeError, TimeoutError) as e:
        console.print(f"pmo demo failed: {e}", markup=False)
        return 1
    console.print(summary_view(result, args.interval))
    if not result.ok:
        console.print("\noperator log (tail):\n" + result.operator_log_tail, markup=False, highlight=False)
    if args.keep:
        console.print(
            f"\nkept: kubectl --kubeconfig {kubeconfig} -n {result.namespace} get pmig -o yaml\n"
            f"stop: pmo dev down --dir {args.dir}",
            markup=False,
            soft_wrap=True,
        )
    if args.json:
        print(json.dumps(result.to_json()), flush=True)
    return 0 if result.ok else 1
