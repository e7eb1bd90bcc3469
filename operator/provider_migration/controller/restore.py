"""Deleting an unfinished migration: all traffic back on the source, so nothing is left half-migrated."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import TERMINAL_PHASES, Phase
from provider_migration.safetext import safe_error

from .ports import Ports

log = logging.getLogger(__name__)


def restore_source(ports: Ports, namespace: str, spec: dict[str, Any], status: dict[str, Any]) -> bool:
    """True when the route was set back to 100 % source."""
    phase = status.get("phase")
    if phase in TERMINAL_PHASES or phase in (None, Phase.PENDING):
        return False
    if spec.get("templateRef"):  # the spec the rollout ran on (core/templates.py)
        spec = status.get("effectiveSpec") or {}
    try:
        parsed = ProviderMigrationSpec.from_wire(spec)
    except ValidationError:
        return False
    route = ports.routes(namespace, parsed)
    state = route.read()
    restored = False
    if state.found and state.error is None and state.source_present and (state.target_weight or state.mirror_percent):
        route.apply_weights(100, 0, 0)
        restored = True
        log.info("%s: migration deleted mid-rollout; restored 100%% to %s", namespace, parsed.source.backend)
    if (status.get("credentials") or {}).get("targetEntryAdded") and state.found and state.error is None:
        # The (now weight-0) target entry this migration added goes too; one that was there before it stays.
        try:
            route.remove_target()
        except Exception as e:
            log.warning("%s: could not remove the target entry it added (%s)", namespace, safe_error(e))
    if restored or not state.target_weight:
        # The target key this migration projected goes too (never one that was there before it). Best effort:
        # a refusal (the namespace revoked the grant) must not keep the migration from being deleted.
        try:
            ports.credentials(namespace, parsed).withdraw_target()
        except Exception as e:
            log.warning("%s: could not withdraw the projected target key (%s)", namespace, safe_error(e))
    return restored
