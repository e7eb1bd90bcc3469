"""The pydantic models judge manifests as the API server does (tests/e2e/test_examples.py runs the same files
against the real server): every examples/invalid manifest is rejected, a CEL rule's message is also the
pydantic message, and every example in examples/ parses and ships the objects it refers to."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from example_manifests import (
    EXAMPLES,
    INVALID,
    InvalidCase,
    cel_messages,
    load_documents,
    load_invalid,
    migrations_in,
)
from provider_migration.api import constants as c
from provider_migration.api.spec import ProviderMigrationSpec

INVALID_CASES = load_invalid()


def _loc_path(loc: tuple[int | str, ...]) -> str:
    path = "spec"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def test_the_invalid_table_is_large_enough() -> None:
    assert len(INVALID_CASES) >= 30
    assert len({case.expect for case in INVALID_CASES}) >= 20  # many different rejections, not one repeated


@pytest.mark.parametrize("case", INVALID_CASES, ids=lambda case: case.name)
def test_models_reject_invalid_manifest(case: InvalidCase) -> None:
    assert case.manifest["apiVersion"] == c.API_VERSION and case.manifest["kind"] == c.KIND
    with pytest.raises(ValidationError) as raised:
        ProviderMigrationSpec.from_wire(case.manifest["spec"])
    errors = raised.value.errors()
    if case.expect in cel_messages():
        # A CEL rule's message: the pydantic validator must say the same words.
        assert any(case.expect in e["msg"] for e in errors), errors
    locations = [_loc_path(e["loc"]) for e in errors]
    assert any(case.field.startswith(loc) for loc in locations), (case.field, locations)


def test_every_cel_rule_has_an_invalid_example() -> None:
    covered = {case.expect for case in INVALID_CASES}
    missing = {m for m in cel_messages() if m not in covered}
    assert not missing, f"add an examples/invalid manifest for: {sorted(missing)}"


VALID = sorted(EXAMPLES.glob("*.yaml"))


def test_there_is_an_example_per_scenario() -> None:
    kinds = {m["spec"]["route"]["kind"] for f in VALID for m in migrations_in(load_documents(f))}
    strategies = {m["spec"]["strategy"]["type"] for f in VALID for m in migrations_in(load_documents(f))}
    assert kinds == {"ConfigMap", "HTTPRoute", "AIGatewayRoute"}
    assert strategies == {"Phased", "BigBang", "Parallel"}


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_example_parses_and_ships_what_it_refers_to(path: Path) -> None:
    docs = load_documents(path)
    (migration,) = migrations_in(docs)
    spec = ProviderMigrationSpec.from_wire(migration["spec"])
    present = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert (spec.route.kind, spec.route.name) in present, "the routing object is missing"
    if spec.route.reload:
        assert ("Deployment", spec.route.reload.deployment) in present
    wanted = [e.credentials.secret_name for e in (spec.source, spec.target) if e.credentials]
    wanted += [spec.gateway_secret] if spec.gateway_secret else []
    if spec.analysis and spec.analysis.prometheus.auth_secret:
        wanted.append(spec.analysis.prometheus.auth_secret.name)
    for name in wanted:
        assert ("Secret", name) in present, f"Secret {name} is referenced but not shipped"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_example_secrets_hold_placeholders_only(path: Path) -> None:
    for doc in load_documents(path):
        if doc["kind"] == "Secret":
            assert "data" not in doc, "use stringData placeholders, never encoded values"
            for key, value in (doc.get("stringData") or {}).items():
                assert str(value).startswith("REPLACE-WITH-"), f"{doc['metadata']['name']}/{key}"


def test_examples_have_no_namespace_so_they_apply_anywhere() -> None:
    for path in [*VALID, *sorted(INVALID.glob("*.yaml"))]:
        for doc in load_documents(path):
            assert "namespace" not in doc["metadata"], path.name


def test_readme_indexes_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    for path in VALID:
        assert path.name in readme, f"{path.name} is missing from examples/README.md"
