"""MigrationTemplate (namespaced) and ClusterMigrationTemplate (v1alpha1): a rollout policy written once.

A template holds any of strategy, analysis, evaluation, cleanup and notifications. A ProviderMigration names one in
`spec.templateRef` and states only what differs; core/templates.py merges the two (maps merge, lists replace,
the migration wins) and the merged spec is judged by ProviderMigrationSpec, exactly like a spec without a
template. A template is partial on purpose (a team's Prometheus URL may live in each migration), so its own
schema checks only what holds on its own: types, bounds and the rules that read fields it sets.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from .base import ApiModel, cel
from .spec import Analysis, Cleanup, Evaluation, NotificationSubscription, Strategy, TemplateRef, with_cel

NO_CHAIN = "templates do not reference templates: a template cannot have a templateRef"


class MigrationTemplateSpec(ApiModel):
    """The shared part of a migration; route, source, target and credentials always come from the migration."""

    model_config = with_cel(cel("!has(self.templateRef)", NO_CHAIN, field_path=".templateRef"))

    description: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None, description="What the policy is for, in words (kubectl get DESCRIPTION)."
    )
    template_ref: TemplateRef | None = Field(
        default=None, description="Refused when set: a template never builds on another template."
    )
    strategy: Strategy | None = Field(default=None, description="The steps; a migration's steps replace them.")
    analysis: Analysis | None = Field(
        default=None, description="Metric analysis: preset, queries, thresholds, custom criteria."
    )
    evaluation: Evaluation | None = Field(default=None, description="Golden-set gate before any traffic moves.")
    cleanup: Cleanup | None = Field(default=None, description="Stabilization and clean-up at the end.")
    notifications: list[NotificationSubscription] | None = Field(
        default=None, max_length=10, description="Notification services to tell; a migration's list replaces it."
    )

    @model_validator(mode="after")
    def _no_chain(self) -> MigrationTemplateSpec:
        if self.template_ref is not None:
            raise ValueError(NO_CHAIN)
        return self
