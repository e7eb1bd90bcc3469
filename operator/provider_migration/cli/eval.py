"""`pmo eval -f MIGRATION.yaml`: run the golden-set gate from a laptop, exactly as the operator would.

The dataset comes from --dataset, else from the ConfigMap named by spec.evaluation.dataset when the same
file carries it. Keys are read from environment variables (never from the command line, which other users
can see); without one the request goes out unauthenticated.

Exit codes: 0 the target passed, 1 it failed (or the run could not judge it), 2 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from provider_migration.api.spec import Endpoint, RollbackOn
from provider_migration.cli.kubeclient import cluster_templates
from provider_migration.evaluation import EvaluationOutcome, evaluate
from provider_migration.evaluation.gate import gate_checks
from provider_migration.planning.render import DASH, Section, money, percent, print_rich, seconds
from provider_migration.views.terminal import plain

from .plan import Manifest, ManifestError, read_manifest

FAILED_ITEMS_SHOWN = 20


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "eval",
        help="run the golden set through source and target and apply the evaluation gate",
        description="Run spec.evaluation against the providers from here; the same gate the operator applies.",
    )
    parser.add_argument("-f", "--filename", type=Path, required=True, help="ProviderMigration manifest")
    parser.add_argument("--source-url", metavar="URL", help="API base of the source (default: spec apiBase or public)")
    parser.add_argument("--target-url", metavar="URL", help="API base of the target (default: spec apiBase or public)")
    parser.add_argument(
        "--source-key-env", metavar="VAR", help="env var with the source key (default <PROVIDER>_API_KEY)"
    )
    parser.add_argument(
        "--target-key-env", metavar="VAR", help="env var with the target key (default <PROVIDER>_API_KEY)"
    )
    parser.add_argument("--dataset", type=Path, metavar="FILE.jsonl", help="golden set (default: ConfigMap in -f)")
    parser.add_argument("-o", "--output", "--format", dest="format", choices=("table", "json"), default="table")
    parser.set_defaults(func=run)


def _default_key_env(endpoint: Endpoint) -> str:
    return "".join(c if c.isalnum() else "_" for c in endpoint.provider).upper() + "_API_KEY"


def _key(endpoint: Endpoint, var: str | None, side: str) -> str | None:
    var = var or _default_key_env(endpoint)
    value = os.environ.get(var)
    if not value:
        print(f"pmo eval: ${var} is not set: calling the {side} without a key", file=sys.stderr)
    return value or None


def _dataset_text(args: argparse.Namespace, manifest: Manifest) -> str:
    if args.dataset is not None:
        return args.dataset.read_text(encoding="utf-8")
    ev = manifest.spec.evaluation
    assert ev is not None
    for doc in manifest.documents:
        meta = doc.get("metadata") or {}
        if doc.get("kind") == "ConfigMap" and meta.get("name") == ev.dataset.config_map:
            data = doc.get("data") or {}
            if ev.dataset.key in data:
                return str(data[ev.dataset.key])
            raise ManifestError(f"ConfigMap {ev.dataset.config_map} has no key {ev.dataset.key!r}")
    raise ManifestError(f"give --dataset FILE.jsonl (ConfigMap {ev.dataset.config_map} is not in {args.filename})")


def run(args: argparse.Namespace) -> int:
    try:
        manifest = read_manifest(args.filename, cluster_templates(args))
        if manifest.spec.evaluation is None:
            raise ManifestError(f"{args.filename}: spec.evaluation is not set")
        dataset = _dataset_text(args, manifest)
    except (OSError, ManifestError) as exc:
        print(f"pmo eval: {exc}", file=sys.stderr)
        return 2
    spec = manifest.spec
    outcome = asyncio.run(
        evaluate(
            spec,
            dataset,
            source_key=_key(spec.source, args.source_key_env, "source"),
            target_key=_key(spec.target, args.target_key_env, "target"),
            source_url=args.source_url,
            target_url=args.target_url,
        )
    )
    limits = spec.analysis.rollback_on if spec.analysis is not None else RollbackOn()
    if args.format == "json":
        print(json.dumps(_as_json(outcome, limits), indent=2))
    else:
        _print_table(outcome, limits, f"{spec.source.provider}/{spec.source.model}",
                     f"{spec.target.provider}/{spec.target.model}")  # fmt: skip
    return 0 if outcome.status.verdict == "Pass" else 1


def _as_json(outcome: EvaluationOutcome, limits: RollbackOn) -> dict[str, Any]:
    out: dict[str, Any] = {"status": outcome.status.to_wire()}
    if outcome.run is not None:
        out["checks"] = [c.to_wire() for c in gate_checks(outcome.run, limits)]
        out["items"] = outcome.run.rows()
    return out


def _print_table(outcome: EvaluationOutcome, limits: RollbackOn, source: str, target: str) -> None:
    status = outcome.status
    sections = []
    if outcome.run is not None:
        run = outcome.run
        sides = ((source, run.source), (target, run.target))
        sections.append(
            Section(
                f"Golden set: {run.items_run} of {run.items_total} items",
                ["side", "model", "pass rate", "errors", "p50", "p95", "in tokens", "out tokens", "cost"],
                [
                    [
                        s.side,
                        name,
                        percent(s.pass_rate),
                        str(s.errors),
                        seconds(s.latency(0.5)),
                        seconds(s.latency(0.95)),
                        str(s.summary().input_tokens),
                        str(s.summary().output_tokens),
                        money(s.cost, s.pricing.currency if s.pricing else "", decimals=6),
                    ]
                    for name, s in sides
                ],
            )
        )
        sections.append(
            Section(
                "Gate",
                ["criterion", "verdict", "value", "threshold", "detail"],
                [
                    [
                        c.name,
                        c.verdict,
                        DASH if c.value is None else f"{c.value:.4g}",
                        DASH if c.threshold is None else f"{c.threshold:.4g}",
                        c.message or "",
                    ]
                    for c in gate_checks(run, limits)
                ],
            )
        )
        pairs = zip(run.source.attempts, run.target.attempts, strict=True)
        failed = [a for pair in pairs for a in pair if not a.passed]
        if failed:
            sections.append(
                Section(
                    f"Failed items ({len(failed)}, first {min(len(failed), FAILED_ITEMS_SHOWN)})",
                    ["item", "side", "why"],
                    [[a.item_id, a.side, a.error or "; ".join(a.failed_checks)] for a in failed[:FAILED_ITEMS_SHOWN]],
                )
            )
    console = Console()
    print_rich(sections, console)
    style = "bold green" if status.verdict == "Pass" else "bold red"
    console.print(plain(f"{status.verdict}: {status.message}", style=style), highlight=False)
