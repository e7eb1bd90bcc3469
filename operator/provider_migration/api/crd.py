"""The CRD, generated from the pydantic models so the schema can never drift from the code.

pydantic emits JSON Schema 2020-12; a CRD wants a *structural* OpenAPI v3.0 schema: no `$ref`, no
`title`, no `additionalProperties: false`, `Optional[X]` as plain X, and `exclusiveMinimum` as a boolean.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from . import constants as c
from .base import cel
from .spec import TEMPLATE_SECTIONS, ProviderMigrationSpec
from .status import ProviderMigrationStatus
from .template import MigrationTemplateSpec

_DROP = {"title", "$defs", "$schema", "examples"}


def _inline(node: Any, defs: dict[str, Any], *, keep_defaults: bool) -> Any:
    if isinstance(node, list):
        return [_inline(x, defs, keep_defaults=keep_defaults) for x in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    while "$ref" in node or "anyOf" in node:
        if "$ref" in node:
            target = copy.deepcopy(defs[node.pop("$ref").split("/")[-1]])
            # Siblings of a $ref (field-level CEL rules, descriptions) are merged over the referenced model.
            rules = target.get("x-kubernetes-validations", []) + node.pop("x-kubernetes-validations", [])
            target.update(node)
            if rules:
                target["x-kubernetes-validations"] = rules
            node = target
        else:
            branches = [b for b in node.pop("anyOf") if b.get("type") != "null"]
            if len(branches) != 1:
                raise ValueError(f"non-structural union in schema: {branches}")
            merged = dict(branches[0])
            merged.update(node)
            node = merged
            if "default" in node and node["default"] is None:
                del node["default"]
    for key in _DROP:
        node.pop(key, None)
    if node.get("additionalProperties") is False or node.get("x-kubernetes-preserve-unknown-fields"):
        node.pop("additionalProperties", None)
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for bound in ("exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(node.get(bound), int | float) and not isinstance(node[bound], bool):
            node[bound.replace("exclusive", "").lower()] = node[bound]
            node[bound] = True
    if not keep_defaults:
        node.pop("default", None)
    return {k: _inline(v, defs, keep_defaults=keep_defaults) for k, v in node.items()}


def openapi_schema(model: type, *, keep_defaults: bool) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")  # type: ignore[attr-defined]
    schema: dict[str, Any] = _inline(raw, raw.get("$defs", {}), keep_defaults=keep_defaults)
    return schema


UNTEMPLATED_REQUIRED = "a migration without a templateRef sets it"


def _partial(node: dict[str, Any], path: str, required: list[tuple[str, str]]) -> None:
    """A template section as a migration or template may state it: no field required and no default inside
    (an absent field is inherited, a default would hide the template's value). What was required is collected
    in `required`, as (object path, field). List items stay whole: lists replace, they never merge."""
    node.pop("default", None)
    for name in node.pop("required", []):
        required.append((path, name))
    for name, sub in (node.get("properties") or {}).items():
        _partial(sub, f"{path}.{name}", required)


def partial_sections(spec_schema: dict[str, Any]) -> list[tuple[str, str]]:
    required: list[tuple[str, str]] = []
    for section in TEMPLATE_SECTIONS:
        _partial(spec_schema["properties"][section], section, required)
    return required


def untemplated_required(required: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Without a templateRef the sections are as required as ever: one spec-level rule per required field
    (a nested object cannot see spec.templateRef). With one, the merged spec is judged by the operator."""
    rules = []
    for path, name in required:
        parts = path.split(".")
        present = [f"!has(self.{'.'.join(parts[: i + 1])})" for i in range(len(parts))]
        rule = " || ".join(["has(self.templateRef)", *present, f"has(self.{path}.{name})"])
        rules.append(cel(rule, UNTEMPLATED_REQUIRED, field_path=f".{path}.{name}", reason="FieldValueRequired"))
    return rules


# The standard texts of every Kubernetes object's first three fields (as in the built-in types' OpenAPI).
API_VERSION_TEXT = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should convert "
    "recognized schemas to the latest internal value, and may reject unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
KIND_TEXT = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer this from "
    "the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)

PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Step", "type": "integer", "jsonPath": ".status.step", "description": "1-based; 0 before the first"},
    {"name": "Weight", "type": "integer", "jsonPath": ".status.currentWeight", "description": "Target share, %"},
    {"name": "Source", "type": "string", "jsonPath": ".spec.source.model"},
    {"name": "Target", "type": "string", "jsonPath": ".spec.target.model"},
    {"name": "Reason", "type": "string", "jsonPath": ".status.reason", "priority": 1},
    {"name": "Template", "type": "string", "jsonPath": ".spec.templateRef.name", "priority": 1},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
]


def _crd(
    *,
    kind: str,
    plural: str,
    singular: str,
    short_names: list[str],
    scope: str,
    description: str,
    columns: list[dict[str, Any]],
    properties: dict[str, Any],
    subresources: dict[str, Any] | None = None,
) -> dict[str, Any]:
    version: dict[str, Any] = {"name": c.VERSION, "served": True, "storage": True}
    if subresources is not None:
        version["subresources"] = subresources
    version["additionalPrinterColumns"] = columns
    version["schema"] = {
        "openAPIV3Schema": {
            "type": "object",
            "description": description,
            "required": ["spec"],
            "properties": {
                "apiVersion": {"type": "string", "description": API_VERSION_TEXT},
                "kind": {"type": "string", "description": KIND_TEXT},
                # The API server refuses anything but `type` here; explain describes ObjectMeta itself.
                "metadata": {"type": "object"},
                **properties,
            },
        }
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{c.GROUP}",
            "labels": {"app.kubernetes.io/name": "provider-migration-operator"},
        },
        "spec": {
            "group": c.GROUP,
            "scope": scope,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": singular,
                "shortNames": short_names,
                "categories": ["llmops"],
            },
            "versions": [version],
        },
    }


def crd() -> dict[str, Any]:
    """The ProviderMigration CRD."""
    spec_schema = openapi_schema(ProviderMigrationSpec, keep_defaults=True)
    spec_schema["description"] = "Desired migration: route, source, target, strategy, analysis, cleanup."
    spec_schema["x-kubernetes-validations"] += untemplated_required(partial_sections(spec_schema))
    status_schema = openapi_schema(ProviderMigrationStatus, keep_defaults=False)
    status_schema["description"] = "Observed progress, written only by the operator."
    return _crd(
        kind=c.KIND,
        plural=c.PLURAL,
        singular=c.SINGULAR,
        short_names=list(c.SHORT_NAMES),
        scope="Namespaced",
        description="Moves an application's LLM traffic from one model provider to another.",
        columns=PRINTER_COLUMNS,
        properties={"spec": spec_schema, "status": status_schema},
        subresources={"status": {}},
    )


TEMPLATE_COLUMNS: list[dict[str, Any]] = [
    {"name": "Strategy", "type": "string", "jsonPath": ".spec.strategy.type"},
    {"name": "Metrics", "type": "string", "jsonPath": ".spec.analysis.metrics", "description": "Query preset"},
    {"name": "Description", "type": "string", "jsonPath": ".spec.description"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def template_crd(kind: str) -> dict[str, Any]:
    """The MigrationTemplate (namespaced) or ClusterMigrationTemplate (cluster-scoped) CRD: the same schema."""
    spec_schema = openapi_schema(MigrationTemplateSpec, keep_defaults=False)
    spec_schema["description"] = "The shared part of a migration: strategy, analysis, evaluation, cleanup."
    partial_sections(spec_schema)
    cluster = kind == c.CLUSTER_TEMPLATE_KIND
    where = "every namespace" if cluster else "migrations in its namespace"
    return _crd(
        kind=kind,
        plural=c.TEMPLATE_PLURALS[kind],
        singular=kind.lower(),
        short_names=list(c.CLUSTER_TEMPLATE_SHORT_NAMES if cluster else c.TEMPLATE_SHORT_NAMES),
        scope="Cluster" if cluster else "Namespaced",
        description=f"A rollout policy that ProviderMigrations of {where} name in spec.templateRef.",
        columns=TEMPLATE_COLUMNS,
        properties={"spec": spec_schema},
    )


def crds() -> list[dict[str, Any]]:
    """Every CRD of the operator, in the order `pmo crds` prints them."""
    return [crd(), template_crd(c.TEMPLATE_KIND), template_crd(c.CLUSTER_TEMPLATE_KIND)]


def crd_file_name(definition: dict[str, Any]) -> str:
    return f"{definition['metadata']['name']}.yaml"


def to_yaml(definition: dict[str, Any]) -> str:
    return "---\n" + yaml.safe_dump(definition, sort_keys=False, width=120)


def crd_yaml() -> str:
    """All CRDs, one YAML document each (what `pmo crds` prints; crds/ has one file per document)."""
    return "".join(to_yaml(d) for d in crds())
