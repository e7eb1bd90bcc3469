"""The gate as the operator runs it: read the golden set and keys from the cluster, evaluate, store the table.

Synchronous (the kubernetes client is): call it off the event loop. Keys live in local variables for the
duration of the run only. A missing ConfigMap, key or Secret is the user's to fix: it comes back as verdict
Error with the reference (never a value). Other API failures raise, so the next reconcile retries.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from provider_migration.api import constants as c
from provider_migration.api.keys import secret_text
from provider_migration.api.spec import Credentials, ProviderMigrationSpec
from provider_migration.api.status import EvaluationStatus
from provider_migration.evaluation.evaluate import evaluate, results_config_map_name


class _Missing(Exception):
    """A referenced object or key is absent (message: the reference, never a value)."""


def _config_map_value(core: client.CoreV1Api, namespace: str, name: str, key: str) -> str:
    try:
        cm = core.read_namespaced_config_map(name, namespace)
    except ApiException as e:
        if e.status == 404:
            raise _Missing(f"ConfigMap {namespace}/{name} not found") from None
        raise
    data = cm.data or {}
    if key not in data:
        raise _Missing(f"ConfigMap {namespace}/{name} has no key {key!r}")
    return str(data[key])


def _secret_value(core: client.CoreV1Api, namespace: str, creds: Credentials | None) -> str | None:
    if creds is None:
        return None  # an endpoint without credentials (a local model server) is called without a key
    try:
        secret = core.read_namespaced_secret(creds.secret_name, namespace)
    except ApiException as e:
        if e.status == 404:
            raise _Missing(f"Secret {namespace}/{creds.secret_name} not found") from None
        raise
    value = secret_text(secret.data, creds.key)
    if value is None:
        raise _Missing(f"Secret {namespace}/{creds.secret_name} has no usable key {creds.key!r} (absent or not text)")
    return value


def _owner(custom: client.CustomObjectsApi, namespace: str, name: str) -> list[dict[str, Any]]:
    """The migration as owner, so the results go when it goes (none if it vanished meanwhile)."""
    try:
        body = cast(dict[str, Any], custom.get_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, name))
    except ApiException as e:
        if e.status == 404:
            return []
        raise
    return [{"apiVersion": c.API_VERSION, "kind": c.KIND, "name": name, "uid": body["metadata"]["uid"]}]


def _ours(meta: dict[str, Any], migration: str) -> bool:
    """A results ConfigMap this operator made for this migration: its labels and an owner reference to it."""
    labels = meta.get("labels") or {}
    owners = meta.get("ownerReferences") or []
    return (
        labels.get("app.kubernetes.io/managed-by") == c.FIELD_MANAGER
        and labels.get(f"{c.GROUP}/migration") == migration[:63]
        and any(o.get("kind") == c.KIND and o.get("name") == migration for o in owners if isinstance(o, dict))
    )


def _results_name_taken(core: client.CoreV1Api, namespace: str, migration: str) -> str | None:
    """Why the results ConfigMap cannot be written (an object of that name the operator did not create), or
    None. Adopting it would overwrite a team's data and hand it to the garbage collector with the migration."""
    name = results_config_map_name(migration)
    try:
        # The raw response (the client's hints name the model): only its metadata is read, never its data.
        response: Any = core.read_namespaced_config_map(name, namespace, _preload_content=False)
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    meta = json.loads(cast(bytes, response.data)).get("metadata") or {}
    if _ours(meta, migration):
        return None
    return f"ConfigMap {namespace}/{name} exists and was not created by the operator for this migration; rename it"


def _store_results(
    api: client.ApiClient, owner_api: client.ApiClient, namespace: str, migration: str, data: dict[str, str]
) -> str:
    """Server-side apply under the operator's field manager: creates or replaces the table in one call."""
    name = results_config_map_name(migration)
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": c.FIELD_MANAGER, f"{c.GROUP}/migration": migration[:63]},
            "ownerReferences": _owner(client.CustomObjectsApi(owner_api), namespace, migration),
        },
        "data": data,
    }
    client.CoreV1Api(api).patch_namespaced_config_map(
        name, namespace, body, field_manager=c.FIELD_MANAGER, force=True, _content_type=c.APPLY_PATCH
    )
    return name


def run_gate(
    api: client.ApiClient,
    namespace: str,
    name: str,
    spec: ProviderMigrationSpec,
    now: datetime,
    owner_api: client.ApiClient | None = None,
) -> EvaluationStatus:
    """Evaluate spec.evaluation for the migration `namespace/name`; the per-item table goes to a ConfigMap.
    `api` acts for the migration (its ServiceAccount); `owner_api` (default: `api`) reads the migration itself."""
    if spec.evaluation is None:
        raise ValueError("spec.evaluation is not set")
    core = client.CoreV1Api(api)
    dataset = spec.evaluation.dataset
    taken = _results_name_taken(core, namespace, name)  # before any key is read or sent
    if taken is not None:
        return EvaluationStatus(verdict="Error", completed_at=now, message=f"cannot evaluate: {taken}")
    try:
        text = _config_map_value(core, namespace, dataset.config_map, dataset.key)
        source_key = _secret_value(core, namespace, spec.source.credentials)
        target_key = _secret_value(core, namespace, spec.target.credentials)
    except _Missing as e:
        return EvaluationStatus(verdict="Error", completed_at=now, message=f"cannot evaluate: {e}")
    outcome = asyncio.run(
        evaluate(spec, text, source_key=source_key, target_key=target_key, now=now,
                 results_config_map=results_config_map_name(name))
    )  # fmt: skip
    del source_key, target_key
    if outcome.run is not None:
        try:
            _store_results(api, owner_api or api, namespace, name, outcome.results_data())
        except ApiException as e:
            # Blocks (verdict Error) rather than raising: a raise would run the paid golden set again.
            where = f"ConfigMap {namespace}/{results_config_map_name(name)}"
            return EvaluationStatus(
                verdict="Error", completed_at=now, message=f"cannot store the results in {where}: HTTP {e.status}"
            )
    else:
        outcome.status.results_config_map = None
    return outcome.status
