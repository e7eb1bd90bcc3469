"""ProviderMigrations from a YAML file that may hold other objects (Secrets, ConfigMaps, routes) too."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from provider_migration.api.constants import API_VERSION, KIND
from provider_migration.api.spec import ProviderMigrationSpec


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class MigrationManifest:
    name: str
    namespace: str
    spec: ProviderMigrationSpec


def parse_migrations(text: str, origin: str = "<manifest>") -> list[MigrationManifest]:
    try:
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError as e:
        raise ManifestError(f"{origin}: not valid YAML: {e}") from None
    found = []
    for doc in docs:
        if doc.get("kind") != KIND or doc.get("apiVersion") != API_VERSION:
            continue
        meta = doc.get("metadata") or {}
        name = str(meta.get("name") or "")
        try:
            spec = ProviderMigrationSpec.from_wire(doc.get("spec"))
        except ValidationError as e:
            raise ManifestError(f"{origin}: {KIND} {name!r} has an invalid spec:\n{e}") from None
        found.append(MigrationManifest(name, str(meta.get("namespace") or "default"), spec))
    if not found:
        raise ManifestError(f"{origin}: no {API_VERSION} {KIND} in the file")
    return found


def read_migrations(path: Path) -> list[MigrationManifest]:
    return parse_migrations(path.read_text(encoding="utf-8"), str(path))
