"""`pmo run`: start the operator (kopf underneath; standalone unless a peering name is given)."""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provider_migration.controller.notify import Notifier


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("run", help="run the operator against the current cluster")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append", default=[], help="watch this namespace (repeatable)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: in-cluster, then KUBECONFIG)")
    ha = parser.add_mutually_exclusive_group()
    ha.add_argument("--peering", help="join this kopf peering for HA (default: standalone)")
    ha.add_argument("--standalone", action="store_true", help="no peering: the default, accepted as kopf run does")
    parser.add_argument(
        "--priority", type=int, help="peering priority; the highest runs, the others stand by (default: random)"
    )
    parser.add_argument("--liveness", default="http://0.0.0.0:8080/healthz", help="health endpoint URL ('' to disable)")
    parser.add_argument("--metrics-port", type=int, default=9090, help="Prometheus metrics port (0 to disable)")
    parser.add_argument(
        "--notifications",
        metavar="NAMESPACE/NAME",
        help="ConfigMap with the notification services (config.yaml); their Secrets are read from its namespace",
    )
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--service-account",
        default="pmo-migrator",
        help="ServiceAccount (in each migration's namespace) migrations act as unless spec.serviceAccountName "
        "says otherwise; its RBAC decides what a migration may touch. '' acts as the operator itself "
        "(single-tenant development clusters only)",
    )
    parser.add_argument(
        "--allow-credentials-to",
        action="append",
        default=[],
        metavar="URL",
        help="a URL prefix (scheme://host[:port][/path]) or regex:<pattern> a credential may be sent to "
        "(Prometheus auth, evaluation endpoints); repeatable. Default: none",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import kopf
    from prometheus_client import start_http_server

    from provider_migration.controller import handlers, notify
    from provider_migration.controller.wiring import production_ports

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.log_level.upper() != "DEBUG":
        # kopf logs every event-handler call at INFO; our own transitions are logged and posted as Events.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    if args.kubeconfig:
        os.environ["KUBECONFIG"] = args.kubeconfig  # kopf's own login reads it too
    from provider_migration.controller.authority import URLPolicyError

    try:
        ports = production_ports(args.kubeconfig, args.service_account or None, args.allow_credentials_to)
        handlers.install(ports)
        notify.install(notifier(args.kubeconfig, args.notifications))
    except URLPolicyError as e:
        print(f"pmo run: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # a bad kubeconfig or no cluster configuration at all: one line, not a traceback
        from .kubeclient import config_problem

        print(f"pmo run: {config_problem(e, args.kubeconfig)}", file=sys.stderr)
        return 1
    if args.metrics_port:
        start_http_server(args.metrics_port)
    # Equal priorities in one peering make kopf pause every replica: give each its own unless told.
    priority = args.priority if args.priority is not None else random.randint(1, 1_000_000) if args.peering else 0
    kopf.run(
        standalone=args.peering is None,
        peering_name=args.peering,
        priority=priority,
        clusterwide=args.all_namespaces,
        namespaces=args.namespace,
        liveness_endpoint=args.liveness or None,
    )
    return 0


def notifier(kubeconfig: str | None, ref: str | None) -> Notifier | None:
    """The notification loop's adapter, when a configuration is named (Apprise is imported only then)."""
    if not ref:
        return None
    from provider_migration.controller.notify import Notifier
    from provider_migration.controller.wiring import api_client

    namespace, _, name = ref.rpartition("/")
    if not namespace or not name:
        raise SystemExit(f"pmo run: --notifications wants NAMESPACE/NAME, not {ref!r}")
    try:
        from provider_migration.notifications.delivery import AppriseSender

        sender = AppriseSender()
    except ImportError:
        sender = None  # reported on every migration with subscriptions: condition, Event, log
    return Notifier(api_client(kubeconfig), namespace, name, sender)
