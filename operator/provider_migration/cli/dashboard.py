"""`pmo dashboard`: every migration live in the browser (phase, weight over time, criteria against their
thresholds, history with who did what) and the promote/approve/abort/retry buttons, acting with the
user's own kubeconfig, as `kubectl argo rollouts dashboard` does."""

from __future__ import annotations

import argparse
import sys
import webbrowser


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("dashboard", help="a local web UI: every migration live, with its commands")
    parser.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's, else default)")
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace the user may list")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: the current context)")
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3100, help="port (default 3100; 0 picks a free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from provider_migration.dashboard.server import Dashboard, make_server

    from .kubeclient import ClusterError, connect

    try:
        conn = connect(args.kubeconfig, args.context, args.namespace)
    except ClusterError as e:
        print(f"pmo dashboard: {e}", file=sys.stderr)
        return 1
    namespace = None if args.all_namespaces else conn.namespace
    dashboard = Dashboard(conn.api, namespace)
    try:
        title = f"Provider migrations in {namespace or 'all namespaces'}"
        server = make_server(dashboard, args.address, args.port, title)
    except OSError as e:
        print(f"pmo dashboard: cannot listen on {args.address}:{args.port}: {e.strerror or e}", file=sys.stderr)
        return 1
    host, port = str(server.server_address[0]), int(server.server_address[1])
    url = f"http://{'localhost' if host in ('127.0.0.1', '::1') else host}:{port}/"
    print(f"pmo dashboard: {url} (Ctrl-C to stop)", flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
