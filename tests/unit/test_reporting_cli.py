"""`pmo report` argument handling and output files; the cluster read is stubbed (tests/e2e/test_report.py
runs it against the real API server)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_reporting import OBJ

from provider_migration.cli import report as report_cli
from provider_migration.cli.kubeclient import NotFound
from provider_migration.cli.main import main


class StubMigrations:
    def __init__(self, conn: object) -> None:
        self.namespace = "support"

    def get(self, name: str) -> dict[str, Any]:
        if name != "support-bot":
            raise NotFound(f'ProviderMigration "{name}" in namespace "support" not found')
        return OBJ


@pytest.fixture(autouse=True)
def stub_cluster(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    namespaces: list[str | None] = []

    def connect(kubeconfig: str | None, context: str | None, namespace: str | None) -> Any:
        namespaces.append(namespace)
        return type("Conn", (), {"api": type("Api", (), {"api_client": None})(), "namespace": namespace or "default"})

    monkeypatch.setattr(report_cli, "connect", connect)
    monkeypatch.setattr(report_cli, "Migrations", StubMigrations)
    return namespaces


def test_writes_html_named_after_the_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stub_cluster: list[str | None]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report", "support-bot", "-n", "support", "--no-prometheus"]) == 0
    html = (tmp_path / "support-bot-report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count('<img src="data:image/png;base64,') == 4
    assert "wrote support-bot-report.html (4 plots; criteria from status)" in capsys.readouterr().err
    assert stub_cluster == ["support"]


def test_markdown_to_a_file_and_to_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.md"
    assert main(["report", "support-bot", "-o", "markdown", "--out", str(out), "--no-prometheus"]) == 0
    text = out.read_text()
    assert text.startswith("# Migration report: support/support-bot")
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert linked and all(p.startswith("r-images/") and (tmp_path / p).read_bytes()[:4] == b"\x89PNG" for p in linked)
    monkeypatch.chdir(tmp_path)  # on stdout the figures go to ./NAME-report-images/
    assert main(["report", "support-bot", "-o", "md", "--out", "-", "--no-prometheus"]) == 0
    assert sorted(p.name for p in (tmp_path / "support-bot-report-images").iterdir()) == sorted(
        Path(p).name for p in linked
    )

    def body(text: str) -> list[str]:  # all but the "Generated <time>" line, image directories aligned
        return [
            line
            for line in text.replace("r-images/", "support-bot-report-images/").splitlines()
            if not line.startswith("Generated ")
        ]

    assert body(capsys.readouterr().out) == body(text)


def test_unreachable_prometheus_still_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    # Port 9 (discard) on loopback: refused at once.
    assert main(["report", "support-bot", "--out", str(out), "--prometheus", "http://127.0.0.1:9"]) == 0
    html = out.read_text()
    assert "Prometheus at http://127.0.0.1:9 is unreachable" in html and "falling back" in html


def test_not_found_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "nope", "--no-prometheus"]) == 3
    assert "not found" in capsys.readouterr().err


def test_o_is_the_format_and_the_old_o_file_still_works_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.md"
    assert main(["report", "support-bot", "-o", str(old), "--no-prometheus"]) == 0
    assert old.read_text().startswith("# Migration report")
    assert "deprecated" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["report", "support-bot", "-o", "pdf"])
    assert exited.value.code == 2
