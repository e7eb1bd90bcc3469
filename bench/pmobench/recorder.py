"""Turns the watchers' changes into small per-migration records: the route's weights, the gateway Secret's
keys and the migration's status, each with the resourceVersion and the moment it was seen."""

from __future__ import annotations

import base64
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import yaml

from .watch import Change
from .world import MODEL_NAME, TARGET_KEY, Names

TERMINAL = ("Succeeded", "RolledBack", "Failed")


@dataclass(frozen=True)
class RouteSample:
    rv: int
    seen_at: float
    source: int | None  # raw LiteLLM weight of the source entry; None when the entry is absent
    target: int | None
    relisted: bool = False
    error: str | None = None

    @property
    def target_share(self) -> int:
        """Target percent as LiteLLM's simple-shuffle would pick it (our own reading, not the operator's)."""
        total = (self.source or 0) + (self.target or 0)
        return 0 if total == 0 else round(100 * (self.target or 0) / total)


@dataclass(frozen=True)
class SecretSample:
    rv: int
    seen_at: float
    target_projected: bool  # the gateway Secret holds the target's key value
    source_present: bool
    relisted: bool = False


@dataclass
class MigrationTrack:
    status: dict[str, Any] = field(default_factory=dict)
    phases: list[tuple[float, str]] = field(default_factory=list)  # (seen_at, phase) on every phase change
    status_changes: int = 0  # distinct statuses seen (each is one effective status write)

    @property
    def phase(self) -> str | None:
        return self.status.get("phase")


def index_of(name: str, prefix: str) -> int | None:
    if not name.startswith(prefix):
        return None
    tail = name[len(prefix) :]
    return int(tail) if tail.isdigit() else None


def route_sample(change: Change, names: Names) -> RouteSample:
    text = ((change.obj or {}).get("data") or {}).get("config.yaml", "")
    try:
        config = yaml.safe_load(text) or {}
        weights: dict[str, int] = {}
        for entry in config.get("model_list") or []:
            if entry.get("model_name") == MODEL_NAME:
                backend = (entry.get("model_info") or {}).get("id")
                weights[str(backend)] = int((entry.get("litellm_params") or {}).get("weight", 0))
    except (yaml.YAMLError, AttributeError, TypeError, ValueError) as e:
        return RouteSample(change.rv, change.seen_at, None, None, change.relisted, f"unreadable: {type(e).__name__}")
    return RouteSample(
        change.rv,
        change.seen_at,
        weights.get(names.source_backend),
        weights.get(names.target_backend),
        change.relisted,
    )


def secret_sample(change: Change) -> SecretSample:
    data = (change.obj or {}).get("data") or {}
    target = data.get("ANTHROPIC_API_KEY")
    projected = target is not None and base64.b64decode(target).decode(errors="replace") == TARGET_KEY
    return SecretSample(change.rv, change.seen_at, projected, "OPENAI_API_KEY" in data, change.relisted)


class Recorder:
    """Thread-safe: the watchers call `on_change` from their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.routes: dict[int, list[RouteSample]] = defaultdict(list)
        self.secrets: dict[int, list[SecretSample]] = defaultdict(list)
        self.migrations: dict[int, MigrationTrack] = defaultdict(MigrationTrack)
        self.listeners: list[Any] = []  # callables(index, RouteSample) for the chaos runner's metric injection

    def on_change(self, change: Change) -> None:
        if change.obj is None:
            return
        if change.kind == "configmaps" and (i := index_of(change.name, "gw-")) is not None:
            sample = route_sample(change, Names.of(i))
            with self.lock:
                self.routes[i].append(sample)
            for listener in self.listeners:
                listener(i, sample)
        elif change.kind == "secrets" and (i := index_of(change.name, "gw-keys-")) is not None:
            with self.lock:
                self.secrets[i].append(secret_sample(change))
        elif change.kind == "providermigrations" and (i := index_of(change.name, "mig-")) is not None:
            status = change.obj.get("status") or {}
            with self.lock:
                track = self.migrations[i]
                if status != track.status:
                    track.status_changes += 1
                if status.get("phase") != track.phase:
                    track.phases.append((change.seen_at, str(status.get("phase"))))
                track.status = status

    def phases(self) -> dict[int, str | None]:
        with self.lock:
            return {i: t.phase for i, t in self.migrations.items()}

    def terminal(self, indices: list[int]) -> int:
        phases = self.phases()
        return sum(1 for i in indices if phases.get(i) in TERMINAL)

    def holding(self, indices: list[int], step: int = 0) -> int:
        """Migrations progressing at `step` (a hold: a long pause there)."""
        with self.lock:
            tracks = [self.migrations[i] for i in indices if i in self.migrations]
            return sum(1 for t in tracks if t.phase == "Progressing" and t.status.get("currentStep") == step)

    def status_changes(self) -> int:
        with self.lock:
            return sum(t.status_changes for t in self.migrations.values())
