"""Provider keys in Kubernetes Secrets: the user's source/target Secrets and the gateway's Secret.

Values live only in local variables of these methods: never in a return value, an exception, a log line or
an attribute. Kubernetes API errors are re-raised as CredentialError carrying only status and reason, since
an API error body may quote the object it refused.

Server-side apply ownership (field manager provider-migration-operator): `data.<target gateway key>` of the
gateway Secret and the annotation `projected.migrations.llmops.dev/<key>` naming the route it was projected
for, nothing else. A gateway key holding anything the operator did not project there (another team's value,
another migration's projection) is never overwritten: it is a conflict that blocks the migration. A key that
already held the target's value is left as it is, and stays on rollback; only a key this migration projected
is withdrawn. The source key is removed only while it holds the source's own key, with a JSON patch guarded by
the resourceVersion it was read at; the user's own source and target Secrets are only ever read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from provider_migration.api.constants import APPLY_PATCH, FIELD_MANAGER, GROUP
from provider_migration.api.keys import gateway_key_name, secret_value
from provider_migration.api.spec import Endpoint, ProviderMigrationSpec
from provider_migration.core.observations import SecretsState

from .base import CredentialManager
from .keys import checksum

log = logging.getLogger(__name__)

JSON_PATCH = "application/json-patch+json"


def projection_annotation(key: str) -> str:
    """The gateway Secret's annotation recording who projected `key` (an annotation name is at most 63
    characters and starts and ends alphanumeric; other keys are named by their hash)."""
    plain = len(key) <= 63 and key[:1].isalnum() and key[-1:].isalnum()
    return f"projected.{GROUP}/" + (key if plain else "sha256-" + hashlib.sha256(key.encode()).hexdigest()[:40])


class CredentialError(Exception):
    """A credential operation could not be done; the message names Secrets and keys, never values."""


@dataclass(frozen=True)
class _Ref:
    secret: str
    key: str
    role: str  # "source", "target", "gateway"


class SecretCredentialManager:
    def __init__(self, api_client: client.ApiClient, namespace: str, spec: ProviderMigrationSpec) -> None:
        self.core = client.CoreV1Api(api_client)
        self.namespace = namespace
        self.spec = spec
        self.gateway_secret = spec.gateway_secret
        self.source = self._user_ref(spec.source, "source")
        self.target = self._user_ref(spec.target, "target")
        self.source_gateway_key = gateway_key_name(spec.source, spec.route.kind)
        self.target_gateway_key = gateway_key_name(spec.target, spec.route.kind)
        # Who a projection belongs to: the route and model this migration drives (one active migration each).
        self.holder = f"{spec.route.kind}/{spec.route.name}/{spec.route.model_name}"[:1024]

    # -- CredentialManager --

    def read(self) -> SecretsState:
        missing: list[str] = []
        cache: dict[str, dict[str, Any] | None] = {}
        source_value = self._value(self.source, cache, missing)
        target_value = self._value(self.target, cache, missing)
        gateway = None
        if self.gateway_secret and (self.source or self.target):
            gateway = self._get(self.gateway_secret, cache)
            if gateway is None:
                missing.append(f"{self._describe(self.gateway_secret)} (gateway secret)")
        if self._collides(source_value, target_value):
            missing.append(self._collision())
        gateway_data = _data(gateway) if gateway is not None else {}
        conflict, existed = self._target_slot(gateway, target_value)
        source_now = secret_value(gateway_data, self.source_gateway_key) if self._source_slot() else None
        return SecretsState(
            missing=tuple(missing),
            target_key_conflict=conflict,
            target_key_existed=existed,
            source_key_foreign=source_value is not None
            and self.source_gateway_key in gateway_data
            and source_now != source_value,
            source_checksum=checksum(source_value) if source_value is not None else None,
            target_checksum=checksum(target_value) if target_value is not None else None,
            target_projected=self.target is None
            or (target_value is not None and secret_value(gateway_data, self.target_gateway_key) == target_value),
            source_in_gateway=self._source_slot() and self.source_gateway_key in gateway_data,
        )

    def project_target(self) -> None:
        if self.target is None:
            return
        name = self.gateway_secret
        cache: dict[str, dict[str, Any] | None] = {}
        missing: list[str] = []
        value = self._value(self.target, cache, missing)
        gateway = self._get(name, cache) if name else None
        if gateway is None:
            missing.append(f"{self._describe(name)} (gateway secret)" if name else "spec.gatewaySecret")
        if name is None or value is None or gateway is None:
            raise CredentialError("cannot project the target key: missing " + ", ".join(missing))
        if self._collides(self._value(self.source, cache, []), value):
            raise CredentialError(f"cannot project the target key: {self._collision()}")
        conflict, _ = self._target_slot(gateway, value)
        if conflict is not None:
            raise CredentialError(f"cannot project the target key: {conflict}")
        if secret_value(_data(gateway), self.target_gateway_key) == value:
            return
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "annotations": {projection_annotation(self.target_gateway_key): self.holder},
            },
            "data": {self.target_gateway_key: base64.b64encode(value).decode()},
        }
        self._call(
            "project the target key into",
            lambda: self.core.patch_namespaced_secret(
                name,
                self.namespace,
                body,
                field_manager=FIELD_MANAGER,
                force=True,
                _content_type=APPLY_PATCH,
                _preload_content=False,
            ),
        )
        key, sha = self.target_gateway_key, checksum(value)
        log.info("projected the target key into %s key %s (checksum %s)", self._describe(name), key, sha)

    def decommission_source(self) -> None:
        if self.source is None or not self.gateway_secret or not self._source_slot():
            return
        if self.source.secret == self.gateway_secret:
            raise CredentialError(
                f"not removing {self.source_gateway_key} from {self._describe(self.gateway_secret)}: "
                "it is the source's own Secret"
            )
        cache: dict[str, dict[str, Any] | None] = {}
        gateway = self._get(self.gateway_secret, cache)
        if gateway is None or self.source_gateway_key not in _data(gateway):
            return
        if secret_value(_data(gateway), self.source_gateway_key) != self._value(self.source, cache, []):
            log.warning(
                "kept key %s of %s: it does not hold the source's key",
                self.source_gateway_key,
                self._describe(self.gateway_secret),
            )
            return
        patch = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": gateway["metadata"]["resourceVersion"]},
            {"op": "remove", "path": "/data/" + _pointer(self.source_gateway_key)},
        ]
        self._call(
            "remove the source key from",
            lambda: self.core.patch_namespaced_secret(
                self.gateway_secret, self.namespace, patch, _content_type=JSON_PATCH, _preload_content=False
            ),
        )
        log.info("removed key %s from %s", self.source_gateway_key, self._describe(self.gateway_secret))

    def withdraw_target(self) -> None:
        """Remove the target key from the gateway Secret if this migration projected it (its annotation says
        so); a key that was there before, or another migration's, stays."""
        if self.target is None or not self.gateway_secret:
            return
        gateway = self._get(self.gateway_secret, {})
        annotation = projection_annotation(self.target_gateway_key)
        if gateway is None or _annotations(gateway).get(annotation) != self.holder:
            return
        patch: list[dict[str, Any]] = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": gateway["metadata"]["resourceVersion"]},
            {"op": "remove", "path": "/metadata/annotations/" + _pointer(annotation)},
        ]
        if self.target_gateway_key in _data(gateway):
            patch.append({"op": "remove", "path": "/data/" + _pointer(self.target_gateway_key)})
        self._call(
            "withdraw the target key from",
            lambda: self.core.patch_namespaced_secret(
                self.gateway_secret, self.namespace, patch, _content_type=JSON_PATCH, _preload_content=False
            ),
        )
        log.info("withdrew key %s from %s", self.target_gateway_key, self._describe(self.gateway_secret))

    # -- helpers --

    def _target_slot(self, gateway: dict[str, Any] | None, target_value: bytes | None) -> tuple[str | None, bool]:
        """(conflict, existed) for the target's gateway key: a reason when it holds something this migration
        did not put there; existed when it already held the target's value without the operator."""
        key = self.target_gateway_key
        if self.target is None or gateway is None or target_value is None or key not in _data(gateway):
            return None, False
        if self.source is not None and not self._source_slot():
            return None, False  # one slot for both arms: _collides judges it
        where = f"{self._describe(self.gateway_secret or '')} key {key}"
        holder = _annotations(gateway).get(projection_annotation(key))
        if holder == self.holder:
            return None, False
        if holder is not None:
            return f"{where} was projected for another migration ({holder}); give this one its own gatewayKey", False
        if secret_value(_data(gateway), key) == target_value:
            return None, True
        return (
            f"{where} already holds a value the operator did not project there; "
            "set target.credentials.gatewayKey to a free key (or remove that key yourself)",
            False,
        )

    @staticmethod
    def _user_ref(endpoint: Endpoint, role: str) -> _Ref | None:
        creds = endpoint.credentials
        return _Ref(creds.secret_name, creds.key, role) if creds is not None else None

    def _source_slot(self) -> bool:
        """The source's gateway key is its own: not the target's (then the slot carries the target's key)."""
        return self.source is not None and not (
            self.target is not None and self.source_gateway_key == self.target_gateway_key
        )

    def _collides(self, source_value: bytes | None, target_value: bytes | None) -> bool:
        """Both arms read the same gateway key but hold different keys: projecting would cut off the source."""
        return (
            self.source is not None
            and self.target is not None
            and self.source_gateway_key == self.target_gateway_key
            and source_value is not None
            and target_value is not None
            and source_value != target_value
        )

    def _collision(self) -> str:
        return (
            f"{self._describe(self.gateway_secret or '')} key {self.target_gateway_key} would hold both the source "
            "and the target provider key; set target.credentials.gatewayKey"
        )

    def _describe(self, name: str) -> str:
        return f"Secret {self.namespace}/{name}"

    def _value(self, ref: _Ref | None, cache: dict[str, dict[str, Any] | None], missing: list[str]) -> bytes | None:
        if ref is None:
            return None
        secret = self._get(ref.secret, cache)
        if secret is None:
            missing.append(f"{self._describe(ref.secret)} ({ref.role} credentials)")
            return None
        value = secret_value(_data(secret), ref.key)
        if value is None:
            missing.append(f"{self._describe(ref.secret)} key {ref.key} ({ref.role} credentials)")
            return None
        return value

    def _get(self, name: str, cache: dict[str, dict[str, Any] | None]) -> dict[str, Any] | None:
        if name not in cache:
            response = self._call(
                "read",
                lambda: self.core.read_namespaced_secret(name, self.namespace, _preload_content=False),
                name=name,
                absent_ok=True,
            )
            cache[name] = json.loads(response.data) if response is not None else None
        return cache[name]

    def _call(self, what: str, request: Any, name: str | None = None, absent_ok: bool = False) -> Any:
        name = name or self.gateway_secret or ""
        try:
            return request()
        except client.ApiException as e:
            if absent_ok and e.status == 404:
                return None
            # Status and reason only: the body may quote the Secret.
            raise CredentialError(f"could not {what} {self._describe(name)}: HTTP {e.status} {e.reason}") from None


def _data(secret: dict[str, Any]) -> dict[str, str]:
    return secret.get("data") or {}


def _annotations(secret: dict[str, Any]) -> dict[str, str]:
    return (secret.get("metadata") or {}).get("annotations") or {}


def _pointer(key: str) -> str:
    """RFC 6901 escaping of one JSON pointer segment."""
    return key.replace("~", "~0").replace("/", "~1")


def credential_manager(api_client: client.ApiClient, namespace: str, spec: ProviderMigrationSpec) -> CredentialManager:
    """The CredentialManager bound to one migration (synchronous client: call it off the event loop)."""
    return SecretCredentialManager(api_client, namespace, spec)
