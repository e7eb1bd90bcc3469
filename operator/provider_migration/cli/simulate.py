"""`pmo simulate -f MIGRATION.yaml --scenario ...`: rehearse a migration offline with the operator's own
decide() and analysis over synthetic metrics. No cluster, no Prometheus.

Exit codes: 0 the simulation ran (whatever its outcome), 1 the file cannot be read, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from provider_migration.api.durations import seconds
from provider_migration.cli.kubeclient import cluster_templates
from provider_migration.simulation import STRATEGIES, Scenario, SimulationOptions, simulate, strategy_variants
from provider_migration.simulation.manifests import (
    ManifestError,
    MigrationManifest,
    Unreadable,
    parse_migrations,
    read_text,
)
from provider_migration.simulation.render import print_comparison, print_result, to_dict


def _duration(text: str) -> float:
    try:
        return float(seconds(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30s, 15m, 1h, 7d") from None


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "simulate",
        help="rehearse a migration offline: decisions over synthetic metrics, no cluster",
        description="Run the operator's decisions over synthetic metrics: a healthy source baseline and a target "
        "that turns bad from a step on (the first step giving it 50%% of the requests unless --fault-step). "
        "The spec's analysis interval, pauses, gates and rollbackOn thresholds apply.",
    )
    p.add_argument("-f", "--filename", type=Path, required=True, help="manifest with ProviderMigrations ('-': stdin)")
    p.add_argument("--scenario", choices=[s.value for s in Scenario], default=Scenario.SUCCESS.value)
    p.add_argument("-o", "--output", choices=["table", "json"], default="table", help="output format (default table)")
    p.add_argument("--json", dest="output", action="store_const", const="json", help="the same as -o json")
    p.add_argument(
        "--compare-strategies",
        action="store_true",
        help=f"rehearse the same migration as {', '.join(STRATEGIES)} and compare them",
    )
    p.add_argument("--auto-approve", action="store_true", help="pass approval gates instead of stopping at them")
    p.add_argument(
        "--approve-after", type=_duration, default=0.0, metavar="DURATION", help="time a person takes to approve"
    )
    p.add_argument("--fault-step", type=int, metavar="N", help="the step (1-based) at which the fault starts")
    p.add_argument(
        "--severity",
        type=float,
        help="fault size: error-spike failed fraction (0.2), latency p95 ratio to the source (4), "
        "cost fraction over forecast (0.5), quality fractional drop (0.25)",
    )
    p.add_argument(
        "--requests-per-second", type=_positive, default=10.0, metavar="RPS", help="the route's traffic (default 10)"
    )
    p.add_argument(
        "--horizon", type=_duration, default=90 * 86400.0, metavar="DURATION", help="simulated time limit (90d)"
    )
    p.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    try:
        manifests = parse_migrations(read_text(args.filename), str(args.filename), cluster_templates(args))
    except Unreadable as e:
        print(f"pmo simulate: {e}", file=sys.stderr)
        return 1
    except ManifestError as e:
        print(f"pmo simulate: {e}", file=sys.stderr)
        return 2
    scenario = Scenario(args.scenario)
    options = SimulationOptions(
        severity=args.severity,
        fault_step=args.fault_step - 1 if args.fault_step is not None else None,
        auto_approve=args.auto_approve,
        approve_after=args.approve_after,
        requests_per_second=args.requests_per_second,
        horizon=args.horizon,
    )
    documents: list[dict[str, Any]] = []
    try:
        for m in manifests:
            documents.append(_one(m, scenario, options, args))
    except ValueError as e:
        print(f"pmo simulate: {e}", file=sys.stderr)
        return 2
    if args.output == "json":
        print(json.dumps({"scenario": scenario.value, "migrations": documents}, indent=2))
    return 0


def _one(
    m: MigrationManifest, scenario: Scenario, options: SimulationOptions, args: argparse.Namespace
) -> dict[str, Any]:
    if not args.compare_strategies:
        result = simulate(m.spec, scenario, options, name=m.name, namespace=m.namespace)
        if args.output != "json":
            print_result(result)
        return to_dict(result)
    # Parallel on a route that cannot mirror would only say Blocked; rehearse it as if it could (and say so).
    hypothetical = replace(options, assume_mirroring=True)
    results = {
        strategy: simulate(spec, scenario, hypothetical, name=m.name, namespace=m.namespace)
        for strategy, spec in strategy_variants(m.spec).items()
    }
    if args.output != "json":
        print_comparison(results)
    return {"name": m.name, "strategies": {name: to_dict(r) for name, r in results.items()}}
