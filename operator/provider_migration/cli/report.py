"""`pmo report NAME`: a self-contained HTML (or Markdown) report of one ProviderMigration, with plots.

Prometheus: --prometheus URL, else the migration's own spec.analysis.prometheus (with its token Secret, read
through the kubeconfig's credentials), unless --no-prometheus. When it cannot be asked, the report says so
and shows the last analysis recorded in status instead.

Exit codes: 0 written, 1 cluster or file error, 3 the ProviderMigration was not found.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kubernetes import client

from provider_migration.api.durations import seconds
from provider_migration.controller.analysis_port import TokenUnavailable, prometheus_token
from provider_migration.reporting import PrometheusRangeSource, build_report, render_html, render_markdown
from provider_migration.reporting.markdown import image_files
from provider_migration.views.migration import Migration

from .kubeclient import ClusterError, Migrations, NotFound, connect

EXTENSIONS = {"html": "html", "markdown": "md"}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "report",
        help="write an HTML or Markdown report of a migration, with plots",
        description="Report one migration: timeline, criteria against thresholds over time, decisions, "
        "evaluation, cost forecast against actual. HTML is self-contained (plots embedded); Markdown links "
        "its plots as PNG files in NAME-report-images/ next to it.",
    )
    p.add_argument("name", help="ProviderMigration name")
    p.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's, else default)")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
    p.add_argument("--context", help="kubeconfig context (default: the current context)")
    # -o is the output format, as in every other command; the file is --out.
    p.add_argument(
        "-o",
        "--output",
        "--format",
        dest="format",
        default="html",
        type=_format,
        metavar="{html,markdown}",
        help="output format (default html)",
    )
    p.add_argument("--out", metavar="FILE", help="where to write ('-': stdout; default NAME-report.html/md)")
    prom = p.add_mutually_exclusive_group()
    prom.add_argument("--prometheus", metavar="URL", help="Prometheus to read the criteria over time from")
    prom.add_argument("--no-prometheus", action="store_true", help="use only what the status records")
    p.set_defaults(func=run_report)


def _format(text: str) -> str:
    value = {"md": "markdown"}.get(text, text)
    if value in EXTENSIONS:
        return value
    if "." in text or "/" in text or text == "-":
        return f"file:{text}"  # -o FILE, as before -o meant the format: still accepted, with a warning
    raise argparse.ArgumentTypeError(f"invalid output format {text!r} (choose html or markdown)")


def run_report(args: argparse.Namespace) -> int:
    if args.format.startswith("file:"):
        legacy = args.format.removeprefix("file:")
        print(f"pmo report: -o FILE is deprecated, -o is the format now: use --out {legacy}", file=sys.stderr)
        args.out = args.out or legacy
        args.format = "markdown" if legacy.endswith(".md") else "html"
    try:
        conn = connect(args.kubeconfig, args.context, args.namespace)
        obj = Migrations(conn).get(args.name)
    except NotFound as e:
        print(f"pmo report: {e}", file=sys.stderr)
        return 3
    except ClusterError as e:
        print(f"pmo report: {e}", file=sys.stderr)
        return 1
    source = None if args.no_prometheus else _prometheus(args.prometheus, obj, conn.api.api_client, conn.namespace)
    try:
        report = build_report(obj, source)
    except ValueError as e:
        print(f"pmo report: {e}", file=sys.stderr)
        return 1
    finally:
        if source is not None:
            source.close()
    output = args.out or f"{args.name}-report.{EXTENSIONS[args.format]}"
    # Markdown links its figures as PNG files in a directory next to it (next to the working directory on stdout).
    stem = f"{args.name}-report" if output == "-" else Path(output).stem
    images_dir = f"{stem}-images"
    text = render_html(report) if args.format == "html" else render_markdown(report, images_dir)
    try:
        if args.format == "markdown":
            base = Path.cwd() if output == "-" else Path(output).parent
            for relative, png in image_files(report, images_dir).items():
                (base / relative).parent.mkdir(parents=True, exist_ok=True)
                (base / relative).write_bytes(png)
        if output == "-":
            sys.stdout.write(text)
            return 0
        Path(output).write_text(text, encoding="utf-8")
    except OSError as e:
        print(f"pmo report: {e}", file=sys.stderr)
        return 1
    print(f"wrote {output} ({len(report.figures)} plots; criteria from {report.metrics_from})", file=sys.stderr)
    return 0


def _prometheus(
    url: str | None, obj: dict[str, Any], api_client: client.ApiClient, namespace: str
) -> PrometheusRangeSource | None:
    if url:
        return PrometheusRangeSource(url)
    spec = Migration.from_object(obj).spec  # a templated migration's spec is the one it ran with
    if spec is None or spec.analysis is None:
        return None
    prom = spec.analysis.prometheus
    try:
        token = prometheus_token(client.CoreV1Api(api_client), namespace, prom)
    except TokenUnavailable as e:
        print(f"pmo report: {e}; asking without a token", file=sys.stderr)
        token = None
    return PrometheusRangeSource(prom.url, timeout_s=float(seconds(prom.timeout)), bearer_token=token)
