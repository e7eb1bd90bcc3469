"""Templates on the real API server with the operator (`pmo run`) running: one ClusterMigrationTemplate drives two
applications' migrations to Succeeded, an edit of it mid-rollout changes neither, and every bad input is refused
(by the API server, or Blocked with the field path) with nothing written to the route."""

from __future__ import annotations

import contextlib
import copy
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from operator_support import (
    OperatorProcess,
    WeightRecorder,
    annotate,
    create_litellm_world,
    get_migration,
    migration,
    phase_of,
    target_weight_in,
    wait_for,
)

from pmo_devenv.tenancy import delegate_to_migrations
from provider_migration.api import constants as c

GATED = {
    "description": "OpenAI to Anthropic, Phased with a gate",
    "strategy": {
        "type": "Phased",
        "steps": [
            {"weight": 10, "pause": "2s"},
            {"approval": {"message": "check the 10 % dashboards"}},
            {"weight": 50, "pause": "2s"},
            {"weight": 100},
        ],
    },
    "cleanup": {"stabilization": "2s"},
}


def cluster_template(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": c.API_VERSION, "kind": c.CLUSTER_TEMPLATE_KIND, "metadata": {"name": name}, "spec": spec}


def templated(name: str, template: str, kind: str = c.CLUSTER_TEMPLATE_KIND, **overrides: Any) -> dict[str, Any]:
    body = migration(name, **overrides)
    for section in ("strategy", "cleanup"):  # the template's
        if section not in overrides:
            del body["spec"][section]
    body["spec"]["templateRef"] = {"kind": kind, "name": template}
    return body


def config_of(kube: client.ApiClient, namespace: str) -> str:
    return str(client.CoreV1Api(kube).read_namespaced_config_map("llm-gateway", namespace).data["config.yaml"])


def gateway_keys(kube: client.ApiClient, namespace: str) -> set[str]:
    return set(client.CoreV1Api(kube).read_namespaced_secret("llm-gateway-keys", namespace).data or {})


def refusal(call: Any) -> str:
    """The API server's message for a refused write."""
    with pytest.raises(client.ApiException) as raised:
        call()
    assert raised.value.status in (400, 422), raised.value.body
    return str(raised.value.body)


@pytest.fixture
def templates(kube: client.ApiClient, product_crd: None) -> Iterator[tuple[client.CustomObjectsApi, str]]:
    """The custom-objects API and a unique prefix for this test's cluster-scoped templates (deleted after)."""
    api, prefix = client.CustomObjectsApi(kube), f"t{secrets.token_hex(3)}"
    yield api, prefix
    for item in api.list_cluster_custom_object(c.GROUP, c.VERSION, c.CLUSTER_TEMPLATE_PLURAL)["items"]:
        if item["metadata"]["name"].startswith(prefix):
            with contextlib.suppress(client.ApiException):
                api.delete_cluster_custom_object(
                    c.GROUP, c.VERSION, c.CLUSTER_TEMPLATE_PLURAL, item["metadata"]["name"]
                )


@pytest.fixture
def second_namespace(kube: client.ApiClient, namespace: str) -> Iterator[str]:
    name = f"{namespace[:50]}-app2"
    core = client.CoreV1Api(kube)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"pmo-test": "e2e"})))
    delegate_to_migrations(kube, name)
    yield name
    with contextlib.suppress(client.ApiException):
        core.delete_namespace(name)


@pytest.fixture
def operator_two(control_plane, namespace: str, second_namespace: str, tmp_path: Path, product_crd: None):  # type: ignore[no-untyped-def]
    """The operator watching both applications' namespaces."""
    proc = OperatorProcess(str(control_plane.kubeconfig), namespace, tmp_path, ["-n", second_namespace])
    proc.start()
    yield proc
    proc.stop()
    print("---- operator log (tail) ----\n" + "\n".join(proc.log().splitlines()[-80:]))


def test_one_cluster_template_drives_two_applications_and_an_edit_changes_neither(  # type: ignore[no-untyped-def]
    kube, namespace, second_namespace, templates, operator_two
) -> None:
    api, prefix = templates
    name = f"{prefix}-openai-to-anthropic"
    api.create_cluster_custom_object(c.GROUP, c.VERSION, c.CLUSTER_TEMPLATE_PLURAL, cluster_template(name, GATED))
    apps = [(namespace, "support-bot"), (second_namespace, "search-summaries")]
    recorders = []
    for ns, _ in apps:
        create_litellm_world(kube, ns)
        recorders.append(WeightRecorder(kube, ns).__enter__())
    # The second application tightens one threshold of its own; everything else is the template's.
    api.create_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, templated(apps[0][1], name))
    api.create_namespaced_custom_object(
        c.GROUP, c.VERSION, second_namespace, c.PLURAL, templated(apps[1][1], name, cleanup={"stabilization": "1s"})
    )
    try:
        for ns, app in apps:
            wait_for(lambda ns=ns, app=app: phase_of(kube, ns, app) == "AwaitingApproval", 60, f"{app} at the gate")
        recorded = {app: get_migration(kube, ns, app)["status"]["template"] for ns, app in apps}
        original = api.get_cluster_custom_object(c.GROUP, c.VERSION, c.CLUSTER_TEMPLATE_PLURAL, name)
        for record in recorded.values():
            assert record["kind"] == c.CLUSTER_TEMPLATE_KIND and record["name"] == name
            assert record["resourceVersion"] == original["metadata"]["resourceVersion"]

        # Mid-rollout the platform team edits the template: straight to 100 %, a week of stabilisation.
        edited = copy.deepcopy(GATED)
        edited["strategy"] = {"type": "BigBang", "steps": [{"weight": 100}]}
        edited["cleanup"] = {"stabilization": "7d"}
        api.patch_cluster_custom_object(c.GROUP, c.VERSION, c.CLUSTER_TEMPLATE_PLURAL, name, {"spec": edited})
        operator_two.stop()  # and a restarted operator has only what status recorded
        operator_two.start()
        for ns, app in apps:
            annotate(kube, ns, app, "approve", "platform-ok")
        for ns, app in apps:
            wait_for(lambda ns=ns, app=app: phase_of(kube, ns, app) == "Succeeded", 90, f"{app} Succeeded")
    finally:
        for recorder in recorders:
            recorder.__exit__(None, None, None)
    for recorder in recorders:
        assert recorder.weights == [0, 10, 50, 100], "the steps of the template as it was at the start"
    for ns, app in apps:
        status = get_migration(kube, ns, app)["status"]
        assert status["template"] == recorded[app], "read once, never again"
        assert [s.get("weight") for s in status["effectiveSpec"]["strategy"]["steps"]] == [10, None, 50, 100]
        assert "openai-gpt-4o" not in config_of(kube, ns) and target_weight_in(config_of(kube, ns)) == 100
    assert (
        get_migration(kube, second_namespace, apps[1][1])["status"]["effectiveSpec"]["cleanup"]["stabilization"] == "1s"
    )

    # A migration started after the edit gets the edited template (its route is done already: it blocks there).
    api.create_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, templated("later", name))
    wait_for(lambda: (get_migration(kube, namespace, "later").get("status") or {}).get("template"), 30, "resolved")
    later = get_migration(kube, namespace, "later")["status"]
    assert later["template"]["resourceVersion"] != recorded[apps[0][1]]["resourceVersion"]
    assert later["effectiveSpec"]["strategy"] == {"type": "BigBang", "steps": [{"weight": 100}]}


def test_bad_templates_and_references_are_refused_and_the_route_is_untouched(  # type: ignore[no-untyped-def]
    kube, namespace, templates, operator
) -> None:
    api, prefix = templates
    create_litellm_world(kube, namespace)
    route_before, keys_before = config_of(kube, namespace), gateway_keys(kube, namespace)
    create = lambda body: api.create_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, body)  # noqa: E731

    # Refused by the API server.
    chained = cluster_template(
        f"{prefix}-chained", {**GATED, "templateRef": {"kind": c.CLUSTER_TEMPLATE_KIND, "name": "x"}}
    )
    chain = refusal(lambda: api.create_cluster_custom_object(c.GROUP, c.VERSION, c.CLUSTER_TEMPLATE_PLURAL, chained))
    assert "spec.templateRef" in chain and "templates do not reference templates" in chain
    sneaky = cluster_template(f"{prefix}-sneaky", {**GATED, "source": {"provider": "x", "model": "y", "backend": "z"}})
    unknown = refusal(
        lambda: api.create_cluster_custom_object(
            c.GROUP, c.VERSION, c.CLUSTER_TEMPLATE_PLURAL, sneaky, field_validation="Strict"
        )
    )
    assert 'unknown field \\"spec.source\\"' in unknown or 'unknown field "spec.source"' in unknown
    elsewhere = templated("elsewhere", "shared")
    elsewhere["spec"]["templateRef"]["namespace"] = "platform"
    assert "spec.templateRef.namespace" in refusal(lambda: create(elsewhere))

    # Blocked with the field path, before anything is read or written.
    create(templated("no-template", f"{prefix}-missing"))
    partial = {"analysis": {"interval": "30s"}, "strategy": {"type": "Phased", "steps": [{"weight": 100}]}}
    api.create_cluster_custom_object(
        c.GROUP, c.VERSION, c.CLUSTER_TEMPLATE_PLURAL, cluster_template(f"{prefix}-partial", partial)
    )
    create(templated("bad-merge", f"{prefix}-partial"))
    local = templated("local-template", "not-here", kind=c.TEMPLATE_KIND)
    create(local)
    expected = {
        "no-template": ("TemplateNotFound", f"spec.templateRef: ClusterMigrationTemplate {prefix}-missing not found"),
        "bad-merge": ("TemplateMergeInvalid", "spec.analysis.prometheus: Field required"),
        "local-template": ("TemplateNotFound", "spec.templateRef: MigrationTemplate not-here not found"),
    }
    for app, (reason, message) in expected.items():
        wait_for(lambda app=app: phase_of(kube, namespace, app) == "Blocked", 30, f"{app} Blocked")
        status = get_migration(kube, namespace, app)["status"]
        assert status["reason"] == reason and status["message"].startswith(message), status
        assert "template" not in status and status["currentWeight"] == 0
    assert config_of(kube, namespace) == route_before and gateway_keys(kube, namespace) == keys_before

    # An override of an immutable field: switching a migration to another template.
    patch = {"spec": {"templateRef": {"kind": c.CLUSTER_TEMPLATE_KIND, "name": f"{prefix}-partial"}}}
    switch = refusal(
        lambda: api.patch_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, "no-template", patch)
    )
    assert "templateRef is immutable" in switch
    drop = [{"op": "remove", "path": "/spec/templateRef"}]
    assert "templateRef is immutable" in refusal(
        lambda: api.patch_namespaced_custom_object(
            c.GROUP, c.VERSION, namespace, c.PLURAL, "no-template", drop,
            _content_type="application/json-patch+json",
        )
    )  # fmt: skip
    assert config_of(kube, namespace) == route_before

    # The missing template appears: the blocked migration starts by itself (the others still hold).
    for app in ("bad-merge", "local-template"):
        api.delete_namespaced_custom_object(c.GROUP, c.VERSION, namespace, c.PLURAL, app)
    quick = {"strategy": {"type": "BigBang", "steps": [{"weight": 100}]}, "cleanup": {"stabilization": "1s"}}
    api.create_cluster_custom_object(
        c.GROUP, c.VERSION, c.CLUSTER_TEMPLATE_PLURAL, cluster_template(f"{prefix}-missing", quick)
    )
    wait_for(lambda: phase_of(kube, namespace, "no-template") == "Succeeded", 60, "Succeeded once the template exists")
    assert target_weight_in(config_of(kube, namespace)) == 100


def test_the_example_template_and_both_applications_apply_and_pmo_reads_the_template_from_the_cluster(  # type: ignore[no-untyped-def]
    kube, kubectl, control_plane, namespace, second_namespace, templates
) -> None:
    api, prefix = templates
    examples = Path(__file__).resolve().parents[2] / "examples" / "templates"
    text = (examples / "openai-to-anthropic-phased-gate.yaml").read_text()
    name = f"{prefix}-openai-to-anthropic-phased-gate"
    kubectl("apply", "--server-side", "-f", "-", input=text.replace("openai-to-anthropic-phased-gate", name))
    listed = kubectl("get", "cmtpl", name).stdout.splitlines()
    assert listed[0].split() == ["NAME", "STRATEGY", "METRICS", "DESCRIPTION", "AGE"]
    assert listed[1].split()[:3] == [name, "Phased", "litellm"] and "Phased with a gate" in listed[1]
    for ns, app in ((namespace, "support-bot.yaml"), (second_namespace, "search-summaries.yaml")):
        manifest = (examples / app).read_text().replace("name: openai-to-anthropic-phased-gate", f"name: {name}")
        kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=manifest)
        path = Path(control_plane.kubeconfig).parent / f"{ns}-{app}"
        path.write_text(manifest)
        done = subprocess.run(
            [sys.executable, "-m", "provider_migration.cli.main", "--kubeconfig", str(control_plane.kubeconfig),
             "-n", ns, "simulate", "-f", str(path), "--auto-approve", "-o", "json"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert '"Succeeded"' in done.stdout
    stored = api.list_namespaced_custom_object(c.GROUP, c.VERSION, second_namespace, c.PLURAL)["items"]
    assert stored[0]["spec"]["templateRef"] == {"kind": c.CLUSTER_TEMPLATE_KIND, "name": name}
    assert "strategy" not in stored[0]["spec"], "no default fills a section the template gives"
