"""The committed CRD (and the chart's copy) is exactly what `pmo crds` prints, and the generated schema
keeps the properties the API server relies on: structural, every status field declared, CEL inputs bounded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from provider_migration.api import constants as c
from provider_migration.api.crd import crd_file_name, crds
from provider_migration.api.status import ProviderMigrationStatus
from provider_migration.cli.main import main

REPO = Path(__file__).resolve().parents[2]
CRD_FILE = f"{c.CRD_NAME}.yaml"
COMMITTED = REPO / "crds" / CRD_FILE
REGENERATE = "regenerate it from the matching document of `pmo crds`: {path}"
CRD_FILES = [crd_file_name(d) for d in crds()]


def pmo_crds(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """`pmo crds`, split into its documents (one per CRD)."""
    assert main(["crds"]) == 0
    return ["---\n" + doc for doc in capsys.readouterr().out.split("---\n") if doc]


def test_pmo_crds_prints_the_migration_and_both_template_crds(capsys: pytest.CaptureFixture[str]) -> None:
    kinds = [yaml.safe_load(doc)["spec"]["names"]["kind"] for doc in pmo_crds(capsys)]
    assert kinds == [c.KIND, c.TEMPLATE_KIND, c.CLUSTER_TEMPLATE_KIND]


@pytest.mark.parametrize("where", ["crds", "charts/provider-migration-operator/files/crds"])
def test_committed_crds_equal_pmo_crds(where: str, capsys: pytest.CaptureFixture[str]) -> None:
    for name, printed in zip(CRD_FILES, pmo_crds(capsys), strict=True):
        path = REPO / where / name
        assert path.exists() and path.read_text() == printed, REGENERATE.format(path=path.relative_to(REPO))


def _committed() -> dict[str, Any]:
    return dict(yaml.safe_load(COMMITTED.read_text()))


def _version() -> dict[str, Any]:
    (version,) = _committed()["spec"]["versions"]
    return dict(version)


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "type" in node or "properties" in node:
            yield path, node
        for key, sub in (node.get("properties") or {}).items():
            yield from _walk(sub, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            yield from _walk(node["items"], f"{path}[]")


def test_schema_is_structural() -> None:
    forbidden = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "title", "const", "additionalProperties"}
    for path, node in _walk(_version()["schema"]["openAPIV3Schema"]):
        assert not forbidden & node.keys(), f"{path}: {sorted(forbidden & node.keys())}"
        assert "type" in node, f"{path} has no type (structural schemas type every node)"
        if "exclusiveMinimum" in node:
            assert node["exclusiveMinimum"] is True and "minimum" in node, path


def test_spec_strings_and_lists_are_bounded_for_cel_cost() -> None:
    """The API server estimates CEL cost from maxLength/maxItems; unbounded inputs blow the budget."""
    spec = _version()["schema"]["openAPIV3Schema"]["properties"]["spec"]
    for path, node in _walk(spec, "spec"):
        if node["type"] == "string":
            assert "maxLength" in node or "enum" in node, f"{path} has no maxLength"
        if node["type"] == "array":
            assert "maxItems" in node, f"{path} has no maxItems"


def _declared_fields(model: type[BaseModel]) -> Iterator[tuple[str, type[BaseModel] | None, bool]]:
    for name, field in model.model_fields.items():
        alias = field.alias or name
        annotation = field.annotation
        nested: type[BaseModel] | None = None
        is_list = False
        candidates = [annotation, *get_args(annotation)]
        if get_origin(annotation) is list or any(get_origin(a) is list for a in candidates):
            is_list = True
            candidates = [a for x in candidates for a in get_args(x)] + candidates
        for candidate in candidates:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                nested = candidate
        yield alias, nested, is_list


def _assert_declared(model: type[BaseModel], schema: dict[str, Any], path: str) -> int:
    count = 0
    for alias, nested, is_list in _declared_fields(model):
        assert alias in schema.get("properties", {}), f"{path}.{alias} is not declared: the server would prune it"
        count += 1
        if nested is not None:
            sub = schema["properties"][alias]
            count += _assert_declared(nested, sub["items"] if is_list else sub, f"{path}.{alias}")
    return count


def test_every_status_field_is_declared() -> None:
    status = _version()["schema"]["openAPIV3Schema"]["properties"]["status"]
    assert status.get("x-kubernetes-preserve-unknown-fields") is not True
    declared = _assert_declared(ProviderMigrationStatus, status, "status")
    assert declared > 40  # the walk reached the nested models, not just the top level


def test_crd_serves_status_subresource_printer_columns_and_short_name() -> None:
    version = _version()
    assert version["subresources"] == {"status": {}}
    default_columns = [col["name"] for col in version["additionalPrinterColumns"] if not col.get("priority")]
    assert default_columns == ["Phase", "Step", "Weight", "Source", "Target", "Age"]
    assert _committed()["spec"]["names"]["shortNames"] == ["pmig"]


def test_transition_rules_guard_route_source_and_target() -> None:
    spec = _version()["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    for field in ("route", "source", "target"):
        rules = [v["rule"] for v in spec[field].get("x-kubernetes-validations", [])]
        assert any("oldSelf" in rule for rule in rules), f"spec.{field} has no transition rule"


def test_every_field_has_kubectl_explain_text() -> None:
    """`kubectl explain providermigration.<path>` prints the description; no field is left without one."""
    root = _version()["schema"]["openAPIV3Schema"]
    fields = [path for path, _ in _walk(root) if path]
    # metadata: the API server forbids a description there (it explains ObjectMeta from its own schema).
    undocumented = [path for path, node in _walk(root) if path not in ("", ".metadata") and not node.get("description")]
    assert len(fields) > 190  # the walk reached the nested fields
    assert undocumented == [], f"{len(undocumented)} fields without a description: {undocumented[:10]}"


def test_step_column_is_the_one_based_step_number() -> None:
    """STEP reads like `pmo`: 0 before the first step, N of N once the last step is reached."""
    (column,) = [col for col in _version()["additionalPrinterColumns"] if col["name"] == "Step"]
    assert column["jsonPath"] == ".status.step"
    assert ProviderMigrationStatus().to_wire()["step"] == 0
    assert ProviderMigrationStatus(current_step=2).to_wire()["step"] == 3
    assert ProviderMigrationStatus.model_validate({"currentStep": 1, "step": 7}).to_wire()["step"] == 2


def test_metadata_is_only_typed() -> None:
    """The API server rejects a CRD whose metadata schema says anything but its type (a description included)."""
    assert _version()["schema"]["openAPIV3Schema"]["properties"]["metadata"] == {"type": "object"}


def test_pmo_crds_dir_writes_the_files_that_are_committed(tmp_path: Path) -> None:
    assert main(["crds", "--dir", str(tmp_path / "a"), "--dir", str(tmp_path / "b")]) == 0
    for where in ("a", "b"):
        written = sorted(p.name for p in (tmp_path / where).iterdir())
        assert written == sorted(CRD_FILES)
        for name in CRD_FILES:
            assert (tmp_path / where / name).read_text() == (REPO / "crds" / name).read_text()
