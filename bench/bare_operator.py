"""A bare kopf operator over ProviderMigrations: the framework's own cost, for bench/scale.py's ratios.

Same kopf settings as `pmo run` (no scanning, own finalizer prefix, 5-minute watches), the same kinds of
handlers (an event handler, a daemon per object), and nothing inside them. Run by scale.py as
`python -m kopf run --standalone -n NS bench/bare_operator.py`. BENCH_BARE_HANDLERS=event leaves the
daemon out (bench/kopf_memory.py uses it to tell the per-object daemon's memory from the watch's).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import kopf

RESOURCE = ("migrations.llmops.dev", "v1alpha1", "providermigrations")
HANDLERS = set(os.environ.get("BENCH_BARE_HANDLERS", "event,daemon").split(","))


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.finalizer = "bench.llmops.dev/bare-finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="bench.llmops.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="bench.llmops.dev")
    settings.scanning.disabled = True
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300


if "event" in HANDLERS:

    @kopf.on.event(*RESOURCE)
    def seen(**_: Any) -> None:
        pass


if "daemon" in HANDLERS:

    @kopf.daemon(*RESOURCE, cancellation_timeout=10.0)
    async def idle(stopped: kopf.DaemonStopped, **_: Any) -> None:
        while not stopped:
            await stopped.wait(3600)
