"""`pmo dashboard`'s server without a cluster: the page carries its token, commands need it, the phase
table decides which buttons are live, and an API refusal comes back with the API server's status."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from provider_migration.api import constants as c
from provider_migration.dashboard.model import summary
from provider_migration.dashboard.server import Dashboard, make_server

SPEC = {
    "route": {"kind": "ConfigMap", "name": "llm-gateway", "modelName": "chat"},
    "source": {"provider": "openai", "model": "gpt-4o", "backend": "openai-gpt-4o"},
    "target": {"provider": "anthropic", "model": "claude-sonnet-4-5", "backend": "anthropic-claude"},
    "strategy": {"type": "Phased", "steps": [{"weight": 10}, {"approval": {}}, {"weight": 100}]},
}


def migration_object(phase: str) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND,
        "metadata": {"name": "to-claude", "namespace": "shop", "resourceVersion": "7"},
        "spec": SPEC,
    }
    obj["status"] = {
        "phase": phase,
        "currentStep": 1,
        "currentWeight": 10,
        "history": [
            {"time": "2026-01-01T00:00:00Z", "phase": "Progressing", "step": 0, "weight": 10, "reason": "StepAdvanced"},
            {"time": "2026-01-01T00:01:00Z", "phase": phase, "step": 1, "weight": 10, "reason": "AwaitingApproval",
             "message": "<img src=x onerror=alert(1)>", "by": "alice"},
        ],
    }  # fmt: skip
    return obj


class FakeApi:
    def __init__(self, obj: dict[str, Any], refuse: int | None = None) -> None:
        self.obj, self.refuse = obj, refuse
        self.patches: list[dict[str, Any]] = []
        self.api_client = None

    def get_namespaced_custom_object(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.obj

    def patch_namespaced_custom_object(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if self.refuse:
            error = client.ApiException(status=self.refuse, reason="Forbidden")
            error.body = json.dumps({"message": 'user "eve" cannot patch resource "providermigrations"'})
            raise error
        self.patches.append(args[-1])  # (group, version, namespace, plural, name, body)
        return self.obj


@pytest.fixture
def serve() -> Iterator[Any]:
    servers = []

    def start(api: FakeApi) -> tuple[str, Dashboard]:
        dashboard = Dashboard(api, "shop")  # type: ignore[arg-type]
        server = make_server(dashboard, "127.0.0.1", 0, "test")
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", dashboard

    yield start
    for server in servers:
        server.shutdown()


def post(url: str, token: str | None) -> tuple[int, str]:
    request = urllib.request.Request(url, method="POST", headers={"X-PMO-Token": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())["message"]
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())["message"]


def test_buttons_follow_the_command_table_and_history_names_who() -> None:
    view = summary(migration_object("AwaitingApproval"))
    assert view["commands"]["approve"] is None and view["commands"]["abort"] is None
    assert "AwaitingApproval" in (view["commands"]["retry"] or "")
    assert view["history"][0]["by"] == "alice" and view["history"][0]["step"] == 2, "newest first, 1-based"
    assert [w["weight"] for w in view["weights"]] == [10, 10]


def test_commands_need_the_pages_token_and_refusals_carry_the_api_servers_reason(serve: Any) -> None:
    api = FakeApi(migration_object("AwaitingApproval"))
    url, dashboard = serve(api)
    with urllib.request.urlopen(url, timeout=10) as response:
        page = response.read().decode()
    assert dashboard.token in page and "innerHTML" not in page, "text goes into the DOM as text only"
    command = f"{url}/api/migrations/shop/{api.obj['metadata']['name']}/approve"
    assert post(command, None)[0] == 403 and post(command, "guess")[0] == 403
    assert api.patches == []
    code, message = post(command, dashboard.token)
    assert code == 200 and "approve sent" in message
    assert c.command_annotation("approve") in api.patches[0]["metadata"]["annotations"]
    code, message = post(command.replace("/approve", "/retry"), dashboard.token)
    assert code == 409 and "retry applies" in message, "refused in this phase, as pmo refuses it"
    url, dashboard = serve(FakeApi(migration_object("AwaitingApproval"), refuse=403))
    code, message = post(command.replace(command.split("/api")[0], url), dashboard.token)
    assert code == 403 and 'user "eve" cannot patch resource "providermigrations"' in message


def test_a_user_who_may_not_list_sees_the_api_servers_reason(serve: Any) -> None:
    api = FakeApi(migration_object("Progressing"))

    def refuse_list(*args: Any, **kwargs: Any) -> Any:
        error = client.ApiException(status=403, reason="Forbidden")
        error.body = json.dumps({"message": 'user "eve" cannot list resource "providermigrations"'})
        raise error

    api.list_namespaced_custom_object = refuse_list  # type: ignore[attr-defined]
    url, _ = serve(api)
    with urllib.request.urlopen(f"{url}/api/stream", timeout=10) as response:
        text = response.read().decode()
    assert text.startswith("event: failure\n")
    assert 'user \\"eve\\" cannot list resource \\"providermigrations\\"' in text
