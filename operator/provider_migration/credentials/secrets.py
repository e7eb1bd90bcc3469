"""Provider keys in Kubernetes Secrets: the user's source/target Secrets and the gateway's Secret.

Values live only in local variables of these methods: never in a return value, an exception, a log line or
an attribute. Kubernetes API errors are re-raised as CredentialError carrying only status and reason, since
an API error body may quote the object it refused.

Server-side apply ownership (field manager provider-migration-operator): `data.<target gateway key>` of the
gateway Secret, nothing else. The source key is removed from the gateway Secret with a JSON patch guarded by
the resourceVersion it was read at; the user's own source and target Secrets are only ever read.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from provider_migration.api.constants import APPLY_PATCH, FIELD_MANAGER
from provider_migration.api.keys import gateway_key_name, secret_value
from provider_migration.api.spec import Endpoint, ProviderMigrationSpec
from provider_migration.core.observations import SecretsState

from .base import CredentialManager
from .keys import checksum

log = logging.getLogger(__name__)

JSON_PATCH = "application/json-patch+json"


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
        return SecretsState(
            missing=tuple(missing),
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
        if secret_value(_data(gateway), self.target_gateway_key) == value:
            return
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": self.namespace},
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
        gateway = self._get(self.gateway_secret, {})
        if gateway is None or self.source_gateway_key not in _data(gateway):
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

    # -- helpers --

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


def _pointer(key: str) -> str:
    """RFC 6901 escaping of one JSON pointer segment."""
    return key.replace("~", "~0").replace("/", "~1")


def credential_manager(api_client: client.ApiClient, namespace: str, spec: ProviderMigrationSpec) -> CredentialManager:
    """The CredentialManager bound to one migration (synchronous client: call it off the event loop)."""
    return SecretCredentialManager(api_client, namespace, spec)
