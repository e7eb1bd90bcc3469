"""Credential projection and decommission against the real API server; no value ever leaks."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from typing import Any

import pytest
from kubernetes import client

from provider_migration.api.constants import FIELD_MANAGER
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.credentials.secrets import CredentialError, credential_manager

pytestmark = pytest.mark.e2e


def make_spec(kind: str = "ConfigMap", source_creds: bool = True, target_creds: bool = True) -> ProviderMigrationSpec:
    source: dict[str, Any] = {"provider": "openai", "model": "gpt-4o", "backend": "openai-gpt-4o"}
    target: dict[str, Any] = {"provider": "anthropic", "model": "claude-sonnet-4-5", "backend": "anthropic-sonnet"}
    if source_creds:
        source["credentials"] = {"secretName": "openai-key"}
    if target_creds:
        target["credentials"] = {"secretName": "anthropic-key", "key": "token"}
    route = {"kind": kind, "name": "llm", "modelName": "chat"}
    return ProviderMigrationSpec.model_validate(
        {"route": route, "source": source, "target": target, "gatewaySecret": "llm-gateway-keys"}
    )


def new_key(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(16)}"


def put_secret(kube: client.ApiClient, namespace: str, name: str, data: dict[str, str]) -> None:
    body: Any = {"metadata": {"name": name}, "stringData": data}
    core = client.CoreV1Api(kube)
    try:
        core.create_namespaced_secret(namespace, body)
    except client.ApiException as e:
        if e.status != 409:
            raise
        replacement: Any = {**body, "data": None}
        core.replace_namespaced_secret(name, namespace, replacement)


def get_secret(kube: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    response: Any = client.CoreV1Api(kube).read_namespaced_secret(name, namespace, _preload_content=False)
    return dict(json.loads(response.data))


def value(secret: dict[str, Any], key: str) -> str | None:
    encoded = (secret.get("data") or {}).get(key)
    return None if encoded is None else base64.b64decode(encoded).decode()


def sha16(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def assert_no_leak(texts: list[str], *values: str) -> None:
    joined = "\n".join(texts)
    for v in values:
        assert v not in joined and base64.b64encode(v.encode()).decode() not in joined


@pytest.fixture
def keys(kube: client.ApiClient, namespace: str) -> dict[str, str]:
    source, target = new_key("sk-openai"), new_key("sk-ant")
    put_secret(kube, namespace, "openai-key", {"api-key": source})
    put_secret(kube, namespace, "anthropic-key", {"token": target})
    put_secret(kube, namespace, "llm-gateway-keys", {"OPENAI_API_KEY": source, "LITELLM_MASTER_KEY": "sk-master"})
    return {"source": source, "target": target}


def test_project_rotate_decommission_without_leaking(
    kube: client.ApiClient, namespace: str, keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    manager = credential_manager(kube, namespace, make_spec())
    user_source_rv = get_secret(kube, namespace, "openai-key")["metadata"]["resourceVersion"]

    before = manager.read()
    assert before.missing == ()
    assert (before.source_checksum, before.target_checksum) == (sha16(keys["source"]), sha16(keys["target"]))
    assert (before.target_projected, before.source_in_gateway) == (False, True)

    manager.project_target()
    gateway = get_secret(kube, namespace, "llm-gateway-keys")
    assert value(gateway, "ANTHROPIC_API_KEY") == keys["target"]
    assert value(gateway, "OPENAI_API_KEY") == keys["source"] and value(gateway, "LITELLM_MASTER_KEY") == "sk-master"
    ours = [m["fieldsV1"] for m in gateway["metadata"]["managedFields"] if m["manager"] == FIELD_MANAGER]
    # Exactly the projected key and the record of who projected it.
    assert ours == [
        {
            "f:data": {"f:ANTHROPIC_API_KEY": {}},
            "f:metadata": {"f:annotations": {"f:projected.migrations.llmops.dev/ANTHROPIC_API_KEY": {}}},
        }
    ]
    assert manager.read().target_projected
    manager.project_target()  # equal: no write
    assert (
        get_secret(kube, namespace, "llm-gateway-keys")["metadata"]["resourceVersion"]
        == (gateway["metadata"]["resourceVersion"])
    )

    rotated = new_key("sk-ant-rotated")
    put_secret(kube, namespace, "anthropic-key", {"token": rotated})
    after_rotation = manager.read()
    assert after_rotation.target_checksum == sha16(rotated) != before.target_checksum
    assert after_rotation.target_projected is False
    manager.project_target()
    assert value(get_secret(kube, namespace, "llm-gateway-keys"), "ANTHROPIC_API_KEY") == rotated

    manager.decommission_source()
    gateway = get_secret(kube, namespace, "llm-gateway-keys")
    assert value(gateway, "OPENAI_API_KEY") is None
    assert value(gateway, "ANTHROPIC_API_KEY") == rotated and value(gateway, "LITELLM_MASTER_KEY") == "sk-master"
    final = manager.read()
    assert (final.source_in_gateway, final.target_projected, final.missing) == (False, True, ())
    manager.decommission_source()  # already gone: no-op
    assert (
        get_secret(kube, namespace, "llm-gateway-keys")["metadata"]["resourceVersion"]
        == (gateway["metadata"]["resourceVersion"])
    )
    assert get_secret(kube, namespace, "openai-key")["metadata"]["resourceVersion"] == user_source_rv

    shown = [repr(before), repr(after_rotation), repr(final), repr(manager.__dict__)]
    assert_no_leak([caplog.text, *shown], keys["source"], keys["target"], rotated)
    assert "projected the target key" in caplog.text  # the log is there, just without values


@pytest.mark.parametrize(
    ("delete", "expected"),
    [
        ("anthropic-key", "Secret {ns}/anthropic-key (target credentials)"),
        ("openai-key", "Secret {ns}/openai-key (source credentials)"),
        ("llm-gateway-keys", "Secret {ns}/llm-gateway-keys (gateway secret)"),
    ],
)
def test_missing_secrets_are_named_and_block_projection(
    kube: client.ApiClient,
    namespace: str,
    keys: dict[str, str],
    delete: str,
    expected: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client.CoreV1Api(kube).delete_namespaced_secret(delete, namespace)
    manager = credential_manager(kube, namespace, make_spec())
    state = manager.read()
    assert state.missing == (expected.format(ns=namespace),)
    if delete != "openai-key":
        with pytest.raises(CredentialError) as raised:
            manager.project_target()
        assert expected.format(ns=namespace) in str(raised.value)
        assert_no_leak([str(raised.value)], keys["source"], keys["target"])
    if delete != "llm-gateway-keys":
        assert value(get_secret(kube, namespace, "llm-gateway-keys"), "ANTHROPIC_API_KEY") is None
    assert_no_leak([caplog.text, repr(state)], keys["source"], keys["target"])


def test_missing_key_in_an_existing_secret(kube: client.ApiClient, namespace: str, keys: dict[str, str]) -> None:
    put_secret(kube, namespace, "anthropic-key", {"other": "x"})
    state = credential_manager(kube, namespace, make_spec()).read()
    assert state.missing == (f"Secret {namespace}/anthropic-key key token (target credentials)",)
    assert state.target_checksum is None and not state.target_projected


def test_aigatewayroute_key_name_and_shared_slot_guard(
    kube: client.ApiClient, namespace: str, keys: dict[str, str]
) -> None:
    """AI Gateway reads `apiKey`: source and target with different keys in one Secret would clash."""
    manager = credential_manager(kube, namespace, make_spec(kind="AIGatewayRoute"))
    state = manager.read()
    assert len(state.missing) == 1 and "key apiKey would hold both" in state.missing[0]
    with pytest.raises(CredentialError, match="gatewayKey"):
        manager.project_target()
    assert value(get_secret(kube, namespace, "llm-gateway-keys"), "apiKey") is None

    only_target = credential_manager(kube, namespace, make_spec(kind="AIGatewayRoute", source_creds=False))
    only_target.project_target()
    assert value(get_secret(kube, namespace, "llm-gateway-keys"), "apiKey") == keys["target"]
    assert only_target.read().target_projected


def test_without_credentials_nothing_is_missing_or_written(kube: client.ApiClient, namespace: str) -> None:
    manager = credential_manager(kube, namespace, make_spec(source_creds=False, target_creds=False))
    state = manager.read()  # no Secret exists at all, and none is needed
    assert (state.missing, state.target_projected, state.source_in_gateway) == ((), True, False)
    manager.project_target()
    manager.decommission_source()
    assert client.CoreV1Api(kube).list_namespaced_secret(namespace).items == []


def test_decommission_never_touches_the_source_secret_itself(
    kube: client.ApiClient, namespace: str, keys: dict[str, str]
) -> None:
    """When the user points the source credentials at the gateway Secret, that Secret is theirs: hands off."""
    spec = make_spec()
    assert spec.source.credentials is not None
    spec.source.credentials.secret_name, spec.source.credentials.key = "llm-gateway-keys", "OPENAI_API_KEY"
    manager = credential_manager(kube, namespace, spec)
    before = get_secret(kube, namespace, "llm-gateway-keys")["metadata"]["resourceVersion"]
    with pytest.raises(CredentialError, match="source's own Secret"):
        manager.decommission_source()
    assert get_secret(kube, namespace, "llm-gateway-keys")["metadata"]["resourceVersion"] == before


def test_a_gateway_key_the_operator_did_not_project_is_never_overwritten_or_withdrawn(
    kube: client.ApiClient, namespace: str, keys: dict[str, str]
) -> None:
    """The findings: another team's value under the target's gateway key was overwritten and never restored;
    two migrations projecting into one key overwrote each other silently."""
    put_secret(
        kube, namespace, "llm-gateway-keys", {"OPENAI_API_KEY": keys["source"], "ANTHROPIC_API_KEY": "team-b-key"}
    )
    mine = credential_manager(kube, namespace, make_spec())
    state = mine.read()
    assert state.target_key_conflict is not None and "ANTHROPIC_API_KEY" in state.target_key_conflict
    with pytest.raises(CredentialError, match="did not project"):
        mine.project_target()
    mine.withdraw_target()
    assert value(get_secret(kube, namespace, "llm-gateway-keys"), "ANTHROPIC_API_KEY") == "team-b-key"

    # A free key: projected with a record of who did it; a second migration into the same key conflicts.
    put_secret(kube, namespace, "llm-gateway-keys", {"OPENAI_API_KEY": keys["source"]})
    mine.project_target()
    assert mine.read().target_key_conflict is None and mine.read().target_projected
    other_spec = make_spec()
    other_spec.route.name = "other-route"
    other = credential_manager(kube, namespace, other_spec)
    conflict = other.read().target_key_conflict
    assert conflict is not None and "projected for another migration (ConfigMap/llm/chat)" in conflict
    with pytest.raises(CredentialError):
        other.project_target()
    other.withdraw_target()  # not its projection: nothing happens
    assert value(get_secret(kube, namespace, "llm-gateway-keys"), "ANTHROPIC_API_KEY") == keys["target"]

    # Withdrawn by the migration that projected it (abort, rollback, deletion): the Secret is as it was.
    mine.withdraw_target()
    secret = get_secret(kube, namespace, "llm-gateway-keys")
    assert "ANTHROPIC_API_KEY" not in secret["data"] and value(secret, "OPENAI_API_KEY") == keys["source"]
    assert not any(k.startswith("projected.") for k in (secret["metadata"].get("annotations") or {}))

    # The target's own key already there (put by hand): used as is, recorded, never withdrawn.
    put_secret(
        kube, namespace, "llm-gateway-keys", {"OPENAI_API_KEY": keys["source"], "ANTHROPIC_API_KEY": keys["target"]}
    )
    state = mine.read()
    assert state.target_key_conflict is None and state.target_key_existed and state.target_projected
    mine.project_target()
    mine.withdraw_target()
    assert value(get_secret(kube, namespace, "llm-gateway-keys"), "ANTHROPIC_API_KEY") == keys["target"]


def test_a_source_gateway_key_holding_something_else_is_never_decommissioned(
    kube: client.ApiClient, namespace: str, keys: dict[str, str]
) -> None:
    """The finding: `source.credentials.gatewayKey: password` on an unrelated Secret deleted its password."""
    put_secret(kube, namespace, "llm-gateway-keys", {"OPENAI_API_KEY": "the-database-password"})
    creds = credential_manager(kube, namespace, make_spec())
    assert creds.read().source_key_foreign
    creds.decommission_source()
    assert value(get_secret(kube, namespace, "llm-gateway-keys"), "OPENAI_API_KEY") == "the-database-password"
