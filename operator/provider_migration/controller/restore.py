"""Deleting an unfinished migration: all traffic back on the source, so nothing is left half-migrated."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import TERMINAL_PHASES, Phase

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
    if not state.found or state.error is not None or not state.source_present:
        return False
    if state.target_weight == 0 and state.mirror_percent == 0:
        return False
    route.apply_weights(100, 0, 0)
    log.info("%s: migration deleted mid-rollout; restored 100%% to %s", namespace, parsed.source.backend)
    return True
