"""The CRD, generated from the pydantic models so the schema can never drift from the code.

pydantic emits JSON Schema 2020-12; a CRD wants a *structural* OpenAPI v3.0 schema: no `$ref`, no
`title`, no `additionalProperties: false`, `Optional[X]` as plain X, and `exclusiveMinimum` as a boolean.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from . import constants as c
from .spec import ProviderMigrationSpec
from .status import ProviderMigrationStatus

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
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
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

PRINTER_COLUMNS = [
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Step", "type": "integer", "jsonPath": ".status.step", "description": "1-based; 0 before the first"},
    {"name": "Weight", "type": "integer", "jsonPath": ".status.currentWeight", "description": "Target share, %"},
    {"name": "Source", "type": "string", "jsonPath": ".spec.source.model"},
    {"name": "Target", "type": "string", "jsonPath": ".spec.target.model"},
    {"name": "Reason", "type": "string", "jsonPath": ".status.reason", "priority": 1},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
]


def crd() -> dict[str, Any]:
    spec_schema = openapi_schema(ProviderMigrationSpec, keep_defaults=True)
    spec_schema["description"] = "Desired migration: route, source, target, strategy, analysis, cleanup."
    status_schema = openapi_schema(ProviderMigrationStatus, keep_defaults=False)
    status_schema["description"] = "Observed progress, written only by the operator."
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": c.CRD_NAME,
            "labels": {"app.kubernetes.io/name": "provider-migration-operator"},
        },
        "spec": {
            "group": c.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": c.KIND,
                "listKind": f"{c.KIND}List",
                "plural": c.PLURAL,
                "singular": c.SINGULAR,
                "shortNames": list(c.SHORT_NAMES),
                "categories": ["llmops"],
            },
            "versions": [
                {
                    "name": c.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "Moves an application's LLM traffic from one model provider to another.",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string", "description": API_VERSION_TEXT},
                                "kind": {"type": "string", "description": KIND_TEXT},
                                # The API server refuses anything but `type` here; explain describes ObjectMeta itself.
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                }
            ],
        },
    }


def crd_yaml() -> str:
    return "---\n" + yaml.safe_dump(crd(), sort_keys=False, width=120)
