"""`pmo plan -f MIGRATION.yaml ...` (comparison matrix, true cost, ROI) and `pmo plan roi ...` (the calculator).

Exit codes: 0 ok, 1 Prometheus or file error, 2 usage error (bad manifest, bad flags).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from provider_migration.analysis.prometheus import PrometheusSource
from provider_migration.analysis.source import MetricsError
from provider_migration.api.constants import KIND
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.cli.kubeclient import cluster_templates
from provider_migration.planning.current_state import (
    CurrentState,
    from_prometheus,
    given,
    with_given_volume,
)
from provider_migration.planning.plan import build_plan
from provider_migration.planning.render import markdown, plan_sections, print_rich, roi_section
from provider_migration.planning.roi import RoiInputs, roi
from provider_migration.planning.true_cost import DEFAULT_EFFORT_HOURS, DEFAULT_HOURLY_RATE, TrueCostInputs
from provider_migration.simulation.manifests import (
    ManifestError,
    TemplateLookup,
    Unreadable,
    documents,
    effective_spec,
    read_text,
)

FORMATS = ("table", "markdown", "json")


class PrometheusUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Manifest:
    name: str
    namespace: str
    spec: ProviderMigrationSpec
    documents: list[dict[str, Any]]  # everything in the file, e.g. the golden-set ConfigMap next to it


def read_manifest(path: Path, templates: TemplateLookup | None = None) -> Manifest:
    """The first ProviderMigration in a YAML file ('-' reads stdin), with the file's other documents; its
    template (spec.templateRef) from the file, else through `templates` (the cluster)."""
    docs = documents(read_text(path), str(path))
    doc = next((d for d in docs if d.get("kind") == KIND), None)
    if doc is None:
        raise ManifestError(f"{path}: no {KIND} in the file")
    meta = doc.get("metadata") or {}
    try:
        spec = effective_spec(doc, docs, str(path), templates)
    except ValidationError as exc:
        raise ManifestError(f"{path}: invalid spec:\n{exc}") from None
    return Manifest(str(meta.get("name", "")), str(meta.get("namespace") or "default"), spec, docs)


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    plan = subparsers.add_parser(
        "plan",
        help="compare providers, forecast cost, true cost and ROI of a migration",
        description="Plan a migration from its manifest, or use `pmo plan roi` as a calculator.",
    )
    plan.add_argument("-f", "--filename", type=Path, help="ProviderMigration manifest ('-' for stdin)")
    plan.add_argument("--prometheus", metavar="URL", help="read 30 days of tokens, latency and errors per backend")
    plan.add_argument("--monthly-input-tokens", type=_non_negative, metavar="N")
    plan.add_argument("--monthly-output-tokens", type=_non_negative, metavar="N")
    plan.add_argument(
        "--candidate", action="append", default=[], metavar="PROVIDER/MODEL", help="another option to compare"
    )
    _cost_flags(plan, learning_default=None)
    plan.add_argument("--infra-current-monthly", type=_non_negative, default=0.0, metavar="AMOUNT")
    plan.add_argument("--infra-target-monthly", type=_non_negative, default=0.0, metavar="AMOUNT")
    plan.add_argument(
        "--error-handling-monthly",
        type=_non_negative,
        metavar="AMOUNT",
        help="monthly cost of extra error handling on the target (default: estimated from error rates, else 0)",
    )
    plan.add_argument("-o", "--output", "--format", dest="format", choices=FORMATS, default="table")
    plan.set_defaults(func=run_plan)

    sub = plan.add_subparsers(dest="plan_command", metavar="roi")
    calc = sub.add_parser("roi", help="savings, payback and 12-month ROI from monthly costs and effort")
    calc.add_argument("--current-monthly", type=_non_negative, required=True, metavar="AMOUNT")
    calc.add_argument("--target-monthly", type=_non_negative, required=True, metavar="AMOUNT")
    _cost_flags(calc, learning_default=0.0)
    calc.add_argument("-o", "--output", "--format", dest="format", choices=FORMATS, default="table")
    calc.set_defaults(func=run_roi)


def _cost_flags(parser: argparse.ArgumentParser, learning_default: float | None) -> None:
    parser.add_argument(
        "--effort-hours",
        type=_non_negative,
        default=DEFAULT_EFFORT_HOURS,
        metavar="H",
        help=f"engineering hours for the migration (default {DEFAULT_EFFORT_HOURS:g})",
    )
    parser.add_argument(
        "--hourly-rate",
        type=_non_negative,
        default=DEFAULT_HOURLY_RATE,
        metavar="AMOUNT",
        help=f"cost of one engineering hour (default {DEFAULT_HOURLY_RATE:g})",
    )
    parser.add_argument(
        "--learning-curve-hours",
        type=_non_negative,
        default=learning_default,
        metavar="H",
        help="hours lost while the team learns the new provider (default: "
        + ("25%% of effort hours" if learning_default is None else f"{learning_default:g}")
        + ")",
    )


def run_roi(args: argparse.Namespace) -> int:
    try:
        result = roi(
            RoiInputs(
                args.current_monthly,
                args.target_monthly,
                args.effort_hours,
                args.hourly_rate,
                args.learning_curve_hours,
            )
        )
    except ValueError as exc:
        print(f"pmo plan roi: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2))
    elif args.format == "markdown":
        print(markdown([roi_section(result, "")]))
    else:
        print_rich([roi_section(result, "")])
    return 0


def run_plan(args: argparse.Namespace) -> int:
    if args.filename is None:
        print("pmo plan: give -f MIGRATION.yaml (or use `pmo plan roi`)", file=sys.stderr)
        return 2
    try:
        manifest = read_manifest(args.filename, cluster_templates(args))
    except Unreadable as exc:
        print(f"pmo plan: {exc}", file=sys.stderr)
        return 1
    except ManifestError as exc:
        print(f"pmo plan: {exc}", file=sys.stderr)
        return 2
    name, namespace, spec = manifest.name, manifest.namespace, manifest.spec
    try:
        current = _current_state(args, spec, namespace)
    except PrometheusUnavailable as exc:
        print(f"pmo plan: {exc}", file=sys.stderr)
        return 1
    costs = TrueCostInputs(
        infra_current_monthly=args.infra_current_monthly,
        infra_target_monthly=args.infra_target_monthly,
        effort_hours=args.effort_hours,
        hourly_rate=args.hourly_rate,
        learning_curve_hours=args.learning_curve_hours,
        error_handling_monthly=args.error_handling_monthly,
    )
    try:
        result = build_plan(spec, name, namespace, current, args.candidate, costs)
    except ValueError as exc:
        print(f"pmo plan: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2, default=_json_default))
    elif args.format == "markdown":
        print(markdown(plan_sections(result), heading=f"Migration plan: {namespace}/{name}"))
    else:
        print_rich(plan_sections(result))
    return 0


def _current_state(args: argparse.Namespace, spec: ProviderMigrationSpec, namespace: str) -> CurrentState:
    if not args.prometheus:
        return given(spec, args.monthly_input_tokens, args.monthly_output_tokens)
    source = PrometheusSource(args.prometheus)
    try:
        source.query("vector(1)")
        measured = from_prometheus(spec, namespace, source.query, f"prometheus {args.prometheus}")
    except MetricsError as exc:
        raise PrometheusUnavailable(str(exc)) from None
    finally:
        source.close()
    return with_given_volume(measured, args.monthly_input_tokens, args.monthly_output_tokens)


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
