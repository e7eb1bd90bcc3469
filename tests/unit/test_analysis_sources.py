"""One Prometheus client (one HTTP session) per Prometheus URL, timeout and token, shared by all migrations."""

from __future__ import annotations

from typing import Any

from rollout_world import spec_from

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.controller import analysis_port
from provider_migration.controller.analysis_port import PrometheusAnalysis


def spec(url: str, timeout: str = "5s") -> ProviderMigrationSpec:
    return spec_from(analysis={"prometheus": {"url": url, "timeout": timeout}, "interval": "30s"})


def test_migrations_sharing_a_prometheus_share_one_client(monkeypatch: Any) -> None:
    analysis = PrometheusAnalysis(lambda namespace, spec: None)  # type: ignore[arg-type,return-value]
    a = analysis._source("team-a", spec("http://prom:9090"))
    assert analysis._source("team-b", spec("http://prom:9090")) is a
    assert analysis._source("team-a", spec("http://other:9090")) is not a
    assert analysis._source("team-a", spec("http://prom:9090", timeout="9s")) is not a
    monkeypatch.setattr(analysis_port, "prometheus_token", lambda *_: "token-1")
    with_token = analysis._source("team-a", spec("http://prom:9090"))
    assert with_token is not a and analysis._source("team-b", spec("http://prom:9090")) is with_token
    monkeypatch.setattr(analysis_port, "prometheus_token", lambda *_: "token-2")  # rotated: a client of its own
    assert analysis._source("team-a", spec("http://prom:9090")) is not with_token
    assert all("token" not in "".join(map(str, key)) for key in analysis._sources)  # only a digest is kept


def test_the_least_recently_used_client_is_closed_beyond_the_bound(monkeypatch: Any) -> None:
    monkeypatch.setattr(analysis_port, "SOURCES_KEPT", 2)
    analysis = PrometheusAnalysis(lambda namespace, spec: None)  # type: ignore[arg-type,return-value]
    first = analysis._source("ns", spec("http://p1:9090"))
    closed: list[bool] = []
    monkeypatch.setattr(first, "close", lambda: closed.append(True))
    analysis._source("ns", spec("http://p2:9090"))
    analysis._source("ns", spec("http://p3:9090"))
    assert closed == [True] and len(analysis._sources) == 2
