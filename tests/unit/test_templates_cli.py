"""`pmo plan/simulate/eval -f` resolve a migration's template as the operator does (from the file, else the
cluster), views, reports and the dashboard read a templated migration through status.effectiveSpec, and the
examples' ClusterMigrationTemplate serves both applications' migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from example_manifests import EXAMPLES, load_documents, migrations_in
from provider_migration.api import constants as c
from provider_migration.cli.main import main
from provider_migration.cli.plan import read_manifest
from provider_migration.core.templates import resolve
from provider_migration.dashboard.model import summary
from provider_migration.simulation.manifests import ManifestError, parse_migrations
from provider_migration.views import terminal
from provider_migration.views.migration import Migration

TEMPLATES = EXAMPLES / "templates"
TEMPLATE_FILE = TEMPLATES / "openai-to-anthropic-phased-gate.yaml"
APPS = [TEMPLATES / "support-bot.yaml", TEMPLATES / "search-summaries.yaml"]


def text_of(*paths: Path) -> str:
    return "\n---\n".join(p.read_text() for p in paths)


@pytest.mark.parametrize("app", APPS, ids=lambda p: p.stem)
def test_each_application_states_only_what_differs_and_gets_the_gated_policy(app: Path) -> None:
    (mig,) = migrations_in(load_documents(app))
    assert set(mig["spec"]) <= {"templateRef", "route", "source", "target", "gatewaySecret", "analysis", "cleanup"}
    (manifest,) = parse_migrations(text_of(TEMPLATE_FILE, app), app.name)
    spec = manifest.spec
    assert spec.strategy.type == "Phased" and any(s.approval for s in spec.strategy.steps)
    assert [s.weight for s in spec.strategy.steps if s.weight] == [10, 50, 100]
    assert spec.analysis is not None and spec.analysis.rollback_on.latency_p95.ratio_to_baseline == 1.5
    present = {(d["kind"], d["metadata"]["name"]) for d in load_documents(app)}
    assert ("ConfigMap", spec.route.name) in present and ("Secret", spec.gateway_secret) in present


def test_the_template_examples_set_no_namespace_and_are_indexed() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    for path in [TEMPLATE_FILE, *APPS]:
        assert f"templates/{path.name}" in readme
        for doc in load_documents(path):
            assert "namespace" not in doc["metadata"], path.name


def test_the_overrides_win_and_everything_else_is_the_templates() -> None:
    (support,) = parse_migrations(text_of(TEMPLATE_FILE, APPS[0]))
    (search,) = parse_migrations(text_of(TEMPLATE_FILE, APPS[1]))
    assert support.spec.analysis and search.spec.analysis
    assert support.spec.analysis.rollback_on.error_rate.above == 0.02
    assert search.spec.analysis.rollback_on.error_rate.above == 0.01
    assert (support.spec.cleanup.stabilization, search.spec.cleanup.stabilization) == ("3d", "1d")
    assert search.spec.analysis.rollback_on.quality == support.spec.analysis.rollback_on.quality
    assert search.spec.strategy == support.spec.strategy


def test_a_template_not_in_the_file_comes_from_the_cluster_lookup() -> None:
    template = yaml.safe_load(TEMPLATE_FILE.read_text())
    asked: list[tuple[str, str, str]] = []

    def cluster(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        asked.append((kind, namespace, name))
        return template

    (manifest,) = parse_migrations(APPS[0].read_text(), "support-bot.yaml", cluster)
    assert asked == [(c.CLUSTER_TEMPLATE_KIND, "default", "openai-to-anthropic-phased-gate")]
    assert manifest.spec.strategy.type == "Phased"
    with pytest.raises(ManifestError, match=r"spec\.templateRef: ClusterMigrationTemplate .* not found"):
        parse_migrations(APPS[0].read_text(), "support-bot.yaml", lambda *_: None)
    with pytest.raises(ManifestError, match="put it in the file, or reach a cluster"):
        parse_migrations(APPS[0].read_text(), "support-bot.yaml")


def test_an_invalid_merge_is_refused_with_the_path_by_pmo_too(tmp_path: Path) -> None:
    broken = yaml.safe_load(TEMPLATE_FILE.read_text())
    del broken["spec"]["analysis"]["prometheus"]
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(broken) + "---\n" + APPS[0].read_text())
    with pytest.raises(ManifestError, match=r"spec\.analysis\.prometheus: Field required"):
        read_manifest(path)


def test_pmo_simulate_rehearses_a_templated_migration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text_of(TEMPLATE_FILE, APPS[1]))
    assert main(["simulate", "-f", str(path), "--auto-approve", "-o", "json"]) == 0
    out = capsys.readouterr().out
    assert '"Succeeded"' in out


def test_views_read_the_effective_spec_and_show_the_template() -> None:
    (mig_doc,) = migrations_in(load_documents(APPS[1]))
    resolved = resolve(mig_doc["spec"], yaml.safe_load(TEMPLATE_FILE.read_text()), None, _now())
    assert not hasattr(resolved, "reason")
    obj = {
        **mig_doc,
        "metadata": {**mig_doc["metadata"], "namespace": "search"},
        "status": {
            "phase": "Progressing",
            "currentStep": 1,
            "template": resolved.template.to_wire(),  # type: ignore[union-attr]
            "effectiveSpec": resolved.wire,  # type: ignore[union-attr]
        },
    }
    mig = Migration.from_object(obj)
    assert mig.spec is not None and len(mig.steps) == 4 and not mig.problems
    assert mig.template == "ClusterMigrationTemplate/openai-to-anthropic-phased-gate"  # a file has no resourceVersion
    view = summary(obj)
    assert view["template"] == mig.template and view["steps"] == 4  # the dashboard reads the same
    header, (row,) = terminal.table_rows([mig], _now(), wide=True)
    assert row[header.index("TEMPLATE")] == "openai-to-anthropic-phased-gate"
    assert row[header.index("STEP")] == "2/4"


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 12, 1, tzinfo=UTC)
