"""`pmo report` on migrations the real operator finished on the real API server, against the real Prometheus:
one whose target arm has no metrics at all (the report must still render and say so), and one analysed by the
operator from live gateway metrics (the report charts each criterion over its lifetime)."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import redirect_stdout
from html import unescape
from pathlib import Path

import pytest
from kubernetes import client
from operator_support import (
    SOURCE_KEY,
    TARGET_KEY,
    create_litellm_world,
    get_migration,
    migration,
    phase_of,
    target_weight_in,
    wait_for,
)
from PIL import Image
from prometheus_client import start_http_server

from pmo_devenv import Prometheus
from pmo_devenv.net import free_port
from pmo_devenv.simulators.metrics import Outcome, make_metrics
from pmo_devenv.simulators.routing_readers import Arm
from provider_migration.api import constants as c
from provider_migration.cli.main import main
from provider_migration.reporting import PrometheusRangeSource, build_report, render_html, render_markdown

RATE = 40.0  # requests per second through the gateway, split by the route's weights
SOURCE = Arm("openai-gpt-4o", 100, "http://127.0.0.1:1", "openai", "gpt-4o", "openai/gpt-4o")
TARGET = Arm(
    "anthropic-claude", 0, "http://127.0.0.1:2", "anthropic", "claude-sonnet-4-5", "anthropic/claude-sonnet-4-5"
)


def create(kube: client.ApiClient, namespace: str, body: dict) -> None:  # type: ignore[type-arg]
    client.CustomObjectsApi(kube).create_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, body)


def decoded_pngs(text: str) -> list[Image.Image]:
    images: list[Image.Image] = []
    for data in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text):
        image = Image.open(io.BytesIO(base64.b64decode(data, validate=True)))
        image.load()
        assert image.format == "PNG" and image.width > 300
        images.append(image)
    return images


class Gateway:
    """LiteLLM's metrics for the two arms, with traffic split as the ConfigMap's weights say (read live)."""

    def __init__(self, kube: client.ApiClient, namespace: str) -> None:
        self.core = client.CoreV1Api(kube)
        self.namespace = namespace
        self.metrics = make_metrics("litellm")
        self.weight = 0
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._follow_route, daemon=True),
            threading.Thread(target=self._serve, daemon=True),
        ]

    def _follow_route(self) -> None:
        while not self.stop.wait(0.2):
            try:
                cm = self.core.read_namespaced_config_map("llm-gateway", self.namespace)
                weight = target_weight_in((cm.data or {}).get("config.yaml", ""))
            except client.ApiException:
                continue
            self.weight = 100 if weight is None else weight  # the source entry is gone after success

    def _serve(self) -> None:
        served, to_target = 0, 0.0
        while not self.stop.wait(1 / RATE):
            served += 1
            to_target += self.weight / 100
            target = to_target >= 1
            to_target -= 1 if target else 0
            arm = TARGET if target else SOURCE
            failed = target and served % 100 == 0  # 1 % errors on the target: healthy
            # Both latencies land in LiteLLM's (0.1, 0.5] bucket: the p95 ratio stays near 1.
            self.metrics.record(Outcome(arm, "chat", 500 if failed else 200, 0.4 if target else 0.3, 100, 40, 0.9))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


@pytest.fixture
def gateway(kube: client.ApiClient, namespace: str, prometheus: Prometheus) -> Iterator[Gateway]:
    create_litellm_world(kube, namespace)
    gw = Gateway(kube, namespace)
    server, _ = start_http_server(free_port(), addr="127.0.0.1", registry=gw.metrics.registry)
    gw.start()
    job, target = f"report-{namespace}", f"127.0.0.1:{server.server_port}"
    prometheus.add_target(job, target)
    try:
        prometheus.wait_for_target(job)
        # The baseline window (20s) must hold enough scrapes of the source's traffic.
        prometheus.wait_for_series(f'count_over_time(up{{job="{job}"}}[1m]) >= 15', timeout=60)
        yield gw
    finally:
        prometheus.remove_target(job, target)
        gw.close()
        server.shutdown()
        server.server_close()


def test_report_of_a_finished_migration_without_metrics_for_its_target(  # type: ignore[no-untyped-def]
    kube, namespace, operator, prometheus, control_plane, tmp_path: Path
) -> None:
    create_litellm_world(kube, namespace)
    create(kube, namespace, migration("plain"))
    wait_for(lambda: phase_of(kube, namespace, "plain") == "Succeeded", 90, "Succeeded")
    obj = get_migration(kube, namespace, "plain")

    source = PrometheusRangeSource(prometheus.url, timeout_s=5)
    try:
        report = build_report(obj, source)
    finally:
        source.close()
    html = render_html(report)
    assert report.metrics_from == "status" and report.phase == "Succeeded"
    assert "has no metrics for the target arm (anthropic-claude)" in html
    assert "spec.analysis is not set" in html and "No analysis is recorded in status." in html
    images = decoded_pngs(html)
    assert len(images) == len(report.figures) == 1 and report.figures[0].title == "Phase and weight timeline"
    facts = dict(report.facts)
    assert facts["Phase"] == "Succeeded" and facts["Source → target"] == "openai/gpt-4o → anthropic/claude-sonnet-4-5"
    for step in ("Step 1/3: weight 10%, pause 3s", "Step 2/3: weight 50%, pause 3s", "Step 3/3: weight 100%"):
        assert step in html
    assert SOURCE_KEY not in html and TARGET_KEY not in html

    # The same through the command line, reading the object from the API server itself.
    out = tmp_path / "plain.md"
    args = ["report", "plain", "-n", namespace, "--kubeconfig", str(control_plane.kubeconfig)]
    assert main([*args, "--prometheus", prometheus.url, "-o", "markdown", "--out", str(out)]) == 0
    markdown = out.read_text()
    assert markdown.startswith(f"# Migration report: {namespace}/plain")
    assert "base64" not in markdown and "has no metrics for the target arm" in markdown
    (linked,) = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert linked.startswith("plain-images/") and Image.open(tmp_path / linked).format == "PNG"


def test_report_charts_each_criterion_the_operator_analysed(  # type: ignore[no-untyped-def]
    kube, namespace, operator, prometheus, gateway: Gateway, tmp_path: Path, control_plane
) -> None:
    analysis = {
        "prometheus": {"url": prometheus.url, "timeout": "5s"},
        "metrics": "litellm",
        "interval": "5s",
        "minSamples": 5,
        "baseline": {"window": "20s"},
    }
    pricing = {
        "source": {"inputPerMillion": 2.5, "outputPerMillion": 10},
        "target": {"inputPerMillion": 3, "outputPerMillion": 15},
    }
    body = migration("analysed", analysis=analysis)
    body["spec"]["source"]["pricing"] = pricing["source"]
    body["spec"]["target"]["pricing"] = pricing["target"]
    body["spec"]["strategy"]["steps"] = [{"weight": 10, "pause": "5s"}, {"weight": 50, "pause": "5s"}, {"weight": 100}]
    body["spec"]["cleanup"] = {"stabilization": "5s"}
    create(kube, namespace, body)
    wait_for(lambda: phase_of(kube, namespace, "analysed") in ("Succeeded", "RolledBack"), 150, "an outcome")
    obj = get_migration(kube, namespace, "analysed")
    assert obj["status"]["phase"] == "Succeeded", obj["status"].get("message")

    out = tmp_path / "analysed.html"
    args = ["report", "analysed", "-n", namespace, "--kubeconfig", str(control_plane.kubeconfig), "--out", str(out)]
    assert main(args) == 0  # Prometheus from the migration's own spec.analysis
    html = out.read_text()
    assert f"Values over the migration's lifetime from Prometheus at {prometheus.url}" in unescape(html)
    assert '<p class="verdict">Succeeded: all traffic moved to anthropic/' in html
    if keep := os.environ.get("PMO_KEEP_REPORT"):  # for a screenshot: the report and `pmo get -o wide` beside it
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(out, Path(keep) / "report.html")
        with redirect_stdout(io.StringIO()) as listed:
            main(["get", "-o", "wide", "-n", namespace, "--kubeconfig", str(control_plane.kubeconfig)])
        (Path(keep) / "pmo-get-o-wide.txt").write_text(listed.getvalue())

    source = PrometheusRangeSource(prometheus.url, timeout_s=5)
    try:
        report = build_report(obj, source)
    finally:
        source.close()
    assert report.metrics_from == "prometheus"
    series = {s.name: s for s in report.criteria}
    assert list(series) == ["errorRate", "latencyP95", "cost"]
    for s in series.values():
        assert s.points, f"{s.name}: {s.problem}"
        assert not s.failed, f"{s.name} failed at {[p.time for p in s.points if p.verdict == 'Fail']}"
    # 1 % of the target's requests fail; both arms' p95 sit in the same bucket.
    judged = [p for p in series["errorRate"].points if p.verdict == "Pass"]
    assert judged and max(p.value for p in judged) < 0.05
    assert all(p.value == pytest.approx(1.0, abs=0.25) for p in series["latencyP95"].points if p.verdict == "Pass")
    titles = [f.title for f in report.figures]
    assert titles[:4] == ["Phase and weight timeline", "errorRate over time", "latencyP95 over time", "cost over time"]
    assert "Cost forecast against actual" in titles
    assert len(decoded_pngs(html)) == len(report.figures)
    # The source is plotted beside the target, and the blast radius counts what the target served.
    assert all(s.source_points for s in series.values())
    served = dict(report.facts)["Blast radius"]
    assert served.startswith("at most 100% of traffic reached the target; it served about ") and "failed" in served
    assert "Prometheus, request-weighted over the lifetime" in render_markdown(report)
