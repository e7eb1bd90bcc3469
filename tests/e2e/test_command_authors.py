"""Who did it: each command's history entry and Event name the user the API server authenticated (stamped by
the chart's MutatingAdmissionPolicy), with two ServiceAccounts sending commands through `pmo`, and a name
the client wrote itself replaced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kubernetes import client
from operator_support import create_litellm_world, events_text, get_migration, migration, phase_of, wait_for
from test_controller import create

from provider_migration.api import constants as c

PEOPLE = ("alice", "bob")


def service_account_kubeconfig(kube: client.ApiClient, control_plane, namespace: str, who: str, tmp: Path) -> Path:  # type: ignore[no-untyped-def]
    core, rbac = client.CoreV1Api(kube), client.RbacAuthorizationV1Api(kube)
    core.create_namespaced_service_account(namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=who)))
    rbac.create_namespaced_role_binding(
        namespace,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name=who),
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="migration-user"),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name=who, namespace=namespace)],
        ),
    )
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))
    token = core.create_namespaced_service_account_token(who, namespace, request)
    assert token.status is not None
    return Path(control_plane.kubeconfig_for_token(token.status.token, tmp / f"{who}.kubeconfig"))


def pmo(kubeconfig: Path, namespace: str, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "provider_migration.cli.main", "--kubeconfig", str(kubeconfig), "-n", namespace, *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_history_and_events_name_the_authenticated_user_of_each_command(  # type: ignore[no-untyped-def]
    kube, control_plane, namespace, operator, command_authors, tmp_path: Path
) -> None:
    create_litellm_world(kube, namespace)
    client.RbacAuthorizationV1Api(kube).create_namespaced_role(
        namespace,
        client.V1Role(
            metadata=client.V1ObjectMeta(name="migration-user"),
            rules=[
                client.V1PolicyRule(api_groups=[c.GROUP], resources=[c.PLURAL], verbs=["get", "list", "watch", "patch"])
            ],
        ),
    )
    alice, bob = (service_account_kubeconfig(kube, control_plane, namespace, who, tmp_path) for who in PEOPLE)
    user = {who: f"system:serviceaccount:{namespace}:{who}" for who in PEOPLE}
    steps = [
        {"weight": 10, "pause": "1s"},
        {"approval": {}},
        {"weight": 30, "pause": "10m"},
        {"weight": 50, "pause": "10m"},
    ]
    create(kube, namespace, migration("gated", strategy={"type": "Phased", "steps": [*steps, {"weight": 100}]}))

    def phase(want: str) -> None:
        wait_for(lambda: phase_of(kube, namespace, "gated") == want, 60, want)

    def entries(reason: str) -> list[dict]:  # type: ignore[type-arg]
        return [h for h in get_migration(kube, namespace, "gated")["status"]["history"] if h["reason"] == reason]

    phase("AwaitingApproval")
    # A client naming someone else: the policy replaces the name with the one the API server authenticated.
    approve = {c.command_annotation("approve"): "a-1", c.author_annotation("approve"): "mallory"}
    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        c.GROUP, c.VERSION, namespace, c.PLURAL, "gated", {"metadata": {"annotations": approve}}
    )
    wait_for(lambda: entries("Approved"), 30, "approved")
    assert entries("Approved")[0]["by"] == "admin", "the admin kubeconfig's user, not the name the client wrote"
    wait_for(lambda: get_migration(kube, namespace, "gated")["status"]["currentWeight"] == 30, 60, "step 30")
    pmo(bob, namespace, "pause", "gated")
    phase("Paused")
    pmo(alice, namespace, "resume", "gated")
    phase("Progressing")
    pmo(bob, namespace, "promote", "gated")
    wait_for(lambda: get_migration(kube, namespace, "gated")["status"]["currentWeight"] == 50, 60, "step 50")
    pmo(alice, namespace, "abort", "gated")
    phase("RolledBack")
    pmo(bob, namespace, "retry", "gated")
    wait_for(lambda: entries("Retrying"), 30, "retrying")
    by = {reason: [h.get("by") for h in entries(reason)] for reason in ("Paused", "Resumed", "RollingBack", "Retrying")}
    assert by == {
        "Paused": [user["bob"]],
        "Resumed": [user["alice"]],
        "RollingBack": [user["alice"]],
        "Retrying": [user["bob"]],
    }
    advanced = [(h["weight"], h.get("by")) for h in entries("StepAdvanced")]
    assert advanced[:3] == [(10, None), (30, "admin"), (50, user["bob"])]  # then the retry starts over
    events = events_text(kube, namespace)
    assert f"(by {user['bob']})" in events and f"(by {user['alice']})" in events
    annotations = get_migration(kube, namespace, "gated")["metadata"]["annotations"]
    assert annotations[c.author_annotation("retry")] == user["bob"]
    assert annotations[c.author_annotation("paused")] == user["alice"], "resume changed spec.paused last"
