"""kopf handlers: thin glue. One driver loop (a kopf daemon) per migration calls `reconcile` in a thread.

Why a daemon and not a timer: it sleeps exactly as long as the decision asks (the rest of a pause, the next
analysis) and wakes at once on a spec edit or a command annotation, so a thousand idle migrations cost
almost nothing and `pmo abort` acts within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import socket
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import kopf

from provider_migration.api import constants as c
from provider_migration.api.reasons import EventReason
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.connection_errors import known_cause
from provider_migration.core.decide import MAX_WAIT

from . import metrics
from .claims import Claim, claim_key, holder
from .health import Heartbeat
from .ports import Ports
from .reconcile import ActionFailed, commands_of, reconcile
from .restore import restore_source

log = logging.getLogger(__name__)
RESOURCE = (c.GROUP, c.VERSION, c.PLURAL)
ERROR_RETRY = 5.0  # seconds before retrying a tick that raised
IDLE_WAIT = 3600.0  # terminal phases: nothing to do until a change wakes the driver

heartbeat = Heartbeat(stale_after=10 * MAX_WAIT)
_ports: Ports | None = None


def install(ports: Ports) -> None:
    """Set the adapters the handlers use (called by `pmo run` before kopf starts)."""
    global _ports
    _ports = ports


def ports() -> Ports:
    if _ports is None:
        raise RuntimeError("controller ports not installed; start the operator with `pmo run`")
    return _ports


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # Our own prefix for kopf's bookkeeping, so another kopf operator never mistakes it for its own.
    settings.persistence.finalizer = f"{c.GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=c.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=c.GROUP, key="last-handled-configuration"
    )
    settings.scanning.disabled = True  # no CRD/namespace discovery: least-privilege RBAC
    settings.posting.level = logging.WARNING  # we post one Event per transition ourselves
    # Events say who wrote them (`kubectl describe` "From", `kubectl events`): this operator, not kopf.
    settings.posting.reporting_component = c.FIELD_MANAGER
    settings.posting.reporting_instance = os.environ.get("POD_NAME") or socket.gethostname()
    settings.posting.event_name_prefix = f"{c.SINGULAR}-"
    settings.watching.server_timeout = 300
    # The kubernetes and Prometheus clients are synchronous: ticks run in threads, more than the default few.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="pmo-tick"))


def in_cluster_server(environ: Mapping[str, str]) -> str | None:
    """The API server's address in a pod, from KUBERNETES_SERVICE_HOST/PORT as client-go and the kubernetes
    client read it. kopf's own service-account login assumes https://kubernetes.default.svc, which only
    cluster DNS resolves (not a hostNetwork pod with the default DNS policy, nor a container on a host)."""
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        return None
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """In a pod, the ServiceAccount; elsewhere the kubeconfig named by KUBECONFIG (read now, not at import)."""
    info = kopf.login_with_service_account(**kwargs)
    if info is None:
        return kopf.login_with_kubeconfig(**kwargs)
    server = in_cluster_server(os.environ)
    return dataclasses.replace(info, server=server) if server else info


@kopf.index(*RESOURCE)
def route_claims(
    namespace: str | None, name: str, spec: Any, status: Any, meta: Any, **_: Any
) -> dict[Any, Claim] | None:
    key = claim_key(namespace, dict(spec)) if namespace is not None else None
    if key is None:
        return None
    return {key: (str(meta.get("creationTimestamp", "")), name, str(dict(status).get("phase", "")))}


@kopf.on.event(*RESOURCE)
def wake_on_change(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Wake the driver when the user changed something (spec or a command), not on our own status writes."""
    seen = (body.metadata.get("generation"), tuple(sorted(commands_of(dict(body)).items())))
    if memo.get("seen") != seen:
        memo["seen"] = seen
        _wake_event(memo).set()


@kopf.on.probe(id="ticks")
def tick_health(**_: Any) -> dict[str, float | int]:
    return heartbeat.check()


@kopf.daemon(*RESOURCE, initial_delay=lambda **_: random.uniform(0, 1), cancellation_timeout=10.0)
async def drive(
    namespace: str | None,
    name: str,
    spec: kopf.Spec,
    status: kopf.Status,
    memo: kopf.Memo,
    stopped: kopf.DaemonStopped,
    **kwargs: Any,
) -> None:
    assert namespace is not None  # ProviderMigration is a namespaced resource
    route_claims: kopf.Index[Any, Claim] = kwargs["route_claims"]  # kopf passes each index under its name
    wake = _wake_event(memo)
    counted = False  # whether this driver counts as active for the liveness check (terminal ones idle)
    try:
        while not stopped:
            wake.clear()
            wait = await _tick(namespace, name, route_claims)
            if wait is None:
                return  # the migration is gone
            heartbeat.beat()
            if counted != (wait < IDLE_WAIT):
                counted = not counted
                heartbeat.active += 1 if counted else -1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=wait)
    finally:
        if counted:
            heartbeat.active -= 1
        if stopped.reason is not None and kopf.DaemonStoppingReason.RESOURCE_DELETED in stopped.reason:
            # Here rather than in an on.delete handler, which would make kopf store a copy of every spec in an
            # annotation. kopf's finalizer keeps the object until this returns.
            await asyncio.shield(asyncio.to_thread(restore_source, ports(), namespace, dict(spec), dict(status)))
            metrics.DEFAULT.forget(namespace, name)


async def _tick(namespace: str, name: str, claims_index: kopf.Index) -> float | None:
    """Seconds until the next tick, or None when the migration no longer exists."""

    def claims(ns: str, spec: ProviderMigrationSpec, me: str) -> str | None:
        key = (ns, spec.route.kind, spec.route.name, spec.route.model_name)
        return holder(list(claims_index.get(key, [])), me)

    try:
        with metrics.DEFAULT.time_reconcile():
            result = await asyncio.to_thread(reconcile, ports(), namespace, name, claims)
    except Exception as e:  # a tick must never kill the loop: log what failed (never a body), retry
        # A fixed phrase for a connection failure ("connection refused"), never the exception's own text.
        detail = (
            str(e) if isinstance(e, ActionFailed) else getattr(e, "status", None) or known_cause(e) or type(e).__name__
        )
        log.warning("%s/%s: tick failed (%s); retrying in %ss", namespace, name, detail, ERROR_RETRY)
        metrics.DEFAULT.record_error(namespace, name)
        return ERROR_RETRY
    if result is None:
        metrics.DEFAULT.forget(namespace, name)
        return None
    if result.failure is not None:  # recorded in status with its backoff (reconcile logged it)
        metrics.DEFAULT.record_error(namespace, name)
    metrics.record_status(namespace, name, result.status)  # also counts each new analysis once
    for event in result.events:
        message = f"{event.message} (by {event.by})" if event.by else event.message
        kopf.event(cast(kopf.Body, result.body), type=event.type, reason=event.reason, message=message)
        if event.reason == EventReason.ROLLING_BACK:
            metrics.record_rollback(namespace, name, result.status.reason or "Unknown")
    return result.requeue_after if result.requeue_after is not None else IDLE_WAIT


def _wake_event(memo: kopf.Memo) -> asyncio.Event:
    event = memo.get("wake")
    if event is None:
        event = memo["wake"] = asyncio.Event()
    return event  # type: ignore[no-any-return]
