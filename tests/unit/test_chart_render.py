"""The Helm chart rendered by the real helm in each values mode: what it deploys, what it grants, what it refuses."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from helm_chart import (
    AGGREGATE_LABEL,
    CHART,
    CLUSTER_TEMPLATES_NEED,
    FULLNAME,
    MODES,
    OPERATOR_NEEDS,
    RELEASE_NAMESPACE,
    REPO,
    is_aggregated,
    of_kind,
    one,
    operator_bindings,
    operator_container,
    operator_roles,
    permissions,
    render,
    render_error,
    run_helm,
)

NEEDED = {(g, r, v, "*") for g, r, verbs in OPERATOR_NEEDS for v in verbs}


def _args(docs: list[dict[str, Any]]) -> list[str]:
    return operator_container(docs)["args"]


def _peering_permissions(resource: str) -> set[tuple[str, str, str, str]]:
    return {
        ("kopf.dev", resource, "list", "*"),
        ("kopf.dev", resource, "watch", "*"),
        ("kopf.dev", resource, "get", FULLNAME),
        ("kopf.dev", resource, "patch", FULLNAME),
    }


def test_default_is_one_standalone_replica_recreated_serving_all_namespaces() -> None:
    docs = render()
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    args = _args(docs)
    assert "--all-namespaces" in args
    assert not [a for a in args if a.startswith(("--peering", "--namespace"))]  # no --peering: standalone
    assert not of_kind(docs, "ClusterKopfPeering") and not of_kind(docs, "PodDisruptionBudget")


def test_cluster_scope_grants_exactly_what_the_operator_uses_through_a_cluster_role() -> None:
    docs = render()
    (role,), binding = operator_roles(docs, "ClusterRole"), one(operator_bindings(docs), "ClusterRoleBinding")
    assert not of_kind(docs, "Role") and not of_kind(docs, "RoleBinding")
    assert permissions(role["rules"]) == NEEDED | {CLUSTER_TEMPLATES_NEED}
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    sa = one(docs, "ServiceAccount")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": RELEASE_NAMESPACE}
    ]
    assert one(docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == sa["metadata"]["name"]


def test_namespaced_scope_grants_a_role_per_watched_namespace_and_watches_only_those() -> None:
    docs = render(MODES["namespaced"])
    # Cluster-wide only what a Role cannot grant: get on ClusterMigrationTemplates.
    (cluster_role,) = operator_roles(docs, "ClusterRole")
    assert permissions(cluster_role["rules"]) == {CLUSTER_TEMPLATES_NEED}
    assert one(operator_bindings(docs), "ClusterRoleBinding")["roleRef"]["name"] == cluster_role["metadata"]["name"]
    roles = {r["metadata"]["namespace"]: r for r in of_kind(docs, "Role")}
    bindings = {b["metadata"]["namespace"]: b for b in of_kind(docs, "RoleBinding")}
    assert set(roles) == set(bindings) == {"team-a", "team-b"}
    for ns, role in roles.items():
        assert permissions(role["rules"]) == NEEDED
        assert bindings[ns]["roleRef"]["kind"] == "Role"
        assert bindings[ns]["subjects"][0]["namespace"] == RELEASE_NAMESPACE
    args = _args(docs)
    assert [a for a in args if a.startswith("--namespace")] == ["--namespace=team-a", "--namespace=team-b"]
    assert "--all-namespaces" not in args


@pytest.mark.parametrize("mode", sorted(MODES))
def test_no_mode_grants_secret_listing_deletion_or_wildcards(mode: str) -> None:
    docs = render(MODES[mode])
    granted = set().union(
        *(permissions(r["rules"]) for r in operator_roles(docs, "ClusterRole") + of_kind(docs, "Role"))
    )
    assert granted
    assert not {p for p in granted if p[1] == "secrets" and p[2] in ("list", "watch")}
    assert not {p for p in granted if p[2] in ("delete", "deletecollection", "update", "*") or "*" in p[:2]}


def test_ha_cluster_runs_replicas_in_a_dedicated_cluster_peering() -> None:
    docs = render(MODES["ha-cluster"])
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    args = _args(docs)
    assert f"--peering={FULLNAME}" in args
    assert one(docs, "ClusterKopfPeering")["metadata"]["name"] == FULLNAME
    assert permissions(operator_roles(docs, "ClusterRole")[0]["rules"]) == NEEDED | {
        CLUSTER_TEMPLATES_NEED
    } | _peering_permissions("clusterkopfpeerings")
    pdb = one(docs, "PodDisruptionBudget")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_ha_namespaced_puts_a_peering_object_and_its_permissions_in_each_namespace() -> None:
    docs = render(MODES["ha-namespaced"])
    peerings = of_kind(docs, "KopfPeering")
    assert [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in peerings] == [("team-a", FULLNAME)]
    assert permissions(one(docs, "Role")["rules"]) == NEEDED | _peering_permissions("kopfpeerings")


def test_the_peering_name_can_be_chosen() -> None:
    docs = render({"ha": {"enabled": True, "peeringName": "llm-migrations"}})
    assert "--peering=llm-migrations" in _args(docs)
    assert one(docs, "ClusterKopfPeering")["metadata"]["name"] == "llm-migrations"


@pytest.mark.parametrize("mode", sorted(MODES))
def test_pod_is_hardened_in_every_mode(mode: str) -> None:
    docs = render(MODES[mode])
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    container = operator_container(docs)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}
    tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
    assert "emptyDir" in tmp
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["resources"]["requests"] and container["resources"]["limits"]


def test_probes_and_ports_match_the_operators_flags() -> None:
    docs = render({"liveness": {"port": 8181}, "metrics": {"port": 9191}})
    container = operator_container(docs)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"health": 8181, "metrics": 9191}
    assert "--liveness=http://0.0.0.0:8181/healthz" in container["args"]
    assert "--metrics-port=9191" in container["args"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    service = one(docs, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


def test_monitoring_extras_are_off_by_default() -> None:
    kinds = {d["kind"] for d in render()}
    assert not kinds & {"ServiceMonitor", "PrometheusRule"}
    assert not [d for d in of_kind(render(), "ConfigMap") if "dashboard" in d["metadata"]["name"]]


def test_service_monitor_scrapes_the_metrics_service_and_keeps_the_migrations_namespace_label() -> None:
    docs = render(MODES["monitoring"])
    monitor, service = one(docs, "ServiceMonitor"), one(docs, "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    endpoint = monitor["spec"]["endpoints"][0]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["honorLabels"] is True


def test_alert_thresholds_come_from_values() -> None:
    docs = render(
        {
            "metrics": {
                "prometheusRule": {
                    "enabled": True,
                    "errorRateAboveBaseline": 0.02,
                    "latencyRatio": 1.25,
                    "costOverForecast": 0.2,
                }
            }
        }
    )
    rules = {r["alert"]: r for g in one(docs, "PrometheusRule")["spec"]["groups"] for r in g["rules"]}
    assert ") > 0.02" in rules["ProviderMigrationErrorRateAboveBaseline"]["expr"]
    assert "> 1.25" in rules["ProviderMigrationLatencyAboveBaseline"]["expr"]
    assert "> 0.2" in rules["ProviderMigrationCostOverForecast"]["expr"]


def test_grafana_dashboard_configmap_carries_the_dashboard_json() -> None:
    docs = render({"grafanaDashboard": {"enabled": True, "namespace": "monitoring"}})
    cm = next(d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"].endswith("-dashboard"))
    assert cm["metadata"]["namespace"] == "monitoring"
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(cm["data"]["provider-migrations.json"])
    assert dashboard == json.loads((CHART / "files/grafana/provider-migrations.json").read_text())
    assert dashboard["panels"] and all(t["expr"] for p in dashboard["panels"] for t in p["targets"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rbac": {"scope": "namespaced"}}, "watchNamespaces"),
        ({"rbac": {"scope": "namespaced"}, "watchNamespaces": []}, "watchNamespaces"),
        ({"watchNamespaces": ["team-a"]}, "watchNamespaces"),
        ({"rbac": {"scope": "everywhere"}}, "scope"),
        ({"ha": {"enabled": True, "peeringName": "default"}}, "peeringName"),
        ({"ha": {"enabled": True, "replicas": 1}}, "replicas"),
        ({"securityContext": {"readOnlyRootFilesystem": False}}, "readOnlyRootFilesystem"),
        ({"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}, "drop"),
        ({"podSecurityContext": {"runAsNonRoot": False}}, "runAsNonRoot"),
        ({"watchNamespaces": ["Team_A"], "rbac": {"scope": "namespaced"}}, "watchNamespaces"),
        ({"rbac": {"scop": "cluster"}}, "scop"),
        ({"metrics": {"serviceMonitor": {"enabled": True}, "service": {"enabled": False}}}, "metrics.service"),
    ],
)
def test_values_the_chart_refuses(values: dict[str, Any], message: str) -> None:
    assert message in render_error(values)


def test_chart_ships_kopf_peering_crds_with_kopfs_own_names() -> None:
    from kopf._cogs.structs import references  # the selectors kopf itself looks up

    crds = {d["metadata"]["name"]: d for d in yaml.safe_load_all((CHART / "crds/kopf-peerings.yaml").read_text()) if d}
    expected = ((references.CLUSTER_PEERINGS_K, "Cluster"), (references.NAMESPACED_PEERINGS_K, "Namespaced"))
    for selector, scope in expected:
        crd = crds[f"{selector.any_name}.{selector.group}"]
        assert crd["spec"]["scope"] == scope
        version = crd["spec"]["versions"][0]
        assert version["name"] == selector.version and version["served"] and version["storage"]
        status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
        assert status["x-kubernetes-preserve-unknown-fields"] is True


@pytest.mark.parametrize("mode", sorted(MODES))
def test_pmo_run_accepts_the_charts_command_line(mode: str) -> None:
    """The image's entrypoint is `pmo run`; the chart's args must mean what the mode says to the real parser."""
    from provider_migration.cli.main import build_parser

    docs = render(MODES[mode])
    parsed = build_parser().parse_args(["run", *_args(docs)])
    ha = MODES[mode].get("ha", {}).get("enabled", False)
    assert parsed.peering == (FULLNAME if ha else None)  # None: kopf standalone
    assert parsed.all_namespaces == ("watchNamespaces" not in MODES[mode])
    assert parsed.namespace == MODES[mode].get("watchNamespaces", [])
    assert parsed.liveness == "http://0.0.0.0:8080/healthz" and parsed.metrics_port == 9090


def test_the_crds_are_templates_kept_on_uninstall_with_the_generated_spec() -> None:
    """Templates (not crds/) so `helm upgrade` updates them; each spec is the generated one, untouched."""
    rendered = {d["metadata"]["name"]: d for d in of_kind(render(), "CustomResourceDefinition")}
    files = sorted((REPO / "crds").glob("*.migrations.llmops.dev.yaml"))
    assert len(files) == 3 and set(rendered) == {f.name.removesuffix(".yaml") for f in files}
    for path in files:
        generated = yaml.safe_load(path.read_text())
        crd = rendered[generated["metadata"]["name"]]
        assert crd["spec"] == generated["spec"]
        assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
        assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    for crd in of_kind(render({"crds": {"keep": False}}), "CustomResourceDefinition"):
        assert "annotations" not in crd["metadata"]
    assert not of_kind(render({"crds": {"install": False}}), "CustomResourceDefinition")


@pytest.mark.parametrize("mode", sorted(MODES))
def test_view_edit_admin_aggregate_migration_and_template_access_for_people(mode: str) -> None:
    docs = render(MODES[mode])
    aggregated = {d["metadata"]["name"].rsplit("-", 1)[1]: d for d in of_kind(docs, "ClusterRole") if is_aggregated(d)}
    assert set(aggregated) == {"view", "edit", "read"}
    labels = {
        name: {k for k in role["metadata"]["labels"] if k.startswith(AGGREGATE_LABEL)}
        for name, role in aggregated.items()
    }
    assert labels["view"] == labels["read"] == {f"{AGGREGATE_LABEL}{r}" for r in ("view", "edit", "admin")}
    assert labels["edit"] == {f"{AGGREGATE_LABEL}{r}" for r in ("edit", "admin")}
    group = "migrations.llmops.dev"
    view, edit = permissions(aggregated["view"]["rules"]), permissions(aggregated["edit"]["rules"])
    read = permissions(aggregated["read"]["rules"])
    assert view == {
        (group, r, v, "*")
        for r in ("providermigrations", "providermigrations/status", "migrationtemplates")
        for v in ("get", "list", "watch")
    }
    # Commands (approve, abort, pause, ...) are patches of the object; status is never a person's to write.
    assert (group, "providermigrations", "patch", "*") in edit and (group, "providermigrations", "create", "*") in edit
    assert (group, "migrationtemplates", "create", "*") in edit and (group, "migrationtemplates", "delete", "*") in edit
    writable = {"providermigrations", "migrationtemplates"}
    assert not {p for p in view | edit if p[1] not in writable and p[2] not in ("get", "list", "watch")}
    # Cluster templates: read by people, changed by none of the default roles.
    assert read == {(group, "clustermigrationtemplates", v, "*") for v in ("get", "list", "watch")}
    assert not {
        p for p in view | edit | read if p[1] == "clustermigrationtemplates" and p[2] not in ("get", "list", "watch")
    }
    assert all(p[0] == group for p in view | edit | read)
    bound = {b["roleRef"]["name"]: b for b in of_kind(docs, "ClusterRoleBinding") + of_kind(docs, "RoleBinding")}
    assert aggregated["view"]["metadata"]["name"] not in bound and aggregated["edit"]["metadata"]["name"] not in bound
    readers = bound[aggregated["read"]["metadata"]["name"]]
    assert readers["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}
    ]


def test_cluster_template_readers_can_be_narrowed() -> None:
    team = {"kind": "Group", "name": "app-teams", "apiGroup": "rbac.authorization.k8s.io"}
    docs = render({"rbac": {"clusterTemplateReaders": [team]}})
    (binding,) = [b for b in of_kind(docs, "ClusterRoleBinding") if b["roleRef"]["name"].endswith("-read")]
    assert binding["subjects"] == [team]
    docs = render({"rbac": {"clusterTemplateReaders": []}})
    assert not [b for b in of_kind(docs, "ClusterRoleBinding") if b["roleRef"]["name"].endswith("-read")]


def test_aggregated_roles_can_be_left_out() -> None:
    assert not [
        d for d in of_kind(render({"rbac": {"aggregateToDefaultRoles": False}}), "ClusterRole") if is_aggregated(d)
    ]


def test_helm_package_ships_the_crd_once_as_a_template(tmp_path: Path) -> None:
    result = run_helm("package", str(CHART), "--destination", str(tmp_path))
    assert result.returncode == 0, result.stderr
    chart_yaml = yaml.safe_load((CHART / "Chart.yaml").read_text())
    archive = tmp_path / f"{chart_yaml['name']}-{chart_yaml['version']}.tgz"
    with tarfile.open(archive) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames()}
        packaged = tar.extractfile(f"{chart_yaml['name']}/files/crds/providermigrations.migrations.llmops.dev.yaml")
        assert packaged is not None
        assert packaged.read() == (REPO / "crds" / "providermigrations.migrations.llmops.dev.yaml").read_bytes()
    assert {"Chart.yaml", "values.yaml", "values.schema.json", "templates/crds.yaml"} <= names
    # Helm would install a crds/ copy once and then refuse the template's: only kopf's peering CRDs are there.
    assert {n for n in names if n.startswith("crds/")} == {"crds/kopf-peerings.yaml"}


def test_notifications_configmap_and_the_right_to_read_exactly_its_secrets() -> None:
    from provider_migration.notifications.config import parse

    services = {"oncall": {"urlSecret": {"name": "pmo-notify-oncall", "key": "url"}}}
    values = {
        "notifications": {
            "enabled": True,
            "services": services,
            "defaultSubscriptions": {"*": [{"service": "oncall", "triggers": ["rolling-back"]}]},
            "templates": {"rolling-back": {"title": "$namespace/$name rolling back"}},
        }
    }
    docs = render(values)
    cm = next(d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"] == f"{FULLNAME}-notifications")
    config = parse(cm["data"]["config.yaml"])
    assert config.problems == [] and set(config.services) == {"oncall"}
    assert [s.service for s in config.subscriptions("any", None)] == ["oncall"]
    assert f"--notifications={RELEASE_NAMESPACE}/{FULLNAME}-notifications" in _args(docs)
    role = next(d for d in of_kind(docs, "Role") if d["metadata"]["name"] == f"{FULLNAME}-notifications")
    assert role["metadata"]["namespace"] == RELEASE_NAMESPACE
    assert {(r["resources"][0], tuple(r["resourceNames"]), tuple(r["verbs"])) for r in role["rules"]} == {
        ("configmaps", (f"{FULLNAME}-notifications",), ("get",)),
        ("secrets", ("pmo-notify-oncall",), ("get",)),
    }
    assert not [a for a in _args(render()) if a.startswith("--notifications")], "off by default"


def test_command_authors_policy_is_the_tested_file_named_after_the_release() -> None:
    docs = render()
    policy, binding = one(docs, "MutatingAdmissionPolicy"), one(docs, "MutatingAdmissionPolicyBinding")
    tested = list(yaml.safe_load_all((CHART / "files" / "command-authors.yaml").read_text()))
    assert policy["spec"] == tested[0]["spec"], "the chart installs exactly what the e2e fixture applies"
    assert policy["metadata"]["name"] == binding["spec"]["policyName"] == f"{FULLNAME}-command-authors"
    assert not of_kind(render({"commandAuthors": {"enabled": False}}), "MutatingAdmissionPolicy")
