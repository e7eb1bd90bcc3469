"""Loading examples/ and the examples/invalid table, shared by the unit test (pydantic) and the e2e test
(real API server) so both judge exactly the same files."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from provider_migration.api import constants as c
from provider_migration.api.crd import crd

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
INVALID = EXAMPLES / "invalid"
_HEADER = re.compile(r"^# (expect|field): (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class InvalidCase:
    path: Path
    expect: str  # a substring of the API server's error message
    field: str  # the field path the message must name
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.stem


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def migrations_in(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["apiVersion"] == c.API_VERSION and d["kind"] == c.KIND]


def load_invalid() -> list[InvalidCase]:
    cases = []
    for path in sorted(INVALID.glob("*.yaml")):
        text = path.read_text()
        header = dict(_HEADER.findall(text))
        assert {"expect", "field"} <= header.keys(), f"{path.name} needs '# expect:' and '# field:' comments"
        (manifest,) = [doc for doc in yaml.safe_load_all(text) if doc]
        cases.append(InvalidCase(path, header["expect"].strip(), header["field"].strip(), manifest))
    return cases


@functools.cache
def cel_messages(*, transition: bool = False) -> frozenset[str]:
    """Messages of the CRD's CEL rules; transition rules (on oldSelf) only when asked."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for rule in node.get("x-kubernetes-validations", []):
                # Required-field rules (no template, field missing) stand for pydantic's own "Field required".
                if rule.get("reason") == "FieldValueRequired":
                    continue
                if ("oldSelf" in rule["rule"]) == transition:
                    found.add(rule["message"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(crd())
    return frozenset(found)
