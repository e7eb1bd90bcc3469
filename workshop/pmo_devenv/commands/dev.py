"""`pmo dev up|status|down`: the local environment (kube-apiserver, etcd, Prometheus) in the background."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pmo_devenv import BinariesMissing, DevEnvironment

DEFAULT_DIR = ".dev"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dev = subparsers.add_parser("dev", help="local kube-apiserver + etcd + Prometheus for trying things out")
    sub = dev.add_subparsers(dest="dev_command", metavar="ACTION", required=True)
    for name, func, help_ in (
        ("up", _up, "start everything in the background"),
        ("status", _status, "show what runs and whether it is healthy"),
        ("down", _down, "stop everything started by `up`"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument(
            "--dir",
            type=Path,
            default=Path(DEFAULT_DIR),
            help=f"state, kubeconfig, data and logs (default: {DEFAULT_DIR})",
        )
        p.set_defaults(func=func)


def _up(args: argparse.Namespace) -> int:
    try:
        state = DevEnvironment(args.dir).up()
    except BinariesMissing as e:
        print(f"pmo dev up: {e}", file=sys.stderr)
        return 1
    except (RuntimeError, TimeoutError) as e:
        print(f"pmo dev up failed: {e}", file=sys.stderr)
        return 1
    print(f"kubeconfig:     {state['kubeconfig']}")
    print(f"prometheus:     {state['prometheus_url']}")
    print(f"scrape targets: {state['prometheus_targets_dir']} (file_sd JSON files)")
    if state.get("upstream_crds"):
        print(
            f"CRDs:           ProviderMigration + {len(state['upstream_crds'])} upstream ({state['upstream_crds_dir']})"
        )
    else:
        print(f"CRDs:           ProviderMigration only: {state.get('upstream_crds_missing', 'no upstream CRDs')}")
    print(f"try:            kubectl --kubeconfig {state['kubeconfig']} version")
    print(f"stop with:      pmo dev down --dir {args.dir}")
    return 0


def _status(args: argparse.Namespace) -> int:
    status = DevEnvironment(args.dir).status()
    if status is None:
        print(f"not running (no state in {args.dir})")
        return 3
    for name, alive in status["alive"].items():
        print(f"{name:15} {'running' if alive else 'STOPPED'}")
    print(f"{'apiserver':15} {'ready' if status['apiserver_ready'] else 'NOT READY'}  {status['server']}")
    print(f"{'prometheus':15} {'ready' if status['prometheus_ready'] else 'NOT READY'}  {status['prometheus_url']}")
    print(f"kubeconfig:     {status['kubeconfig']}")
    return 0 if status["healthy"] else 1


def _down(args: argparse.Namespace) -> int:
    stopped = DevEnvironment(args.dir).down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0
