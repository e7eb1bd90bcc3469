"""Templates: merging a migration over its template, and judging the result. Pure: no I/O.

Merge rules (docs/architecture.md, "Templates"): maps merge key by key, recursively; lists replace whole
(steps, custom criteria, scorers: never element by element); any other value the migration sets wins. A
template contributes only strategy, analysis, evaluation, cleanup and notifications; route, source, target,
gatewaySecret, serviceAccountName, paused and templateRef are the migration's alone. Templates never reference
templates.

The template is read once, when the migration starts, and recorded in status.template (kind, name,
resourceVersion, spec); from then on the effective spec is `merge(status.template.spec, live migration spec)`,
so a later edit of the template applies only to migrations started afterwards, the migration's own edits
(`pmo pause`, a tightened threshold) apply as they do without a template, and a restarted operator resumes
with exactly what it used before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from provider_migration.api.reasons import BlockedReason, EventReason
from provider_migration.api.spec import TEMPLATE_SECTIONS, ProviderMigrationSpec
from provider_migration.api.status import HISTORY_LIMIT, HistoryEntry, Phase, ProviderMigrationStatus, TemplateStatus
from provider_migration.api.template import NO_CHAIN

from .actions import Event
from .conditions import conditions_for
from .decide import ACTIVE_WAIT, Decision

# What a template may carry besides the sections (documentation only, never merged).
TEMPLATE_ONLY = frozenset({"description"})


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` over `base`: maps merge, lists and scalars replace, an absent or null value inherits."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if value is None:
            continue
        inherited = merged.get(key)
        if isinstance(value, Mapping) and isinstance(inherited, Mapping):
            merged[key] = merge(inherited, value)
        else:
            merged[key] = value
    return merged


def template_sections(template_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a template's spec that merges into a migration."""
    return {k: v for k, v in template_spec.items() if k in TEMPLATE_SECTIONS and v is not None}


def effective_wire(template_spec: Mapping[str, Any], migration_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The merged spec as it would be stored: the template's sections under the migration's spec."""
    return merge(template_sections(template_spec), migration_spec)


@dataclass(frozen=True)
class Refusal:
    """Why a templated migration cannot start: a typed reason and the message naming the field path."""

    reason: BlockedReason
    message: str


@dataclass(frozen=True)
class Resolved:
    spec: ProviderMigrationSpec
    wire: dict[str, Any]  # status.effectiveSpec
    template: TemplateStatus


def field_path(loc: tuple[int | str, ...], root: str = "spec") -> str:
    path = root
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def describe_errors(error: ValidationError, root: str = "spec", limit: int = 5) -> str:
    return "; ".join(f"{field_path(tuple(e['loc']), root)}: {e['msg']}" for e in error.errors()[:limit])


def template_problem(template_spec: Mapping[str, Any]) -> str | None:
    """What makes a template unusable on its own (the CRD refuses both; a file given to `pmo` may not)."""
    if template_spec.get("templateRef") is not None:
        return f"spec.templateRef: {NO_CHAIN}"
    unknown = sorted(set(template_spec) - set(TEMPLATE_SECTIONS) - TEMPLATE_ONLY)
    if unknown:
        return f"spec.{unknown[0]}: a template holds only {', '.join(TEMPLATE_SECTIONS)}; this is the migration's"
    return None


def resolve(
    migration_spec: Mapping[str, Any],
    template: Mapping[str, Any] | None,
    recorded: TemplateStatus | None,
    now: datetime,
) -> Resolved | Refusal:
    """The effective spec of a migration with a spec.templateRef.

    `recorded` (status.template) wins over `template` (the object as read now): once recorded, the template is
    never read again. Without a record, `template` is the object from the API (None: not found)."""
    ref = migration_spec.get("templateRef") or {}
    kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
    if recorded is None:
        if template is None:
            where = "cluster-wide" if kind == "ClusterMigrationTemplate" else "in the migration's namespace"
            return Refusal(BlockedReason.TEMPLATE_NOT_FOUND, f"spec.templateRef: {kind} {name} not found {where}")
        body = template.get("spec") or {}
        problem = template_problem(body)
        if problem is not None:
            return Refusal(BlockedReason.TEMPLATE_INVALID, f"{kind} {name}: {problem}")
        recorded = TemplateStatus(
            kind=kind,
            name=name,
            resource_version=str((template.get("metadata") or {}).get("resourceVersion", "")),
            resolved_at=now,
            spec=template_sections(body),
        )
    wire = effective_wire(recorded.spec, migration_spec)
    try:
        spec = ProviderMigrationSpec.from_wire(wire)
    except ValidationError as e:
        message = f"{describe_errors(e)} (the merge of {kind} {name} and this migration)"
        return Refusal(BlockedReason.TEMPLATE_MERGE_INVALID, message[:4096])
    # The effective spec stands alone (no templateRef): what a run without the template would be given.
    spec = spec.model_copy(update={"template_ref": None})
    return Resolved(spec=spec, wire=spec.to_wire(), template=recorded)


def blocked(status: ProviderMigrationStatus, refusal: Refusal, generation: int, now: datetime) -> Decision:
    """A templated migration whose effective spec cannot be had: Blocked with the path, nothing touched
    (no effect at all: the route and the Secrets stay as they are). Checked again every few seconds, so a
    template that appears or a fixed spec lets it start."""
    st = status.model_copy(update={"history": list(status.history)})
    events: list[Event] = []
    if st.phase != Phase.BLOCKED or st.reason != refusal.reason or st.message != refusal.message:
        st.phase, st.reason, st.message = Phase.BLOCKED, refusal.reason, refusal.message
        st.started_at = st.started_at or now
        st.history.append(
            HistoryEntry(
                time=now,
                phase=st.phase,
                step=st.current_step,
                weight=st.current_weight,
                reason=EventReason.BLOCKED,
                message=refusal.message,
            )
        )
        del st.history[:-HISTORY_LIMIT]
        events.append(Event("Warning", EventReason.BLOCKED, refusal.message))
    st.observed_generation = generation
    st.conditions = conditions_for(st, generation, now)
    return Decision(effects=[], events=events, status=st, requeue_after=ACTIVE_WAIT)


def recorded(status: ProviderMigrationStatus) -> Decision:
    """The tick that first reads the template only records it: written (compare-and-swap) before any decision
    can move traffic, so a lost write never lets traffic move on a template the status does not hold."""
    return Decision(effects=[], events=[], status=status, requeue_after=0.0)
