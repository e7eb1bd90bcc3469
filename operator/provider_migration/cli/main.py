"""`pmo` (also `kubectl migration`): one entry point; each command family lives in its own module.

A command module exposes `register(subparsers)`, which adds its sub-commands and sets `func` on each
parser; `func(args)` returns the process exit code. Commands of other distributions (the workshop's
`pmo dev` and `pmo demo`) come in through the `pmo.commands` entry point group, so nothing here imports them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from importlib.metadata import PackageNotFoundError, entry_points, version

# Modules under provider_migration.cli, in the order their commands appear in --help.
COMMAND_MODULES: list[str] = [
    "migrations", "dashboard", "crds", "plan", "eval", "run", "simulate", "report", "completion",
]  # fmt: skip

# Commands that need something `pip install .` leaves out, and how to get it.
OPTIONAL_COMMANDS: dict[str, str] = {
    "report": "pip install 'provider-migration-operator[reports]'",
    "dev": "pip install -e ./workshop (or `make setup`) from a checkout of the repository",
    "demo": "pip install -e ./workshop (or `make setup`) from a checkout of the repository",
}
PLUGIN_GROUP = "pmo.commands"
GLOBAL_FLAGS = [
    (("--kubeconfig",), "kubeconfig", "kubeconfig file, for every command that talks to a cluster"),
    (("--context",), "context", "kubeconfig context"),
    (("-n", "--namespace"), "namespace", "namespace"),
]
SIGPIPE_EXIT = 141  # what a shell reports for a process ended by SIGPIPE


def _version() -> str:
    try:
        return version("provider-migration-operator")
    except PackageNotFoundError:
        return "unknown"


def _apply_global_flags(args: argparse.Namespace) -> None:
    for _, dest, _ in GLOBAL_FLAGS:
        given = getattr(args, f"global_{dest}")
        current = getattr(args, dest, None)
        if given is not None and not current:
            setattr(args, dest, [given] if isinstance(current, list) else given)


def build_parser(modules: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmo",
        description="provider-migration-operator: move LLM traffic between model providers.",
        epilog="exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 refused in this phase, 5 timed out",
    )
    parser.add_argument("--version", action="version", version=f"pmo {_version()}")
    # kubectl takes these before the sub-command too (`pmo -n shop get`); a sub-command's own flag wins.
    for flags, dest, help_ in GLOBAL_FLAGS:
        parser.add_argument(*flags, dest=f"global_{dest}", metavar=dest.upper(), help=help_)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    registered: set[str] = set()
    for name in COMMAND_MODULES if modules is None else modules:
        try:
            module = importlib.import_module(f"provider_migration.cli.{name}")
        except ModuleNotFoundError:
            if name not in OPTIONAL_COMMANDS:
                raise
            continue
        module.register(subparsers)
        registered.add(name)
    if modules is None:
        for plugin in entry_points(group=PLUGIN_GROUP):
            try:
                plugin.load().register(subparsers)
            except ModuleNotFoundError:
                continue
            registered.add(plugin.name)
        for name, how in OPTIONAL_COMMANDS.items():
            if name not in registered:
                _unavailable(subparsers, name, how)
    return parser


def _unavailable(subparsers: argparse._SubParsersAction, name: str, how: str) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(name, help=f"(not installed: {how})", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def refuse(_: argparse.Namespace) -> int:
        print(f"pmo {name} is not installed here: {how}", file=sys.stderr)
        return 1

    p.set_defaults(func=refuse)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # `pmo run` is the operator's entrypoint: it loads only its own module, not the plotting and HTTP client
    # libraries of the other commands (tens of MiB in every replica).
    parser = build_parser(["run"] if argv[:1] == ["run"] else None)
    args = parser.parse_args(argv)
    _apply_global_flags(args)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader went away (`pmo watch -o json | head -1`): stop quietly, as kubectl does. Point stdout at
        # /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return SIGPIPE_EXIT


if __name__ == "__main__":
    sys.exit(main())
