"""The operator (`pmo run`, a real process) driving migrations on the real API server."""

from __future__ import annotations

import base64
import itertools
import json
import time

import yaml
from kubernetes import client
from operator_support import (
    SOURCE_KEY,
    TARGET_KEY,
    WeightRecorder,
    annotate,
    create_litellm_world,
    event_reasons,
    events_text,
    get_migration,
    migration,
    phase_of,
    target_weight_in,
    wait_for,
)

from provider_migration.api import constants as c


def create(kube: client.ApiClient, namespace: str, body: dict) -> None:  # type: ignore[type-arg]
    client.CustomObjectsApi(kube).create_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, body)


def gateway_keys(kube: client.ApiClient, namespace: str) -> dict[str, str]:
    secret = client.CoreV1Api(kube).read_namespaced_secret("llm-gateway-keys", namespace)
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def resource_version(obj: client.V1ConfigMap) -> str | None:
    return obj.metadata.resource_version if obj.metadata else None


def config_of(kube: client.ApiClient, namespace: str) -> str:
    return str((client.CoreV1Api(kube).read_namespaced_config_map("llm-gateway", namespace).data or {})["config.yaml"])


def assert_no_secret_values(*texts: str) -> None:
    for text in texts:
        assert SOURCE_KEY not in text and TARGET_KEY not in text, "a secret value leaked"


def test_phased_migration_walks_10_50_100_and_cleans_up(kube, namespace, operator) -> None:  # type: ignore[no-untyped-def]
    create_litellm_world(kube, namespace)
    with WeightRecorder(kube, namespace) as recorder:
        create(kube, namespace, migration("to-claude"))
        wait_for(lambda: phase_of(kube, namespace, "to-claude") == "Succeeded", 90, "Succeeded")
    assert recorder.weights == [0, 10, 50, 100]
    body = get_migration(kube, namespace, "to-claude")
    status = body["status"]
    advanced = [(h["step"], h["weight"]) for h in status["history"] if h["reason"] == "StepAdvanced"]
    assert advanced == [(0, 10), (1, 50), (2, 100)]
    assert status["observedGeneration"] == body["metadata"]["generation"]
    assert {cond["type"]: cond["status"] for cond in status["conditions"]} == {
        "Ready": "True",
        "Progressing": "False",
        "Degraded": "False",
    }
    config = config_of(kube, namespace)
    assert "openai-gpt-4o" not in config, "the source entry is removed after stabilisation"
    assert target_weight_in(config) == 100 and "text-embedding-3-small" in config, "other entries untouched"
    keys = gateway_keys(kube, namespace)
    assert "OPENAI_API_KEY" not in keys and keys["ANTHROPIC_API_KEY"] == TARGET_KEY
    user_secret = client.CoreV1Api(kube).read_namespaced_secret("openai-api-key", namespace)
    assert base64.b64decode((user_secret.data or {})["api-key"]).decode() == SOURCE_KEY, "the user's own Secret is kept"
    template = client.AppsV1Api(kube).read_namespaced_deployment("litellm", namespace).spec.template
    assert c.CONFIG_HASH_ANNOTATION in ((template.metadata and template.metadata.annotations) or {}), "LiteLLM rolled"
    reasons = event_reasons(kube, namespace)
    for reason in ("CredentialsProjected", "StepAdvanced", "Stabilizing", "CredentialsDecommissioned", "Succeeded"):
        assert reason in reasons
    assert_no_secret_values(operator.log(), events_text(kube, namespace), json.dumps(status))
    # Who speaks: Events signed by the operator, one log line per phase change, STEP counted from 1.
    events = client.CoreV1Api(kube).list_namespaced_event(namespace).items
    signed = {(e.reporting_component, e.source.component if e.source else None) for e in events}
    assert signed == {(c.FIELD_MANAGER, c.FIELD_MANAGER)}
    assert status["step"] == 3, "a finished 3-step migration is at step 3 (kubectl get STEP)"
    changes = [line for line in operator.log().splitlines() if " INFO " in line and f"{namespace}/to-claude: " in line]
    pairs = [(line.split(": ", 1)[1].split(" ")[0], line.split(" -> ")[1].split(" ")[0]) for line in changes]
    assert pairs[0][0] == "Pending" and pairs[-1][1] == "Succeeded", changes
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pairs)), "each change logged once, in order"


def test_abort_at_50_puts_all_traffic_back_on_the_source(kube, namespace, operator) -> None:  # type: ignore[no-untyped-def]
    create_litellm_world(kube, namespace)
    steps = [{"weight": 10, "pause": "1s"}, {"weight": 50, "pause": "10m"}, {"weight": 100}]
    create(kube, namespace, migration("abort-me", strategy={"steps": steps}))
    wait_for(lambda: target_weight_in(config_of(kube, namespace)) == 50, 60, "target weight 50")
    annotate(kube, namespace, "abort-me", "abort", "req-1")
    # The abort acts now, not when the 10-minute pause ends; how fast is a figure for bench/, not a test.
    wait_for(lambda: target_weight_in(config_of(kube, namespace)) == 0, 120, "target weight 0")
    wait_for(lambda: phase_of(kube, namespace, "abort-me") == "RolledBack", 15, "RolledBack")
    status = get_migration(kube, namespace, "abort-me")["status"]
    assert status["reason"] == "Aborted" and status["handledCommands"]["abort"] == "req-1"
    assert "RolledBack" in event_reasons(kube, namespace)
    assert "OPENAI_API_KEY" in gateway_keys(kube, namespace), "a rollback never removes what the source needs"
    # What the migration projected is taken back: the gateway Secret is as the migration found it.
    assert "ANTHROPIC_API_KEY" not in gateway_keys(kube, namespace)
    assert "CredentialsWithdrawn" in event_reasons(kube, namespace)

    # So is the weight-0 target entry it added to the LiteLLM config; the other entries stay.
    def entry_ids() -> list[str | None]:
        return [(e.get("model_info") or {}).get("id") for e in yaml.safe_load(config_of(kube, namespace))["model_list"]]

    wait_for(lambda: "anthropic-claude" not in entry_ids(), 10, "target entry removed")
    assert "openai-gpt-4o" in entry_ids() and "text-embedding-3-small" in config_of(kube, namespace)
    assert not (status.get("credentials") or {}).get("targetEntryAdded")


def test_approval_gate_waits_for_approve(kube, namespace, operator) -> None:  # type: ignore[no-untyped-def]
    create_litellm_world(kube, namespace)
    create(kube, namespace, migration("gated", strategy={"steps": [{"weight": 10}, {"approval": {}}, {"weight": 100}]}))
    wait_for(lambda: phase_of(kube, namespace, "gated") == "AwaitingApproval", 60, "AwaitingApproval")
    time.sleep(3)
    assert phase_of(kube, namespace, "gated") == "AwaitingApproval"
    assert target_weight_in(config_of(kube, namespace)) == 10
    annotate(kube, namespace, "gated", "approve", "ok-1")
    wait_for(lambda: phase_of(kube, namespace, "gated") == "Succeeded", 60, "Succeeded")
    assert "Approved" in event_reasons(kube, namespace)


def test_sigkill_during_a_pause_and_a_step_change_neither_repeats_nor_skips(kube, namespace, operator) -> None:  # type: ignore[no-untyped-def]
    create_litellm_world(kube, namespace)
    steps = [
        {"weight": 10, "pause": "4s"},
        {"weight": 30, "pause": "2s"},
        {"weight": 50, "pause": "2s"},
        {"weight": 100},
    ]
    with WeightRecorder(kube, namespace) as recorder:
        create(kube, namespace, migration("crashy", strategy={"steps": steps}))
        wait_for(lambda: recorder.weights[-1:] == [10], 60, "step 10")
        time.sleep(1.5)
        operator.kill()  # mid-pause
        time.sleep(1)
        operator.start()
        wait_for(lambda: recorder.weights[-1:] == [30], 60, "step 30")
        operator.kill()  # right at a step change: routing written, status maybe not
        operator.start()
        wait_for(lambda: phase_of(kube, namespace, "crashy") == "Succeeded", 90, "Succeeded")
    assert recorder.weights == [0, 10, 30, 50, 100]
    history = get_migration(kube, namespace, "crashy")["status"]["history"]
    advanced = [h["step"] for h in history if h["reason"] == "StepAdvanced"]
    assert advanced == [0, 1, 2, 3], f"steps repeated or skipped: {advanced}"
    assert operator.starts == 3


def test_missing_target_secret_blocks_without_touching_the_route(kube, namespace, operator) -> None:  # type: ignore[no-untyped-def]
    create_litellm_world(kube, namespace, with_target_secret=False)
    before = resource_version(client.CoreV1Api(kube).read_namespaced_config_map("llm-gateway", namespace))
    create(kube, namespace, migration("no-key"))
    wait_for(lambda: phase_of(kube, namespace, "no-key") == "Blocked", 30, "Blocked")
    status = get_migration(kube, namespace, "no-key")["status"]
    assert status["reason"] == "SecretNotFound" and "anthropic-api-key" in status["message"]
    time.sleep(2)
    after = resource_version(client.CoreV1Api(kube).read_namespaced_config_map("llm-gateway", namespace))
    assert after == before, "a blocked migration must not touch the route"
    assert "Blocked" in event_reasons(kube, namespace)
    assert "ANTHROPIC_API_KEY" not in gateway_keys(kube, namespace)


def test_deleting_an_unfinished_migration_puts_all_traffic_back_on_the_source(kube, namespace, operator) -> None:  # type: ignore[no-untyped-def]
    create_litellm_world(kube, namespace)
    steps = [{"weight": 10, "pause": "1s"}, {"weight": 50, "pause": "10m"}, {"weight": 100}]
    create(kube, namespace, migration("deleted", strategy={"steps": steps}))
    wait_for(lambda: target_weight_in(config_of(kube, namespace)) == 50, 60, "target weight 50")
    annotations = get_migration(kube, namespace, "deleted")["metadata"].get("annotations") or {}
    assert not any(k.endswith("last-handled-configuration") for k in annotations), "no copy of the spec is stored"
    api = client.CustomObjectsApi(kube)
    api.delete_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, "deleted")

    def gone() -> bool:
        try:
            get_migration(kube, namespace, "deleted")
        except client.ApiException as e:
            return e.status == 404
        return False

    wait_for(gone, 30, "the migration to be deleted (the operator releases its finalizer)")
    assert target_weight_in(config_of(kube, namespace)) == 0
    assert "ANTHROPIC_API_KEY" not in gateway_keys(kube, namespace), "the projected key goes with it"
    assert "OPENAI_API_KEY" in gateway_keys(kube, namespace)


def test_a_prometheus_token_no_header_can_carry_is_never_sent_nor_shown(
    kube, namespace, operator, control_plane
) -> None:  # type: ignore[no-untyped-def]
    """The finding: a token with a newline was published whole in status.message, history, an Event and
    `pmo status -o json` (the HTTP library's error quotes the header's repr)."""
    import http.server
    import subprocess
    import sys
    import threading

    received: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append(self.headers.get("Authorization") or "")
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = "sk-prom-Zq9x7W\n\"Hk2'pL\u00fcm"
    try:
        create_litellm_world(kube, namespace)
        client.CoreV1Api(kube).create_namespaced_secret(
            namespace, {"metadata": {"name": "prom-token"}, "stringData": {"token": token}}
        )
        url = f"http://127.0.0.1:{server.server_address[1]}"
        analysis = {"prometheus": {"url": url, "authSecret": {"name": "prom-token", "key": "token"}}, "interval": "5s"}
        create(kube, namespace, migration("prom-token", analysis=analysis))
        wait_for(lambda: phase_of(kube, namespace, "prom-token") == "Blocked", 60, "Blocked")
        status = get_migration(kube, namespace, "prom-token")["status"]
        pmo = [sys.executable, "-m", "provider_migration.cli.main", f"--kubeconfig={control_plane.kubeconfig}"]
        shown = [
            subprocess.run([*pmo, "status", "prom-token", f"-n={namespace}", *o], capture_output=True, text=True).stdout
            for o in ([], ["-o", "json"])
        ]
    finally:
        server.shutdown()
        server.server_close()
    assert status["reason"] == "BaselineUnavailable"
    assert "bearer token has characters an HTTP header cannot carry" in status["message"]
    assert received == []  # never sent
    texts = [json.dumps(status), events_text(kube, namespace), operator.log(), *shown]
    pieces = {token[i : i + 6] for i in range(len(token) - 5)} | {repr(token)[1:-1], json.dumps(token)[1:-1]}
    leaked = [p for p in pieces for t in texts if p in t]
    assert leaked == [] and "BaselineUnavailable" in shown[1]
