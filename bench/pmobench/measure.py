"""What the figures are made of: a process's RSS and CPU from /proc, and the servers' own request counters."""

from __future__ import annotations

import os
import ssl
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # comm may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15)


def rss_mib(pid: int) -> float:
    resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return resident_pages * PAGE_KB / 1024


class ProcessSampler:
    """Samples one process's RSS every `period` seconds (the peak is what counts) and reads CPU at marks."""

    def __init__(self, pid: int, period: float = 0.5) -> None:
        self.pid, self.period = pid, period
        self.peak_rss = 0.0
        self.last_rss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"sample-{pid}")

    def start(self) -> ProcessSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.last_rss = rss_mib(self.pid)
            except OSError:
                return  # the process ended
            self.peak_rss = max(self.peak_rss, self.last_rss)
            self._stop.wait(self.period)

    def mark(self) -> tuple[float, float]:
        """(wall time, CPU seconds): two marks give the mean cores used between them."""
        return time.monotonic(), cpu_seconds(self.pid)


def cores_between(start: tuple[float, float], end: tuple[float, float]) -> float:
    return (end[1] - start[1]) / max(end[0] - start[0], 1e-9)


def _scrape(url: str, context: ssl.SSLContext | None = None) -> str:
    with urllib.request.urlopen(url, timeout=30, context=context) as response:
        return str(response.read().decode())


RequestKey = tuple[str, str, str]  # (verb, resource, subresource)


def apiserver_requests(server: str, context: ssl.SSLContext) -> Counter[RequestKey]:
    """`apiserver_request_total` summed by verb, resource and subresource (all groups); failed requests also
    under the verb suffixed with their code, e.g. ("PATCH:409", "providermigrations", "status")."""
    counts: Counter[RequestKey] = Counter()
    for family in text_string_to_metric_families(_scrape(f"{server}/metrics", context)):
        if family.name != "apiserver_request":
            continue
        for sample in family.samples:
            if sample.name == "apiserver_request_total":
                labels = sample.labels
                verb, code = labels.get("verb", ""), labels.get("code", "")
                key = (verb, labels.get("resource", ""), labels.get("subresource", ""))
                counts[key] += int(sample.value)
                if not code.startswith("2"):
                    counts[(f"{verb}:{code}", *key[1:])] += int(sample.value)
    return counts


def prometheus_queries(url: str) -> int:
    """Instant and range queries Prometheus has answered (its own `prometheus_http_requests_total`)."""
    total = 0
    for family in text_string_to_metric_families(_scrape(f"{url}/metrics")):
        if family.name != "prometheus_http_requests":
            continue
        for sample in family.samples:
            handler = sample.labels.get("handler", "")
            if sample.name == "prometheus_http_requests_total" and handler in ("/api/v1/query", "/api/v1/query_range"):
                total += int(sample.value)
    return total


@dataclass
class ApiTally:
    """Requests the benchmark itself sends, so that they can be taken out of the API server's totals."""

    counts: Counter[RequestKey]
    lock: threading.Lock

    @classmethod
    def new(cls) -> ApiTally:
        return cls(Counter(), threading.Lock())

    def add(self, verb: str, resource: str, n: int = 1, subresource: str = "") -> None:
        with self.lock:
            self.counts[(verb, resource, subresource)] += n

    def snapshot(self) -> Counter[RequestKey]:
        with self.lock:
            return Counter(self.counts)


def failed(counts: Counter[RequestKey], verb: str, resource: str, subresource: str = "") -> int:
    """Requests of that kind the API server refused (any non-2xx code)."""
    return sum(n for k, n in counts.items() if k[0].startswith(f"{verb}:") and k[1:] == (resource, subresource))


def operator_requests(
    before: Counter[RequestKey],
    after: Counter[RequestKey],
    ours_before: Counter[RequestKey],
    ours_after: Counter[RequestKey],
) -> Counter[RequestKey]:
    """The operator's requests between two scrapes: the server's counts minus the benchmark's own, WATCH
    left out (counted when a watch ends, so it cannot be attributed to a window; kopf re-watches every 5 min)."""
    result: Counter[RequestKey] = Counter()
    for key in set(after) | set(before):
        if key[0] == "WATCH" or ":" in key[0]:
            continue
        n = (after[key] - before[key]) - (ours_after[key] - ours_before[key])
        if n > 0:
            result[key] = n
    return result
