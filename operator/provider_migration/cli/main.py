"""`pmo` (also `kubectl migration`): one entry point; each command family lives in its own module.

A command module exposes `register(subparsers)`, which adds its sub-commands and sets `func` on each
parser; `func(args)` returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules under provider_migration.cli, in the order their commands appear in --help.
COMMAND_MODULES: list[str] = [
    "migrations",
    "dev",
    "crds",
    "plan",
    "eval",
    "run",
    "demo",
    "simulate",
    "report",
]


def build_parser(modules: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmo",
        description="provider-migration-operator: move LLM traffic between model providers.",
        epilog="exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 refused in this phase, 5 timed out",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES if modules is None else modules:
        importlib.import_module(f"provider_migration.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # `pmo run` is the operator's entrypoint: it loads only its own module, not the plotting and HTTP client
    # libraries of the other commands (tens of MiB in every replica).
    parser = build_parser(["run"] if argv[:1] == ["run"] else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
