"""Whose authority a migration acts with, and where it may send credentials.

The model (docs/architecture.md, "Authority"), as Flux's `spec.serviceAccountName`: every read and write of a
tenant object (routing object, gateway Secret, provider key Secrets, reload Deployment, evaluation ConfigMaps,
the Prometheus auth Secret) is made as a ServiceAccount of the migration's own namespace, by impersonation,
so that namespace's RBAC decides what a migration may touch. The operator's own identity only serves
ProviderMigrations, posts Events and impersonates. Separately, the cluster admin lists the URLs a migration may
send a credential to (Prometheus with an auth Secret, evaluation endpoints with keys); anything else is refused
before a request leaves.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kubernetes import client

from provider_migration.api.reasons import BlockedReason
from provider_migration.api.spec import ProviderMigrationSpec

DEFAULT_SERVICE_ACCOUNT = "pmo-migrator"
ACCESS_TTL = 30.0  # seconds an access review answer is reused (RBAC edits take effect within this)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class URLPolicyError(ValueError):
    """An allow-list entry that cannot be understood (refused at start, never guessed)."""


@dataclass(frozen=True)
class _Prefix:
    scheme: str
    host: str
    port: int
    path: str

    def matches(self, url: str) -> bool:
        parts = _parse(url)
        if parts is None:
            return False
        scheme, host, port, path = parts
        if (scheme, host, port) != (self.scheme, self.host, self.port):
            return False
        base = self.path.rstrip("/")
        return not base or path == base or path.startswith(base + "/")


def _parse(url: str) -> tuple[str, str, int, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None  # userinfo in a URL is a credential of its own, and a classic way to disguise the host
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme], parts.path or "/"


@dataclass(frozen=True)
class CredentialURLPolicy:
    """URLs a credential may be sent to. Entries: a URL prefix (`https://prometheus.monitoring:9090`, matched on
    scheme, host and port exactly and on whole path segments, so `https://prom` never admits
    `https://prom.evil.example`), or `regex:<pattern>` matched against the whole URL. Empty: none at all."""

    entries: tuple[str, ...] = ()
    _prefixes: tuple[_Prefix, ...] = field(default=(), init=False, repr=False, compare=False)
    _patterns: tuple[re.Pattern[str], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        prefixes: list[_Prefix] = []
        patterns: list[re.Pattern[str]] = []
        for entry in self.entries:
            if entry.startswith("regex:"):
                try:
                    patterns.append(re.compile(entry.removeprefix("regex:")))
                except re.error as e:
                    raise URLPolicyError(f"credential URL pattern {entry!r}: {e}") from None
                continue
            parsed = _parse(entry)
            if parsed is None:
                raise URLPolicyError(f"credential URL prefix {entry!r} is not an http(s) URL with a host")
            prefixes.append(_Prefix(*parsed))
        object.__setattr__(self, "_prefixes", tuple(prefixes))
        object.__setattr__(self, "_patterns", tuple(patterns))

    def allows(self, url: str) -> bool:
        if _parse(url) is None:
            return False
        return any(p.matches(url) for p in self._prefixes) or any(p.fullmatch(url) for p in self._patterns)


def credential_destinations(spec: ProviderMigrationSpec) -> list[tuple[str, str]]:
    """(what, URL) for every request of this migration that would carry a credential."""
    from provider_migration.evaluation.providers import base_url_for

    out: list[tuple[str, str]] = []
    if spec.analysis is not None and spec.analysis.prometheus.auth_secret is not None:
        out.append(("spec.analysis.prometheus.url", spec.analysis.prometheus.url))
    if spec.route.verify is not None:
        out.append(("spec.route.verify.url", spec.route.verify.url))
    if spec.evaluation is not None:
        for role, endpoint in (("source", spec.source), ("target", spec.target)):
            if endpoint.credentials is None:
                continue
            try:
                out.append((f"the {role} evaluation endpoint", base_url_for(endpoint)))
            except ValueError:
                continue  # no URL at all: the evaluation itself reports it
    return out


@dataclass(frozen=True)
class Access:
    verb: str
    group: str
    resource: str
    name: str

    def describe(self) -> str:
        kind = f"{self.resource}.{self.group}" if self.group else self.resource
        return f"{self.verb} {kind} {self.name}"


_ROUTE_RESOURCES = {
    "ConfigMap": ("", "configmaps"),
    "HTTPRoute": ("gateway.networking.k8s.io", "httproutes"),
    "AIGatewayRoute": ("aigateway.envoyproxy.io", "aigatewayroutes"),
}


def required_access(spec: ProviderMigrationSpec, migration: str) -> list[Access]:
    """Every object this migration may read or write, with the verbs: the namespace must grant each one to the
    migration's ServiceAccount before the operator touches anything."""
    from provider_migration.evaluation.evaluate import results_config_map_name

    group, resource = _ROUTE_RESOURCES[spec.route.kind]
    needed = [Access("get", group, resource, spec.route.name), Access("patch", group, resource, spec.route.name)]
    if spec.route.reload is not None:
        needed += [Access(v, "apps", "deployments", spec.route.reload.deployment) for v in ("get", "patch")]
    for endpoint in (spec.source, spec.target):
        if endpoint.credentials is not None:
            needed.append(Access("get", "", "secrets", endpoint.credentials.secret_name))
    if spec.gateway_secret and (spec.source.credentials or spec.target.credentials):
        needed += [Access(v, "", "secrets", spec.gateway_secret) for v in ("get", "patch")]
    if spec.analysis is not None and spec.analysis.prometheus.auth_secret is not None:
        needed.append(Access("get", "", "secrets", spec.analysis.prometheus.auth_secret.name))
    if spec.route.verify is not None:
        needed.append(Access("get", "", "secrets", spec.route.verify.key_secret.name))
    if spec.evaluation is not None:
        needed.append(Access("get", "", "configmaps", spec.evaluation.dataset.config_map))
        results = results_config_map_name(migration)
        needed += [Access(v, "", "configmaps", results) for v in ("get", "create", "patch")]
    return list(dict.fromkeys(needed))


def impersonated_user(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


class Impersonation:
    """One ApiClient per (namespace, ServiceAccount), each sending `Impersonate-User` on every request, over the
    operator's own connection settings. The API server adds the ServiceAccount's groups itself."""

    def __init__(self, configuration: client.Configuration, default_service_account: str | None) -> None:
        self._configuration = configuration
        self.default_service_account = default_service_account
        self._clients: dict[tuple[str, str], client.ApiClient] = {}
        self._reviews: dict[tuple[str, str, Access], tuple[float, bool]] = {}
        self._lock = threading.Lock()
        self._own: client.ApiClient | None = None

    def service_account(self, spec: ProviderMigrationSpec) -> str | None:
        return spec.service_account_name or self.default_service_account

    def client_for(self, namespace: str, spec: ProviderMigrationSpec) -> client.ApiClient:
        account = self.service_account(spec)
        with self._lock:
            if account is None:  # impersonation turned off (single-tenant development clusters only)
                if self._own is None:
                    self._own = client.ApiClient(self._configuration)
                return self._own
            key = (namespace, account)
            api = self._clients.get(key)
            if api is None:
                api = client.ApiClient(
                    self._configuration,
                    header_name="Impersonate-User",
                    header_value=impersonated_user(namespace, account),
                )
                self._clients[key] = api
            return api

    def denied(
        self, namespace: str, spec: ProviderMigrationSpec, needed: Iterable[Access], clock: Callable[[], float]
    ) -> Access | None:
        """The first access the migration's ServiceAccount lacks (a SelfSubjectAccessReview made as that
        account, so nothing is read or written to find out), or None."""
        account = self.service_account(spec)
        if account is None:
            return None
        api = self.client_for(namespace, spec)
        for access in needed:
            key = (namespace, account, access)
            now = clock()
            with self._lock:
                cached = self._reviews.get(key)
            if cached is not None and now - cached[0] < ACCESS_TTL:
                allowed = cached[1]
            else:
                allowed = _review(api, namespace, access)
                with self._lock:
                    self._reviews[key] = (now, allowed)
            if not allowed:
                return access
        return None


def _review(api: client.ApiClient, namespace: str, access: Access) -> bool:
    review = client.AuthorizationV1Api(api).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    verb=access.verb,
                    group=access.group,
                    resource=access.resource,
                    namespace=namespace,
                    name=access.name,
                )
            )
        )
    )
    return review.status is not None and bool(review.status.allowed)


@dataclass(frozen=True)
class Authority:
    """What reconcile asks before gathering anything: a refusal (reason, message) or None."""

    impersonation: Impersonation
    urls: CredentialURLPolicy
    clock: Callable[[], float] = time.monotonic

    def refusal(self, namespace: str, name: str, spec: ProviderMigrationSpec) -> tuple[BlockedReason, str] | None:
        for what, url in credential_destinations(spec):
            if not self.urls.allows(url):
                shown = _shown(url)
                return BlockedReason.CREDENTIAL_URL_NOT_ALLOWED, (
                    f"{what} {shown} is not in the operator's allow-list of URLs credentials may be sent to"
                )
        account = self.impersonation.service_account(spec)
        try:
            missing = self.impersonation.denied(namespace, spec, required_access(spec, name), self.clock)
        except client.ApiException as e:
            return (
                BlockedReason.NOT_PERMITTED,
                f"cannot check the permissions of ServiceAccount {namespace}/{account} (HTTP {e.status})",
            )
        if missing is not None:
            return BlockedReason.NOT_PERMITTED, (
                f"ServiceAccount {namespace}/{account} may not {missing.describe()}; "
                "grant it in this namespace (see docs/helm.md, Authority)"
            )
        return None


def _shown(url: str) -> str:
    """The URL without userinfo, query or fragment (either may carry a credential), shortened."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[-1]
        text = f"{parts.scheme}://{host}{parts.path}"
    except ValueError:
        text = "(unparseable URL)"
    return text if len(text) <= 200 else text[:197] + "..."
