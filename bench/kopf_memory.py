"""Memory per migration, taken apart: a bare kopf operator with only an event handler, the same with a daemon
per object, and `pmo run` over migrations that have finished (nothing to do but hold their driver).

    python bench/kopf_memory.py --n 1000

Each is started on an empty namespace and on one holding N ProviderMigrations; the difference in resident
memory after it settled, divided by N, is its cost per migration.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from kubernetes import client

from pmobench.env import BenchEnvironment
from pmobench.measure import rss_mib
from pmobench.operators import BareOperator, OperatorProcess, PmoOperator
from pmobench.world import Names, Rollout, in_parallel, migration
from provider_migration.api import constants as c

SETTLE_S = 45.0


def finished_status() -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {"phase": "Succeeded", "reason": "Succeeded", "currentStep": 2, "currentWeight": 100, "completedAt": now}


def populate(api: client.ApiClient, namespace: str, n: int) -> None:
    custom = client.CustomObjectsApi(api)

    def one(i: int) -> int:
        body = migration(Names.of(i), None, Rollout())
        custom.create_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, body)
        custom.patch_namespaced_custom_object_status(
            c.GROUP, c.VERSION, namespace, c.PLURAL, body["metadata"]["name"], {"status": finished_status()}
        )
        return 2

    in_parallel(one, range(n))


def settled_rss(process: OperatorProcess) -> float:
    """Resident MiB once the operator has taken up every object and stopped growing."""
    process.start()
    deadline = time.monotonic() + SETTLE_S
    peak = 0.0
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.log()[-2000:]}")
        peak = max(peak, rss_mib(process.pid))
        time.sleep(0.5)
    current = rss_mib(process.pid)
    process.stop()
    return current


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args(argv)
    with BenchEnvironment() as env:
        api, kubeconfig, logs = env.api(), env.control_plane.kubeconfig, env.workdir / "logs"
        for ns in ("empty", "full"):
            env.create_namespace(ns)
        print(f"creating {args.n} finished ProviderMigrations", flush=True)
        populate(api, "full", args.n)
        variants = {
            "kopf, event handler only": lambda ns: BareOperator(kubeconfig, ns, logs / f"event-{ns}.log", "event"),
            "kopf, event handler + daemon per object": lambda ns: BareOperator(kubeconfig, ns, logs / f"d-{ns}.log"),
            "pmo run (finished migrations)": lambda ns: PmoOperator(kubeconfig, ns, logs / f"pmo-{ns}.log"),
        }
        rows = []
        for label, make in variants.items():
            empty, full = settled_rss(make("empty")), settled_rss(make("full"))
            rows.append((label, empty, full, (full - empty) * 1024 / args.n))
            print(f"{label}: {empty:.0f} MiB empty, {full:.0f} MiB with {args.n}", flush=True)
    print(f"\n{'operator':42}{'empty (MiB)':>12}{'N=' + str(args.n) + ' (MiB)':>14}{'KiB/migration':>15}")
    for label, empty, full, per in rows:
        print(f"{label:42}{empty:12.0f}{full:14.0f}{per:15.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
