"""ProviderMigrations from a YAML file that may hold other objects (Secrets, ConfigMaps, routes) too."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from provider_migration.api.constants import API_VERSION, KIND
from provider_migration.api.spec import ProviderMigrationSpec


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


@dataclass(frozen=True)
class MigrationManifest:
    name: str
    namespace: str
    spec: ProviderMigrationSpec


def parse_migrations(text: str, origin: str = "<manifest>") -> list[MigrationManifest]:
    docs = documents(text, origin)
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
    return parse_migrations(read_text(path), str(path))
