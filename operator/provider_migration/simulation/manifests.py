"""ProviderMigrations from a YAML file that may hold other objects (Secrets, ConfigMaps, routes) too."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from provider_migration.api.constants import API_VERSION, CLUSTER_TEMPLATE_KIND, KIND, TEMPLATE_KIND
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.core.templates import Refusal, resolve

# (kind, namespace, name) -> the template object, or None: how `pmo` finds a template not in the file.
TemplateLookup = Callable[[str, str, str], dict[str, Any] | None]


class ManifestError(ValueError):
    pass


class Unreadable(ManifestError):
    """The file itself cannot be read (missing, a directory, no permission, not text)."""


def read_text(path: Path) -> str:
    """A manifest's text ('-' reads stdin); a missing, unreadable or binary file is a one-line ManifestError."""
    try:
        if str(path) == "-":
            return sys.stdin.read()
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Unreadable(f'the path "{path}" does not exist') from None
    except IsADirectoryError:
        raise Unreadable(f'"{path}" is a directory, not a manifest file') from None
    except UnicodeDecodeError:
        raise Unreadable(f'"{path}" is not a YAML or JSON manifest (it is not UTF-8 text)') from None
    except OSError as e:
        raise Unreadable(f'cannot read "{path}": {e.strerror or e}') from None


def documents(text: str, origin: str) -> list[dict[str, Any]]:
    """The mappings of a multi-document YAML text; a syntax error is a one-line ManifestError with its place."""
    try:
        return [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or type(e).__name__
        raise ManifestError(f"{origin}: not valid YAML{where}: {problem}") from None


def template_in(docs: list[dict[str, Any]], kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    """A template given in the same file (a MigrationTemplate of another namespace does not count)."""
    for doc in docs:
        meta = doc.get("metadata") or {}
        if doc.get("apiVersion") != API_VERSION or doc.get("kind") != kind or meta.get("name") != name:
            continue
        if kind == CLUSTER_TEMPLATE_KIND or str(meta.get("namespace") or namespace) == namespace:
            return doc
    return None


def effective_spec(
    doc: dict[str, Any], docs: list[dict[str, Any]], origin: str, cluster: TemplateLookup | None = None
) -> ProviderMigrationSpec:
    """The spec the operator would run: with a templateRef, the template (from the file, else the cluster)
    merged exactly as the controller does (core/templates.py). Raises ValidationError or ManifestError."""
    raw = doc.get("spec")
    ref = raw.get("templateRef") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or not isinstance(ref, dict):
        return ProviderMigrationSpec.from_wire(raw)
    meta = doc.get("metadata") or {}
    kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
    namespace = str(meta.get("namespace") or "default")
    template = template_in(docs, kind, namespace, name)
    if template is None and cluster is not None and kind in (TEMPLATE_KIND, CLUSTER_TEMPLATE_KIND):
        template = cluster(kind, namespace, name)
    result = resolve(raw, template, None, datetime.now(UTC))
    if isinstance(result, Refusal):
        hint = "" if template is not None or cluster is not None else " (put it in the file, or reach a cluster)"
        raise ManifestError(f"{origin}: {KIND} {meta.get('name', '')!r}: {result.message}{hint}")
    return result.spec


@dataclass(frozen=True)
class MigrationManifest:
    name: str
    namespace: str
    spec: ProviderMigrationSpec


def parse_migrations(
    text: str, origin: str = "<manifest>", templates: TemplateLookup | None = None
) -> list[MigrationManifest]:
    docs = documents(text, origin)
    found = []
    for doc in docs:
        if doc.get("kind") != KIND or doc.get("apiVersion") != API_VERSION:
            continue
        meta = doc.get("metadata") or {}
        name = str(meta.get("name") or "")
        try:
            spec = effective_spec(doc, docs, origin, templates)
        except ValidationError as e:
            raise ManifestError(f"{origin}: {KIND} {name!r} has an invalid spec:\n{e}") from None
        found.append(MigrationManifest(name, str(meta.get("namespace") or "default"), spec))
    if not found:
        raise ManifestError(f"{origin}: no {API_VERSION} {KIND} in the file")
    return found


def read_migrations(path: Path, templates: TemplateLookup | None = None) -> list[MigrationManifest]:
    return parse_migrations(read_text(path), str(path), templates)
