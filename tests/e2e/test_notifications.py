"""Notifications end to end: a real operator process, the real API server and a loopback webhook receiver
(Apprise's json:// service). Each notification arrives once, in order, through two SIGKILLs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from operator_support import (
    OperatorProcess,
    WeightRecorder,
    create_litellm_world,
    events_text,
    free_port,
    get_migration,
    migration,
    phase_of,
    wait_for,
)
from test_controller import assert_no_secret_values, create

pytest.importorskip("apprise")

TOKEN = "hook-token-5f0c2a91d7"  # the receiver's credential: in the Secret, never in a payload, log or status


class Receiver:
    """Records every JSON body POSTed to it (Apprise's json:// format: title, message, type)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.rejected = 0
        self.headers: list[str] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                if self.path.startswith("/reject"):
                    received.rejected += 1
                    self.send_response(500)
                    self.end_headers()
                    return
                received.bodies.append(body)
                received.headers.append(str(self.headers))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def titles(self) -> list[str]:
        return [str(b["title"]) for b in self.bodies]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def configure(kube: client.ApiClient, namespace: str, receiver: Receiver) -> None:
    core = client.CoreV1Api(kube)
    config = {
        "services": {
            "oncall": {"urlSecret": {"name": "notify-oncall", "key": "url"}},
            "down": {"urlSecret": {"name": "notify-down", "key": "url"}},
            "unset": {"urlSecret": {"name": "notify-missing", "key": "url"}},
            "rejecting": {"urlSecret": {"name": "notify-rejecting", "key": "url"}},
        },
        "defaultSubscriptions": {
            namespace: [{"service": s} for s in ("oncall", "down", "unset", "rejecting")],
        },
        "templates": {
            "default": {"title": "$trigger", "body": "$namespace/$name: $message (step $step, $weight%)"},
            "succeeded": {"title": "$no_such_variable"},  # malformed: reported, the default is used
        },
    }
    meta = client.V1ObjectMeta(name="pmo-notifications")
    core.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=meta, data={"config.yaml": yaml.safe_dump(config)})
    )
    urls = {
        "notify-oncall": f"json://pmo:{TOKEN}@127.0.0.1:{receiver.port}/hook?rto=3",
        "notify-down": f"json://pmo:{TOKEN}@127.0.0.1:{free_port()}/hook?cto=1",  # nothing listens
        "notify-rejecting": f"json://pmo:{TOKEN}@127.0.0.1:{receiver.port}/reject",  # answers 500
    }
    for name, url in urls.items():
        core.create_namespaced_secret(
            namespace, client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={"url": url})
        )


def test_each_notification_arrives_once_in_order_through_two_sigkills(  # type: ignore[no-untyped-def]
    kube, control_plane, namespace, product_crd, receiver: Receiver, tmp_path: Path
) -> None:
    create_litellm_world(kube, namespace)
    configure(kube, namespace, receiver)
    operator = OperatorProcess(
        str(control_plane.kubeconfig), namespace, tmp_path, ["--notifications", f"{namespace}/pmo-notifications"]
    )
    operator.start()
    try:
        steps = [{"weight": 10, "pause": "4s"}, {"weight": 30, "pause": "2s"}, {"weight": 50, "pause": "2s"}]
        with WeightRecorder(kube, namespace) as recorder:
            create(kube, namespace, migration("told", strategy={"type": "Phased", "steps": [*steps, {"weight": 100}]}))
            wait_for(lambda: delivered(kube, namespace, "oncall") >= 2, 60, "started and step 1 delivered")
            operator.kill()  # mid-pause, with the first notifications recorded as sent
            operator.start()
            wait_for(lambda: recorder.weights[-1:] == [30], 60, "step 30")
            operator.kill()  # right at a step change: its notification may not even be in the outbox yet
            operator.start()
            wait_for(lambda: phase_of(kube, namespace, "told") == "Succeeded", 90, "Succeeded")
        expected = ["started", *["step-advanced"] * 4, "credentials-decommissioned", "succeeded"]
        wait_for(lambda: len(receiver.bodies) >= len(expected), 30, "every notification")
        wait_for(lambda: delivered(kube, namespace, "oncall") == len(expected), 30, "all recorded as sent")
        assert receiver.titles() == expected, "each exactly once, in order"
        steps_told = [b["message"].split("(step ")[1] for b in receiver.bodies if b["title"] == "step-advanced"]
        assert steps_told == ["1, 10%)", "2, 30%)", "3, 50%)", "4, 100%)"]
        assert all(b["message"].startswith(f"{namespace}/told: ") for b in receiver.bodies)
        assert operator.starts == 3

        status = get_migration(kube, namespace, "told")["status"]
        subs = {s["service"]: s for s in status["notifications"]["subscriptions"]}
        assert subs["down"]["delivered"] == 0 and subs["down"]["failures"] >= 1, "an unreachable endpoint waits"
        assert "unset" not in subs or subs["unset"]["delivered"] == 0
        assert subs["rejecting"]["delivered"] == 0 and receiver.rejected >= 1, "a refusing endpoint waits too"
        condition = next(cnd for cnd in status["conditions"] if cnd["type"] == "NotificationsDelivered")
        assert condition["status"] == "False"
        for problem in ("notify-missing: not found", "template succeeded: unknown variable $no_such_variable"):
            assert problem in condition["message"]
        assert "NotificationFailed" in events_text(kube, namespace)
        texts = (operator.log(), events_text(kube, namespace), json.dumps(status), json.dumps(receiver.bodies))
        assert all(TOKEN not in text for text in texts), "a notification credential leaked"
        assert_no_secret_values(*texts)
    finally:
        operator.stop()
        print("---- operator log (tail) ----\n" + "\n".join(operator.log().splitlines()[-60:]))


def delivered(kube: client.ApiClient, namespace: str, service: str) -> int:
    status = get_migration(kube, namespace, "told").get("status") or {}
    for sub in (status.get("notifications") or {}).get("subscriptions") or []:
        if sub["service"] == service:
            return int(sub["delivered"])
    return 0
