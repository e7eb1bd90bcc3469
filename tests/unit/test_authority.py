"""Where a migration may send credentials, and what it must be granted before the operator touches anything."""

from __future__ import annotations

from typing import Any

import pytest

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.controller.authority import (
    Access,
    Authority,
    CredentialURLPolicy,
    Impersonation,
    URLPolicyError,
    credential_destinations,
    required_access,
)


def _spec(**overrides: Any) -> ProviderMigrationSpec:
    spec: dict[str, Any] = {
        "route": {"kind": "HTTPRoute", "name": "llm", "modelName": "chat"},
        "source": {"provider": "openai", "model": "gpt-4o", "backend": "openai"},
        "target": {"provider": "anthropic", "model": "claude", "backend": "claude"},
    }
    spec.update(overrides)
    return ProviderMigrationSpec.from_wire(spec)


PROM_WITH_TOKEN = {"prometheus": {"url": "http://evil.example:9090", "authSecret": {"name": "payments", "key": "k"}}}


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://prometheus.monitoring:9090", True),
        ("https://prometheus.monitoring:9090/api/v1/query", True),
        ("https://PROMETHEUS.monitoring:9090/", True),
        ("https://prometheus.monitoring:9091", False),  # another port
        ("http://prometheus.monitoring:9090", False),  # another scheme
        ("https://prometheus.monitoring:9090.evil.example", False),
        ("https://prometheus.monitoring.evil.example:9090", False),
        ("https://user:pw@prometheus.monitoring:9090", False),  # userinfo disguises hosts and carries credentials
        ("https://evil.example/?https://prometheus.monitoring:9090", False),
        ("ftp://prometheus.monitoring:9090", False),
        ("https://api.example.com/v1", True),
        ("https://api.example.com/v1/chat/completions", True),
        ("https://api.example.com/v10", False),  # whole path segments only
        ("https://api.example.com/", False),
        ("https://api.example.com:443/v1", True),  # the scheme's default port
    ],
)
def test_prefixes_match_scheme_host_port_and_whole_path_segments(url: str, allowed: bool) -> None:
    policy = CredentialURLPolicy(("https://prometheus.monitoring:9090", "https://api.example.com/v1"))
    assert policy.allows(url) is allowed


def test_regex_entries_match_the_whole_url_and_the_default_allows_nothing() -> None:
    policy = CredentialURLPolicy((r"regex:https://[a-z]+\.corp\.example/.*",))
    assert policy.allows("https://prom.corp.example/api")
    assert not policy.allows("https://prom.corp.example.evil.example/api")
    assert not CredentialURLPolicy().allows("https://prometheus.monitoring:9090")


@pytest.mark.parametrize("entry", ["prometheus:9090", "regex:(", "ftp://x", "https://"])
def test_an_entry_that_cannot_be_understood_is_refused(entry: str) -> None:
    with pytest.raises(URLPolicyError):
        CredentialURLPolicy((entry,))


def test_credential_destinations_are_prometheus_with_a_token_and_keyed_evaluation_endpoints() -> None:
    assert credential_destinations(_spec()) == []
    assert credential_destinations(_spec(analysis={"prometheus": {"url": "http://p:9090"}})) == []
    assert credential_destinations(_spec(analysis=PROM_WITH_TOKEN)) == [
        ("spec.analysis.prometheus.url", "http://evil.example:9090")
    ]
    keyed = _spec(
        target={
            "provider": "anthropic",
            "model": "claude",
            "backend": "claude",
            "apiBase": "http://evil.example/v1",
            "credentials": {"secretName": "k"},
        },
        gatewaySecret="gw",
        evaluation={"dataset": {"configMap": "golden"}},
    )
    assert credential_destinations(keyed) == [("the target evaluation endpoint", "http://evil.example/v1")]


def test_required_access_names_every_object_the_spec_touches() -> None:
    spec = _spec(
        route={"kind": "ConfigMap", "name": "cfg", "modelName": "chat", "reload": {"deployment": "litellm"}},
        source={"provider": "openai", "model": "gpt-4o", "backend": "openai", "credentials": {"secretName": "src"}},
        gatewaySecret="gw",
        analysis=PROM_WITH_TOKEN,
        evaluation={"dataset": {"configMap": "golden"}},
    )
    needed = {a.describe() for a in required_access(spec, "m")}
    assert needed == {
        "get configmaps cfg",
        "patch configmaps cfg",
        "get deployments.apps litellm",
        "patch deployments.apps litellm",
        "get secrets src",
        "get secrets gw",
        "patch secrets gw",
        "get secrets payments",
        "get configmaps golden",
        "get configmaps m-evaluation",
        "create configmaps m-evaluation",
        "patch configmaps m-evaluation",
    }


class _Reviews(Impersonation):
    """Access reviews answered from a set, counting the calls."""

    def __init__(self, granted: set[Access]) -> None:
        super().__init__(configuration=None, default_service_account="pmo-migrator")  # type: ignore[arg-type]
        self.granted, self.calls = granted, 0

    def denied(self, namespace: str, spec: ProviderMigrationSpec, needed: Any, clock: Any) -> Access | None:
        self.calls += 1
        return next((a for a in needed if a not in self.granted), None)


def test_a_url_outside_the_allow_list_is_refused_before_any_access_review() -> None:
    reviews = _Reviews(set())
    authority = Authority(reviews, CredentialURLPolicy(("https://prometheus.monitoring:9090",)))
    reason, message = authority.refusal("team", "m", _spec(analysis=PROM_WITH_TOKEN)) or ("", "")
    assert reason == "CredentialURLNotAllowed" and "http://evil.example:9090" in message
    assert reviews.calls == 0


def test_a_missing_grant_names_the_service_account_and_the_access() -> None:
    reviews = _Reviews({Access("get", "gateway.networking.k8s.io", "httproutes", "llm")})
    refusal = Authority(reviews, CredentialURLPolicy()).refusal("team", "m", _spec())
    assert refusal is not None and refusal[0] == "NotPermitted"
    assert "team/pmo-migrator" in refusal[1] and "patch httproutes.gateway.networking.k8s.io llm" in refusal[1]
    everything = _Reviews(set(required_access(_spec(), "m")))
    assert Authority(everything, CredentialURLPolicy()).refusal("team", "m", _spec()) is None


def test_spec_service_account_name_overrides_the_default() -> None:
    reviews = _Reviews(set())
    assert reviews.service_account(_spec()) == "pmo-migrator"
    assert reviews.service_account(_spec(serviceAccountName="team-deployer")) == "team-deployer"


def test_the_documented_delegation_is_the_one_the_e2e_tests_prove_sufficient() -> None:
    from pathlib import Path

    import yaml

    from pmo_devenv.tenancy import MIGRATOR, MIGRATOR_RULES

    docs = list(yaml.safe_load_all((Path(__file__).parents[2] / "docs" / "tenant-delegation.yaml").read_text()))
    role = next(d for d in docs if d["kind"] == "Role")
    assert role["rules"] == MIGRATOR_RULES
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"} == {MIGRATOR}
