"""Scale: N ProviderMigrations on one `pmo run` replica, each with its own LiteLLM ConfigMap route, Secrets
and a 30 s analysis against Prometheus, walked through a short Phased rollout (10 % / 50 % / 100 %).

    python bench/scale.py --n 100 --n 300 --n 1000 [--json results.json]

For each N, on a fresh local control plane: operator peak RSS and mean CPU cores over the rollout, API
requests per migration per analysis interval (the API server's own `apiserver_request_total`, less the
benchmark's own requests), status writes that changed nothing, status writes per migration in an idle
interval after the rollout, Prometheus queries per interval (Prometheus' own `prometheus_http_requests_total`),
and the p95 time from a pause ending to the next weight reaching the route. A bare kopf operator (one no-op
daemon and event handler per migration, bench/bare_operator.py) runs alongside on the same objects and
the same event stream, so the overhead is a ratio from the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from pmobench.env import BenchEnvironment
from pmobench.measure import (
    ApiTally,
    ProcessSampler,
    RequestKey,
    apiserver_requests,
    cores_between,
    failed,
    operator_requests,
    prometheus_queries,
)
from pmobench.operators import BareOperator, PmoOperator
from pmobench.profile import Profiler, top_frames
from pmobench.recorder import Recorder
from pmobench.timing import pause_end_latencies, percentile
from pmobench.watch import NamespaceWatcher
from pmobench.world import (
    SOURCE_KEY,
    TARGET_KEY,
    Names,
    Rollout,
    backends,
    create_migration,
    gateway_objects,
    in_parallel,
    migration,
)
from provider_migration.api import constants as c
from provider_migration.api.durations import seconds

NAMESPACE = "bench"
BARE_FINALIZER = "bench.llmops.dev/bare-finalizer"
IDLE_INTERVALS = 2
APISERVER_OWN = frozenset({"leases", "endpoints", "endpointslices"})


@dataclass
class Figures:
    n: int
    rollout_s: float = 0.0
    finished: int = 0
    phases: dict[str, int] = field(default_factory=dict)
    pmo_peak_rss_mib: float = 0.0
    pmo_cores: float = 0.0
    bare_peak_rss_mib: float = 0.0
    bare_cores: float = 0.0
    api_requests_per_migration_interval: float = 0.0
    api_requests_per_migration: float = 0.0
    api_requests_by_kind: dict[str, int] = field(default_factory=dict)
    status_writes: int = 0
    status_write_conflicts: int = 0
    status_changes_seen: int = 0
    idle_status_writes_per_migration_interval: float = 0.0
    idle_api_requests_per_migration_interval: float = 0.0
    prometheus_queries_per_interval: float = 0.0
    prometheus_queries_per_migration_interval: float = 0.0
    prometheus_queries_per_migration: float = 0.0
    pause_to_weight_p50_s: float | None = None
    pause_to_weight_p95_s: float | None = None
    pause_to_weight_max_s: float | None = None
    reconcile_ticks: int = 0
    reconcile_mean_s: float | None = None
    secret_leaks: int = 0

    @property
    def rss_ratio(self) -> float:
        return self.pmo_peak_rss_mib / self.bare_peak_rss_mib if self.bare_peak_rss_mib else float("nan")

    @property
    def cpu_ratio(self) -> float:
        return self.pmo_cores / self.bare_cores if self.bare_cores else float("nan")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def scrape_interval_for(interval: float) -> str:
    """A rate() over one analysis interval needs at least two scrapes in it."""
    return f"{max(1, min(5, int(interval // 3)))}s"


def run(
    n: int,
    rollout: Rollout,
    workdir: Path | None,
    profile: bool = False,
    hold: bool = False,
    analysis: bool = True,
) -> Figures:
    interval = float(seconds(rollout.interval))
    with BenchEnvironment(scrape_interval_for(interval), workdir=workdir) as env, contextlib.ExitStack() as stack:
        api = env.api()
        tally = ApiTally.new()
        env.create_namespace(NAMESPACE)
        names = [Names.of(i) for i in range(n)]
        env.exporter.add(b for nm in names for b in backends(nm))
        say(f"N={n}: creating {5 * n} gateway objects (ConfigMap, Deployment, 3 Secrets each)")
        made = in_parallel(lambda i: gateway_objects(api, NAMESPACE, names[i]), range(n), _progress(n, "gateways"))
        tally.add("POST", "configmaps", n)
        tally.add("POST", "deployments", n)
        tally.add("POST", "secrets", made - 2 * n)

        recorder = Recorder()
        for kind in ("configmaps", "secrets", "providermigrations"):
            stack.callback(NamespaceWatcher(api, NAMESPACE, kind, recorder.on_change, tally).start().stop)
        env.prometheus.wait_for_target("litellm", timeout=60)
        say(f"N={n}: creating {n} ProviderMigrations (operator not yet running)")
        url = env.prometheus.url
        spec_url = url if analysis else None
        in_parallel(lambda i: create_migration(api, NAMESPACE, migration(names[i], spec_url, rollout)), range(n))
        tally.add("POST", "providermigrations", n)

        logs = env.workdir / "logs"
        bare = BareOperator(env.control_plane.kubeconfig, NAMESPACE, logs / "bare-kopf.log")
        bare.start()
        stack.callback(bare.stop)
        _wait_for_finalizers(api, n, tally)
        pmo = PmoOperator(env.control_plane.kubeconfig, NAMESPACE, logs / "pmo.log")
        ctx = env.control_plane.ssl_context()

        def snapshot() -> tuple[Counter[RequestKey], Counter[RequestKey], int]:
            return apiserver_requests(env.control_plane.server, ctx), tally.snapshot(), prometheus_queries(url)

        before = snapshot()
        pmo.start()
        stack.callback(pmo.stop)
        samplers = ProcessSampler(pmo.pid).start(), ProcessSampler(bare.pid).start()
        for sampler in samplers:
            stack.callback(sampler.stop)
        say(f"N={n}: pmo run started (pid {pmo.pid}); bare kopf alongside (pid {bare.pid})")
        profiler = Profiler(pmo.pid, logs / "pmo-profile.txt") if profile else None
        figures = measure(n, interval, pmo, samplers, recorder, snapshot, before, hold)
        if profiler is not None:
            profiler.stop()
            print_profile(profiler)
        latencies = []
        with recorder.lock:
            for i in range(n):
                history = recorder.migrations[i].status.get("history") or []
                latencies += pause_end_latencies(history, recorder.routes[i], list(rollout.steps))
        figures.pause_to_weight_p50_s = percentile(latencies, 0.5)
        figures.pause_to_weight_p95_s = percentile(latencies, 0.95)
        figures.pause_to_weight_max_s = max(latencies) if latencies else None
        figures.reconcile_ticks, figures.reconcile_mean_s = _reconcile_stats(pmo)
        figures.secret_leaks = _leaks(pmo.log(), recorder)
        return figures


Snapshot = tuple[Counter[RequestKey], Counter[RequestKey], int]


def measure(
    n: int,
    interval: float,
    pmo: PmoOperator,
    samplers: tuple[ProcessSampler, ProcessSampler],
    recorder: Recorder,
    snapshot: Callable[[], Snapshot],
    before: Snapshot,
    hold: bool = False,
) -> Figures:
    """Waits for every migration to finish (or, with `hold`, to reach its first step's long pause), then for
    an idle stretch, and reads the counters around both."""
    figures = Figures(n=n)
    pmo_sampler, bare_sampler = samplers
    start_pmo, start_bare = pmo_sampler.mark(), bare_sampler.mark()
    indices = list(range(n))
    deadline = time.monotonic() + max(600.0, 0.9 * n)
    last_print = 0.0

    def done() -> int:
        return recorder.holding(indices) if hold else recorder.terminal(indices)

    while done() < n and time.monotonic() < deadline:
        if not pmo.alive():
            raise RuntimeError(f"pmo run exited:\n{pmo.log()[-3000:]}")
        if time.monotonic() - last_print >= 15:
            last_print = time.monotonic()
            counts = Counter(str(p) for p in recorder.phases().values())
            say(f"N={n}: {dict(sorted(counts.items()))}  pmo RSS {pmo_sampler.last_rss:.0f} MiB")
        time.sleep(1)
    end_pmo, end_bare = pmo_sampler.mark(), bare_sampler.mark()
    after = snapshot()
    figures.rollout_s = end_pmo[0] - start_pmo[0]
    figures.finished = done()
    figures.phases = dict(Counter(str(p) for p in recorder.phases().values()))
    figures.pmo_cores, figures.bare_cores = cores_between(start_pmo, end_pmo), cores_between(start_bare, end_bare)
    intervals = figures.rollout_s / interval
    ops = _operator_only(operator_requests(before[0], after[0], before[1], after[1]))
    figures.api_requests_by_kind = {" ".join(p for p in k if p): v for k, v in sorted(ops.items())}
    figures.api_requests_per_migration_interval = sum(ops.values()) / n / intervals
    figures.api_requests_per_migration = sum(ops.values()) / n
    figures.status_writes = ops[("PATCH", c.PLURAL, "status")]
    figures.status_write_conflicts = failed(after[0], "PATCH", c.PLURAL, "status") - failed(
        before[0], "PATCH", c.PLURAL, "status"
    )
    figures.status_changes_seen = recorder.status_changes()
    queries = after[2] - before[2]
    figures.prometheus_queries_per_interval = queries / intervals
    figures.prometheus_queries_per_migration_interval = queries / n / intervals
    figures.prometheus_queries_per_migration = queries / n

    say(f"N={n}: rollout done in {figures.rollout_s:.0f}s; idle for {IDLE_INTERVALS} intervals")
    idle_before = snapshot()
    time.sleep(IDLE_INTERVALS * interval)
    idle_after = snapshot()
    idle = _operator_only(operator_requests(idle_before[0], idle_after[0], idle_before[1], idle_after[1]))
    figures.idle_status_writes_per_migration_interval = idle[("PATCH", c.PLURAL, "status")] / n / IDLE_INTERVALS
    figures.idle_api_requests_per_migration_interval = sum(idle.values()) / n / IDLE_INTERVALS
    figures.pmo_peak_rss_mib, figures.bare_peak_rss_mib = pmo_sampler.peak_rss, bare_sampler.peak_rss
    return figures


def _progress(n: int, what: str) -> Callable[[int], None]:
    step = max(n // 5, 1)

    def report(done: int) -> None:
        if done % step == 0 or done == n:
            say(f"  {what}: {done}/{n}")

    return report


def _operator_only(counts: Counter[RequestKey]) -> Counter[RequestKey]:
    """Leave out requests the operator never makes: resource-less URLs (our /metrics scrapes) and the API
    server's own upkeep (its lease, the `kubernetes` Service endpoints)."""
    return Counter({k: v for k, v in counts.items() if k[1] and k[1] not in APISERVER_OWN})


def _wait_for_finalizers(api: client.ApiClient, n: int, tally: ApiTally, timeout: float = 300) -> None:
    """The bare operator adds its finalizer once per object at start: let that settle before measuring."""
    custom = client.CustomObjectsApi(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tally.add("LIST", c.PLURAL)
        listing: Any = custom.list_namespaced_custom_object(c.GROUP, c.VERSION, NAMESPACE, c.PLURAL)
        items = listing["items"]
        if sum(BARE_FINALIZER in (i["metadata"].get("finalizers") or []) for i in items) >= n:
            return
        time.sleep(1)
    raise TimeoutError("the bare kopf operator did not take up every migration")


def _reconcile_stats(pmo: PmoOperator) -> tuple[int, float | None]:
    """Ticks and mean tick time from the operator's own histogram (its last incarnation only)."""
    try:
        text = pmo.metrics()
    except OSError:
        return 0, None
    count = total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "pmo_reconcile_duration_seconds":
            for s in family.samples:
                if s.name.endswith("_count"):
                    count = s.value
                elif s.name.endswith("_sum"):
                    total = s.value
    return int(count), (total / count if count else None)


def _leaks(log: str, recorder: Recorder) -> int:
    with recorder.lock:
        statuses = json.dumps([t.status for t in recorder.migrations.values()])
    return sum(text.count(key) for text in (log, statuses) for key in (SOURCE_KEY, TARGET_KEY))


def print_profile(profiler: Profiler) -> None:
    if not profiler.available:
        say("--profile: py-spy is not installed (pip install py-spy); no profile")
        return
    print(f"\noperator CPU profile ({profiler.output})")
    print("% of samples holding the GIL in the frame or below it, and in the frame itself")
    for frame, inclusive, own in top_frames(profiler.output, 30):
        print(f"{inclusive:6.1f} {own:6.1f}  {frame}")


def print_table(results: list[Figures]) -> None:
    def fmt(v: float | None, spec: str = ".2f") -> str:
        return "n/a" if v is None else format(v, spec)

    rows = [
        ("migrations finished / N", lambda f: f"{f.finished}/{f.n}"),
        ("rollout wall time (s)", lambda f: fmt(f.rollout_s, ".0f")),
        ("operator peak RSS (MiB)", lambda f: fmt(f.pmo_peak_rss_mib, ".0f")),
        ("bare kopf peak RSS (MiB)", lambda f: fmt(f.bare_peak_rss_mib, ".0f")),
        ("  RSS ratio operator/bare", lambda f: fmt(f.rss_ratio)),
        ("operator mean CPU (cores)", lambda f: fmt(f.pmo_cores, ".3f")),
        ("operator CPU time, rollout (s)", lambda f: fmt(f.pmo_cores * f.rollout_s, ".0f")),
        ("bare kopf mean CPU (cores)", lambda f: fmt(f.bare_cores, ".3f")),
        ("  CPU ratio operator/bare", lambda f: fmt(f.cpu_ratio, ".1f")),
        ("API requests / migration / interval", lambda f: fmt(f.api_requests_per_migration_interval)),
        ("API requests / migration, whole rollout", lambda f: fmt(f.api_requests_per_migration, ".0f")),
        ("status writes (PATCH status), rollout", lambda f: str(f.status_writes)),
        ("  refused (resourceVersion conflict)", lambda f: str(f.status_write_conflicts)),
        ("  status changes seen by watch", lambda f: str(f.status_changes_seen)),
        ("status writes / migration / idle interval", lambda f: fmt(f.idle_status_writes_per_migration_interval)),
        ("API requests / migration / idle interval", lambda f: fmt(f.idle_api_requests_per_migration_interval)),
        ("Prometheus queries / interval", lambda f: fmt(f.prometheus_queries_per_interval, ".0f")),
        ("  per migration", lambda f: fmt(f.prometheus_queries_per_migration_interval)),
        ("Prometheus queries / migration, whole rollout", lambda f: fmt(f.prometheus_queries_per_migration, ".0f")),
        ("pause end -> next weight p50 (s)", lambda f: fmt(f.pause_to_weight_p50_s)),
        ("pause end -> next weight p95 (s)", lambda f: fmt(f.pause_to_weight_p95_s)),
        ("pause end -> next weight max (s)", lambda f: fmt(f.pause_to_weight_max_s)),
        ("reconcile ticks (mean s)", lambda f: f"{f.reconcile_ticks} ({fmt(f.reconcile_mean_s, '.3f')})"),
        ("secret values in log/status", lambda f: str(f.secret_leaks)),
    ]
    width = max(len(r[0]) for r in rows)
    print("\n" + "figure".ljust(width) + "".join(f"{'N=' + str(f.n):>14}" for f in results))
    for label, value in rows:
        print(label.ljust(width) + "".join(f"{value(f):>14}" for f in results))
    for f in results:
        print(f"\nN={f.n} operator API requests during the rollout: {f.api_requests_by_kind}")
        print(f"N={f.n} final phases: {f.phases}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, action="append", help="migrations (repeatable; default 100)")
    parser.add_argument("--interval", default="30s", help="analysis interval and step pause (default 30s)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--profile", action="store_true", help="profile the operator with py-spy (if installed)")
    parser.add_argument(
        "--hold", action="store_true", help="idle intervals measured in a 1 h pause at 10 %% (not after the end)"
    )
    parser.add_argument("--no-analysis", action="store_true", help="migrations without spec.analysis")
    parser.add_argument("--workdir", type=Path, help="keep the environment (and logs) here instead of a temp dir")
    args = parser.parse_args(argv)
    steps = ((10, "1h"), (100, None)) if args.hold else ((10, args.interval), (50, args.interval), (100, None))
    rollout = Rollout(steps=steps, interval=args.interval)
    results = []
    for n in args.n or [100]:
        workdir = args.workdir / f"n{n}" if args.workdir else None
        results.append(run(n, rollout, workdir, args.profile, args.hold, not args.no_analysis))
        print_table(results)
    if args.json:
        args.json.write_text(
            json.dumps([asdict(f) | {"rss_ratio": f.rss_ratio, "cpu_ratio": f.cpu_ratio} for f in results], indent=2)
        )
    unfinished = [f.n for f in results if f.finished < f.n]
    leaks = sum(f.secret_leaks for f in results)
    return 1 if unfinished or leaks else 0


if __name__ == "__main__":
    sys.exit(main())
