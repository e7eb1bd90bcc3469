"""`pmo crds`: print the CustomResourceDefinitions generated from the API models."""

from __future__ import annotations

import argparse
import sys

from provider_migration.api.crd import crd_yaml


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "crds", help="print the CRDs (ProviderMigration and both templates; apply them with kubectl)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(crd_yaml())
    return 0
