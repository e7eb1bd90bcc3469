"""A ProviderMigration as the CLI reads it: typed spec and status, tolerant of what this version cannot parse.

The CLI may be older or newer than the operator that wrote the object, so reading never fails: unknown
spec fields and unreadable status fields are dropped (and listed in `problems`) instead of hiding the rest.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from provider_migration.api.constants import COMMANDS, command_annotation
from provider_migration.api.spec import ProviderMigrationSpec, Step
from provider_migration.api.status import Phase, ProviderMigrationStatus

M = TypeVar("M", bound=BaseModel)

_MAX_REPAIRS = 50


def _delete(data: Any, loc: tuple[int | str, ...]) -> bool:
    parent = data
    for key in loc[:-1]:
        try:
            parent = parent[key]
        except (KeyError, IndexError, TypeError):
            return False
    try:
        del parent[loc[-1]]
    except (KeyError, IndexError, TypeError):
        return False
    return True


def salvage(model: type[M], data: Any, drop: frozenset[str] | None = None) -> tuple[M | None, list[str]]:
    """Validate `data`, deleting one offending field at a time until it validates.

    `drop` limits which pydantic error types may be repaired by deletion (None: any). Returns the model
    (None if it cannot be repaired) and the dotted paths that were dropped.
    """
    data = copy.deepcopy(data) if isinstance(data, dict) else {}
    dropped: list[str] = []
    for _ in range(_MAX_REPAIRS):
        try:
            return model.model_validate(data), dropped
        except ValidationError as e:
            error = e.errors()[0]
            if drop is not None and error["type"] not in drop:
                return None, [*dropped, f"{'.'.join(map(str, error['loc'])) or '(object)'}: {error['msg']}"]
            loc = tuple(error["loc"])
            if error["type"] == "missing":  # a required field is missing: the object holding it goes
                loc = loc[:-1]
            if not loc or not _delete(data, loc):
                return None, [*dropped, f"{'.'.join(map(str, loc)) or '(object)'}: {error['msg']}"]
            dropped.append(".".join(map(str, loc)))
    return None, dropped


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Migration:
    name: str
    namespace: str
    created: datetime | None
    generation: int | None
    resource_version: str | None
    annotations: dict[str, str]
    spec: ProviderMigrationSpec | None
    status: ProviderMigrationStatus
    # The phase as written, which may be one this CLI version does not know.
    phase: str
    problems: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> Migration:
        meta = obj.get("metadata") or {}
        raw_status = obj.get("status")
        raw_status = raw_status if isinstance(raw_status, dict) else {}
        raw_spec = obj.get("spec")
        if isinstance(raw_spec, dict) and raw_spec.get("templateRef"):
            # A templated spec is partial: what the rollout runs on is the merge the operator recorded.
            raw_spec = raw_status.get("effectiveSpec") or raw_spec
        spec, spec_dropped = salvage(ProviderMigrationSpec, raw_spec, drop=frozenset({"extra_forbidden"}))
        status, status_dropped = salvage(ProviderMigrationStatus, raw_status)
        raw_phase = raw_status.get("phase")
        phase = raw_phase if isinstance(raw_phase, str) and raw_phase else Phase.PENDING.value
        problems = [f"spec.{p}" for p in spec_dropped] + [f"status.{p}" for p in status_dropped]
        return cls(
            name=str(meta.get("name", "")),
            namespace=str(meta.get("namespace", "")),
            created=_timestamp(meta.get("creationTimestamp")),
            generation=meta.get("generation"),
            resource_version=meta.get("resourceVersion"),
            annotations=dict(meta.get("annotations") or {}),
            spec=spec,
            status=status or ProviderMigrationStatus(),
            phase=phase,
            problems=problems,
            raw=obj,
        )

    @property
    def known_phase(self) -> Phase | None:
        try:
            return Phase(self.phase)
        except ValueError:
            return None

    @property
    def template(self) -> str | None:
        """`Kind/name` of spec.templateRef, with the resourceVersion used once the migration started."""
        ref = (self.raw.get("spec") or {}).get("templateRef")
        if not isinstance(ref, dict):
            return None
        label = f"{ref.get('kind', '')}/{ref.get('name', '')}"
        recorded = self.status.template
        return (
            f"{label} (resourceVersion {recorded.resource_version})"
            if recorded and recorded.resource_version
            else label
        )

    @property
    def steps(self) -> list[Step]:
        return list(self.spec.strategy.steps) if self.spec else []

    def requested(self, command: str) -> str | None:
        return self.annotations.get(command_annotation(command))

    def handled(self, command: str) -> str | None:
        value = getattr(self.status.handled_commands, command, None)
        return value if isinstance(value, str) else None

    def pending_commands(self) -> dict[str, str]:
        """Commands requested by annotation that the operator has not acknowledged in status yet."""
        return {c: v for c in COMMANDS if (v := self.requested(c)) and v != self.handled(c)}
