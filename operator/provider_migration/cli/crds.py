"""`pmo crds`: print the CustomResourceDefinitions generated from the API models (or write one file each)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provider_migration.api.crd import crd_file_name, crd_yaml, crds, to_yaml


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "crds", help="print the CRDs (ProviderMigration and both templates; apply them with kubectl)"
    )
    parser.add_argument(
        "--dir", type=Path, action="append", metavar="DIR",
        help="write one <crd-name>.yaml per CRD into DIR instead of printing (repeatable)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.dir:
        sys.stdout.write(crd_yaml())
        return 0
    for where in args.dir:
        where.mkdir(parents=True, exist_ok=True)
        for definition in crds():
            (where / crd_file_name(definition)).write_text(to_yaml(definition))
    return 0
