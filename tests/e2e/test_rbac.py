"""The chart's RBAC installed for real (`helm install` on the local API server, RBAC authorization on) and
exercised with a token of the chart's ServiceAccount from the TokenRequest API (`kubectl create token`):
every verb the operator needs is allowed where it should be, the identity is refused (403) what it has no
business doing (listing Secrets, reading a Secret outside its namespaces, deleting a ConfigMap), and the
real operator, started with the installed Deployment's own arguments and only that token, carries a whole
migration to Succeeded, standalone and in a kopf peering.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from operator_support import (
    SOURCE_KEY,
    TARGET_KEY,
    WeightRecorder,
    create_litellm_world,
    event_reasons,
    events_text,
    free_port,
    get_migration,
    migration,
    phase_of,
    target_weight_in,
    wait_for,
)

from helm_chart import CHART, OPERATOR_NEEDS, run_helm
from pmo_devenv import MIGRATOR, ControlPlane, ExistingCluster, api_client, delegate_to_migrations
from provider_migration.api import constants as c

pytestmark = pytest.mark.e2e

Cluster = ControlPlane | ExistingCluster


@dataclass
class Release:
    """A chart installed for real, and a kubeconfig holding only its ServiceAccount's token."""

    name: str
    namespace: str
    service_account: str
    kubeconfig: Path
    watched: list[str]

    def kubectl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", f"--kubeconfig={self.kubeconfig}", *args], capture_output=True, text=True, timeout=60
        )

    def can_i(self, verb: str, group: str, resource: str, namespace: str | None, name: str = "") -> bool:
        """A SelfSubjectAccessReview, as `kubectl auth can-i` sends, but with the API group explicit: kubectl
        drops the group of a kind whose CRD is not installed (HTTPRoute, AIGatewayRoute here) and asks about
        a resource that does not exist."""
        plural, _, subresource = resource.partition("/")
        review = client.AuthorizationV1Api(self.api).create_self_subject_access_review(
            client.V1SelfSubjectAccessReview(
                spec=client.V1SelfSubjectAccessReviewSpec(
                    resource_attributes=client.V1ResourceAttributes(
                        verb=verb,
                        group=group,
                        resource=plural,
                        subresource=subresource or None,
                        namespace=namespace,
                        name=name or None,
                    )
                )
            )
        )
        return review.status is not None and bool(review.status.allowed)

    @cached_property
    def api(self) -> client.ApiClient:
        return api_client(self.kubeconfig)


def _make_namespace(kube: client.ApiClient, name: str) -> str:
    client.CoreV1Api(kube).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"pmo-test": "e2e"}))
    )
    return name


@pytest.fixture
def install(
    control_plane: Cluster, kube: client.ApiClient, namespace: str, tmp_path: Path, product_crd: None
) -> Iterator[Callable[..., Release]]:
    """install(values, watched=N) -> Release: `helm install` into a fresh namespace, plus a token kubeconfig."""
    installed: list[str] = []
    extra_namespaces: list[str] = []

    def _install(values: dict[str, Any], watched: int = 0) -> Release:
        release = f"rbac-{secrets.token_hex(3)}"
        names = [_make_namespace(kube, f"{namespace[:50]}-{release[-6:]}-w{i}") for i in range(watched)]
        extra_namespaces.extend(names)
        if watched:
            values = {**values, "watchNamespaces": names}
        # The session's tests share one ProviderMigration CRD (conftest.product_crd); a release must not own it.
        values = {"crds": {"install": False}, **values}
        result = run_helm(
            "install",
            release,
            str(CHART),
            "--namespace",
            namespace,
            f"--kubeconfig={control_plane.kubeconfig}",
            values=values,
        )
        assert result.returncode == 0, result.stderr
        installed.append(release)
        service_account = f"{release}-provider-migration-operator"
        token = subprocess.run(
            [
                "kubectl",
                f"--kubeconfig={control_plane.kubeconfig}",
                "create",
                "token",
                service_account,
                f"--namespace={namespace}",
                "--duration=1h",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        kubeconfig = control_plane.kubeconfig_for_token(token, tmp_path / f"{release}.kubeconfig")
        return Release(release, namespace, service_account, kubeconfig, names)

    yield _install
    for release in installed:
        run_helm("uninstall", release, "--namespace", namespace, f"--kubeconfig={control_plane.kubeconfig}")
    for name in extra_namespaces:
        with contextlib.suppress(client.ApiException):
            client.CoreV1Api(kube).delete_namespace(name)


def _plain(kube: client.ApiClient, obj: Any) -> dict[str, Any]:
    """A client model as the API's JSON (the models type every field Optional)."""
    return dict(kube.sanitize_for_serialization(obj))


def _status_of(call: Callable[[], Any]) -> int:
    try:
        call()
    except client.ApiException as e:
        return int(e.status)
    return 200


def _seed(kube: client.ApiClient, namespace: str) -> None:
    """A Secret and a ConfigMap the operator could be asked about."""
    core = client.CoreV1Api(kube)
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name="openai-api-key"), string_data={"api-key": "sk-rbac-test"}),
    )
    core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="llm-gateway"), data={"config.yaml": "model_list: []\n"}),
    )


def test_the_token_authenticates_as_the_charts_service_account(install: Callable[..., Release]) -> None:
    release = install({})
    who = json.loads(release.kubectl("auth", "whoami", "-o", "json").stdout)
    assert who["status"]["userInfo"]["username"] == (
        f"system:serviceaccount:{release.namespace}:{release.service_account}"
    )


def test_namespaced_mode_allows_every_operator_verb_in_watched_namespaces_only(
    install: Callable[..., Release], kube: client.ApiClient, namespace: str
) -> None:
    release = install({"rbac": {"scope": "namespaced"}}, watched=2)
    for ns in release.watched:
        for group, resource, verbs in OPERATOR_NEEDS:
            for verb in verbs:
                assert release.can_i(verb, group, resource, ns), f"{verb} {resource} in {ns}"
    # The release's own namespace is not watched: nothing there, and nothing cluster-wide.
    for group, resource, verbs in OPERATOR_NEEDS:
        for verb in verbs:
            assert not release.can_i(verb, group, resource, namespace), f"{verb} {resource} in {namespace}"
    assert not release.can_i("list", "migrations.llmops.dev", "providermigrations", None)


def test_namespaced_mode_refuses_secrets_it_has_no_business_reading(
    install: Callable[..., Release], kube: client.ApiClient, namespace: str
) -> None:
    """The operator's own identity reads no Secret, ConfigMap or Deployment anywhere: it acts as the namespace's
    ServiceAccount, and gets exactly what the namespace delegated to it."""
    release = install({"rbac": {"scope": "namespaced"}}, watched=1)
    watched = release.watched[0]
    _seed(kube, watched)
    _seed(kube, namespace)  # same names, in a namespace the operator does not watch
    core = client.CoreV1Api(release.api)
    for ns in (watched, namespace):
        assert _status_of(lambda: core.read_namespaced_secret("openai-api-key", ns)) == 403  # noqa: B023
        assert _status_of(lambda: core.read_namespaced_config_map("llm-gateway", ns)) == 403  # noqa: B023
    assert _status_of(lambda: core.list_namespaced_secret(watched)) == 403
    assert _status_of(lambda: core.list_secret_for_all_namespaces()) == 403
    assert _status_of(lambda: core.delete_namespaced_config_map("llm-gateway", watched)) == 403
    assert _status_of(lambda: core.delete_namespaced_secret("openai-api-key", watched)) == 403
    assert client.CoreV1Api(kube).read_namespaced_config_map("llm-gateway", watched).data
    # As the namespace's pmo-migrator: nothing before the namespace delegates, exactly the delegation after.
    as_migrator = ["--as", f"system:serviceaccount:{watched}:{MIGRATOR}"]
    assert release.kubectl("auth", "can-i", "get", "secrets", f"-n={watched}", *as_migrator).stdout.strip() == "no"
    delegate_to_migrations(kube, watched)
    assert release.kubectl("auth", "can-i", "get", "secrets", f"-n={watched}", *as_migrator).stdout.strip() == "yes"
    assert release.kubectl("auth", "can-i", "list", "secrets", f"-n={watched}", *as_migrator).stdout.strip() == "no"
    as_other = ["--as", f"system:serviceaccount:{namespace}:{MIGRATOR}"]  # not a watched namespace
    assert "yes" not in release.kubectl("auth", "can-i", "get", "secrets", f"-n={namespace}", *as_other).stdout
    # kubectl's view of the operator's own identity agrees.
    assert release.kubectl("auth", "can-i", "get", "secrets", f"-n={watched}").stdout.strip() == "no"
    assert release.kubectl("auth", "can-i", "get", "secrets", f"-n={namespace}").stdout.strip() == "no"


def test_cluster_mode_allows_every_operator_verb_in_any_namespace_and_refuses_the_rest(
    install: Callable[..., Release], kube: client.ApiClient, namespace: str
) -> None:
    release = install({})
    other = _make_namespace(kube, f"{namespace[:55]}-other")
    try:
        _seed(kube, other)
        for group, resource, verbs in OPERATOR_NEEDS:
            for verb in verbs:
                assert release.can_i(verb, group, resource, other), f"{verb} {resource}"
        core = client.CoreV1Api(release.api)
        assert _status_of(lambda: core.list_secret_for_all_namespaces()) == 403
        assert _status_of(lambda: core.list_namespaced_secret(other)) == 403
        assert _status_of(lambda: core.delete_namespaced_config_map("llm-gateway", other)) == 403
        assert not release.can_i("watch", "", "secrets", other)
        for group, resource in (("", "secrets"), ("", "configmaps"), ("apps", "deployments")):
            assert not release.can_i("get", group, resource, other), resource  # only as a namespace's account
            assert not release.can_i("patch", group, resource, other), resource
        assert not release.can_i("impersonate", "", "users", None)  # ServiceAccounts only, never a person
        assert not release.can_i("impersonate", "", "groups", None)
        assert not release.can_i("update", "", "secrets", other)
        assert not release.can_i("delete", "migrations.llmops.dev", "providermigrations", other)
        assert not release.can_i("create", "migrations.llmops.dev", "providermigrations", other)
        assert not release.can_i("list", "", "namespaces", None)
        assert not release.can_i("create", "rbac.authorization.k8s.io", "clusterroles", None)
    finally:
        client.CoreV1Api(kube).delete_namespace(other)


def test_ha_mode_may_write_only_its_own_peering_object(install: Callable[..., Release]) -> None:
    cluster = install({"ha": {"enabled": True}})
    peering = cluster.service_account  # both default to the release's full name
    for verb in ("list", "watch"):
        assert cluster.can_i(verb, "kopf.dev", "clusterkopfpeerings", None)
    for verb in ("get", "patch"):
        assert cluster.can_i(verb, "kopf.dev", "clusterkopfpeerings", None, name=peering)
        assert not cluster.can_i(verb, "kopf.dev", "clusterkopfpeerings", None, name="default")
    # kopf's keep-alive is a merge patch of the peering object's status (no status subresource).
    patched = cluster.kubectl(
        "patch", "clusterkopfpeerings.kopf.dev", peering, "--type=merge", "-p", '{"status": {"rbac-test": null}}'
    )
    assert patched.returncode == 0, patched.stderr
    assert "Forbidden" in cluster.kubectl("delete", "clusterkopfpeerings.kopf.dev", peering).stderr

    namespaced = install({"ha": {"enabled": True}, "rbac": {"scope": "namespaced"}}, watched=1)
    ns = namespaced.watched[0]
    assert namespaced.can_i("patch", "kopf.dev", "kopfpeerings", ns, name=namespaced.service_account)
    assert not namespaced.can_i("patch", "kopf.dev", "kopfpeerings", ns, name="default")
    assert not namespaced.can_i("list", "kopf.dev", "clusterkopfpeerings", None)


def _operator_args(kube: client.ApiClient, release: Release, health_port: int) -> list[str]:
    """The installed Deployment's container args, with local ports (several tests share this machine)."""
    deployment = _plain(
        kube, client.AppsV1Api(kube).read_namespaced_deployment(release.service_account, release.namespace)
    )
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    local = {"--liveness": f"--liveness=http://127.0.0.1:{health_port}/healthz", "--metrics-port": "--metrics-port=0"}
    return [local.get(a.split("=", 1)[0], a) for a in args] + [f"--kubeconfig={release.kubeconfig}"]


def _start_operator(args: list[str], release: Release, log_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    pmo = shutil.which("pmo") or "pmo"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [pmo, "run", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "KUBECONFIG": str(release.kubeconfig)},
        )
    return proc, log_path


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.mark.parametrize("ha", [False, True], ids=["standalone", "peering"])
def test_the_operator_runs_a_whole_migration_with_only_the_charts_permissions(
    install: Callable[..., Release], kube: client.ApiClient, tmp_path: Path, ha: bool
) -> None:
    values: dict[str, Any] = {"rbac": {"scope": "namespaced"}}
    if ha:
        values["ha"] = {"enabled": True}
    release = install(values, watched=1)
    ns = release.watched[0]
    create_litellm_world(kube, ns)
    delegate_to_migrations(kube, ns)
    health_port = free_port()
    args = _operator_args(kube, release, health_port)
    assert ("--peering=" + release.service_account in args) == ha
    proc, log_path = _start_operator(args, release, tmp_path / "operator.log")
    try:
        client.CustomObjectsApi(kube).create_namespaced_custom_object(
            c.GROUP, c.VERSION, ns, c.PLURAL, migration("as-service-account")
        )
        with WeightRecorder(kube, ns) as recorder:
            wait_for(
                lambda: phase_of(kube, ns, "as-service-account") in ("Succeeded", "Failed", "Blocked"),
                120,
                "the migration to finish",
            )
        health = urllib.request.urlopen(f"http://127.0.0.1:{health_port}/healthz", timeout=5)
        assert health.status == 200
        if ha:  # kopf's keep-alive, written with the chart's peering permissions, names this operator
            peering: dict[str, Any] = client.CustomObjectsApi(kube).get_namespaced_custom_object(  # type: ignore[assignment]
                "kopf.dev", "v1", ns, "kopfpeerings", release.service_account
            )
            assert len(peering.get("status") or {}) == 1, peering
    finally:
        _stop(proc)
    log_text = log_path.read_text(errors="replace")
    print("---- operator log (tail) ----\n" + "\n".join(log_text.splitlines()[-60:]))  # shown on failure
    status = get_migration(kube, ns, "as-service-account")["status"]
    assert status["phase"] == "Succeeded", status.get("message")
    assert recorder.weights == [0, 10, 50, 100]
    core = client.CoreV1Api(kube)
    config = _plain(kube, core.read_namespaced_config_map("llm-gateway", ns))["data"]["config.yaml"]
    assert target_weight_in(config) == 100 and "openai-gpt-4o" not in config
    keys = _plain(kube, core.read_namespaced_secret("llm-gateway-keys", ns))["data"]
    assert "ANTHROPIC_API_KEY" in keys and "OPENAI_API_KEY" not in keys
    deployment = _plain(kube, client.AppsV1Api(kube).read_namespaced_deployment("litellm", ns))
    assert c.CONFIG_HASH_ANNOTATION in deployment["spec"]["template"]["metadata"].get("annotations", {})
    assert {"StepAdvanced", "Succeeded"} <= set(event_reasons(kube, ns))  # Events posted as the ServiceAccount
    for text in (log_text, events_text(kube, ns)):
        assert "Forbidden" not in text and " 403" not in text
        assert SOURCE_KEY not in text and TARGET_KEY not in text
    assert "Pausing" not in log_text


def test_two_replicas_in_a_peering_one_works_the_other_stands_by(
    install: Callable[..., Release], kube: client.ApiClient, tmp_path: Path
) -> None:
    """ha.enabled with replicas: 2, as two processes with the installed Deployment's args."""
    release = install({"rbac": {"scope": "namespaced"}, "ha": {"enabled": True, "replicas": 2}}, watched=1)
    ns = release.watched[0]
    create_litellm_world(kube, ns)
    delegate_to_migrations(kube, ns)
    procs = [
        _start_operator(_operator_args(kube, release, free_port()), release, tmp_path / f"replica-{i}.log")
        for i in range(2)
    ]
    try:
        client.CustomObjectsApi(kube).create_namespaced_custom_object(
            c.GROUP, c.VERSION, ns, c.PLURAL, migration("two-replicas")
        )
        wait_for(
            lambda: phase_of(kube, ns, "two-replicas") in ("Succeeded", "Failed", "Blocked"),
            60,
            "the migration to finish",
        )
    finally:
        for proc, _ in procs:
            _stop(proc)
    logs = [path.read_text(errors="replace") for _, path in procs]
    for i, text in enumerate(logs):
        print(f"---- replica {i} log (tail) ----\n" + "\n".join(text.splitlines()[-30:]))
    assert phase_of(kube, ns, "two-replicas") == "Succeeded"
    # kopf logs a replica's stand-by differently depending on who started first; the work tells: exactly one
    # replica projected the key and routed traffic.
    assert sum("projected the target key" in text for text in logs) == 1, "exactly one replica worked"


class _Recorder:
    """A loopback HTTP server that records every request it receives (path and Authorization header)."""

    def __init__(self) -> None:
        import http.server
        import threading

        received = self.received = []  # type: list[tuple[str, str]]

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                received.append((self.path, self.headers.get("Authorization") or self.headers.get("x-api-key") or ""))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "success", "data": {"resultType": "vector", "result": []}}')

            do_GET = do_POST = _any

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _tenant_kubeconfig(control_plane: Cluster, kube: client.ApiClient, ns: str, path: Path) -> Path:
    """A user of `ns` who may only create and look at ProviderMigrations there."""
    core, rbac = client.CoreV1Api(kube), client.RbacAuthorizationV1Api(kube)
    core.create_namespaced_service_account(ns, {"metadata": {"name": "tenant"}})
    rules = [{"apiGroups": [c.GROUP], "resources": [c.PLURAL], "verbs": ["create", "get", "list", "patch"]}]
    rbac.create_namespaced_role(ns, {"metadata": {"name": "tenant"}, "rules": rules})
    rbac.create_namespaced_role_binding(
        ns,
        {
            "metadata": {"name": "tenant"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant"},
            "subjects": [{"kind": "ServiceAccount", "name": "tenant", "namespace": ns}],
        },
    )
    token = subprocess.run(
        ["kubectl", f"--kubeconfig={control_plane.kubeconfig}", "create", "token", "tenant", f"-n={ns}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    return control_plane.kubeconfig_for_token(token, path)


def test_a_tenant_cannot_use_the_operator_to_read_send_overwrite_delete_or_restart_anything(
    install: Callable[..., Release], control_plane: Cluster, kube: client.ApiClient, tmp_path: Path
) -> None:
    """The confused-deputy attacks, by a user who may only create ProviderMigrations: each is Blocked with a
    reason before any request leaves, and every object stays exactly as it was."""
    allowed, attacker = _Recorder(), _Recorder()
    release = install({"rbac": {"scope": "namespaced"}, "tenancy": {"credentialURLs": [allowed.url + "/"]}}, watched=1)
    ns = release.watched[0]
    create_litellm_world(kube, ns)  # the namespace has not delegated anything to pmo-migrator
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    for name, key, value in (
        ("payments-signing", "hmac", "hmac-VALUE-0f3a"),
        ("db-credentials", "password", "db-VALUE-77e1"),
        ("redis-credentials", "password", "redis-VALUE-1b9c"),
    ):
        core.create_namespaced_secret(ns, {"metadata": {"name": name}, "stringData": {key: value}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "team-config"}, "data": {"dataset.jsonl": "{}"}})
    apps.create_namespaced_deployment(
        ns,
        {
            "metadata": {"name": "postgres"},
            "spec": {
                "selector": {"matchLabels": {"app": "postgres"}},
                "template": {
                    "metadata": {"labels": {"app": "postgres"}},
                    "spec": {"containers": [{"name": "postgres", "image": "postgres:17"}]},
                },
            },
        },
    )
    before = {
        "secrets": {
            s.metadata.name: (s.metadata.resource_version, s.data) for s in core.list_namespaced_secret(ns).items
        },
        "configmaps": {m.metadata.name: m.metadata.resource_version for m in core.list_namespaced_config_map(ns).items},
        "deployments": {
            d.metadata.name: d.metadata.resource_version for d in apps.list_namespaced_deployment(ns).items
        },
    }
    tenant = api_client(_tenant_kubeconfig(control_plane, kube, ns, tmp_path / "tenant.kubeconfig"))
    assert _status_of(lambda: client.CoreV1Api(tenant).read_namespaced_secret("payments-signing", ns)) == 403

    def prometheus(url: str) -> dict[str, Any]:
        return {"prometheus": {"url": url, "authSecret": {"name": "payments-signing", "key": "hmac"}}}

    base = migration("x")["spec"]
    target_as = {**base["target"], "credentials": {"secretName": "payments-signing", "key": "hmac"}}
    attacks: dict[str, tuple[dict[str, Any], str]] = {
        # the finding: a Secret the tenant cannot read, sent to the tenant's server, for a route that does not exist
        "send-secret": (
            {"route": {**base["route"], "name": "no-such-route"}, "analysis": prometheus(attacker.url)},
            "CredentialURLNotAllowed",
        ),
        "read-secret": ({"analysis": prometheus(allowed.url)}, "NotPermitted"),
        "overwrite-key": (
            {
                "route": {**base["route"], "modelName": "m2"},
                "gatewaySecret": "db-credentials",
                "target": {**target_as, "credentials": {**target_as["credentials"], "gatewayKey": "password"}},
            },
            "NotPermitted",
        ),
        "delete-key": (
            {
                "route": {**base["route"], "modelName": "m3"},
                "gatewaySecret": "redis-credentials",
                "source": {**base["source"], "credentials": {"secretName": "openai-api-key", "gatewayKey": "password"}},
            },
            "NotPermitted",
        ),
        "restart": (
            {"route": {**base["route"], "modelName": "m4", "reload": {"deployment": "postgres"}}},
            "NotPermitted",
        ),
        "evaluate-to-attacker": (
            {
                "route": {**base["route"], "modelName": "m5"},
                "target": {**target_as, "apiBase": attacker.url + "/v1"},
                "evaluation": {"dataset": {"configMap": "team-config"}},
            },
            "CredentialURLNotAllowed",
        ),
        "read-configmap": (
            {
                "route": {**base["route"], "modelName": "m6"},
                "source": {**base["source"], "apiBase": allowed.url + "/v1"},
                "target": {**base["target"], "apiBase": allowed.url + "/v1"},
                "evaluation": {"dataset": {"configMap": "team-config"}},
            },
            "NotPermitted",
        ),
    }
    proc, log_path = _start_operator(_operator_args(kube, release, free_port()), release, tmp_path / "operator.log")
    try:
        for name, (overrides, _) in attacks.items():
            client.CustomObjectsApi(tenant).create_namespaced_custom_object(
                c.GROUP, c.VERSION, ns, c.PLURAL, migration(name, **overrides)
            )
        for name in attacks:
            wait_for(lambda: phase_of(kube, ns, name) == "Blocked", 60, f"{name} to be Blocked")  # noqa: B023
        statuses = {name: get_migration(kube, ns, name)["status"] for name in attacks}
    finally:
        _stop(proc)
        allowed.close()
        attacker.close()
    log_text = log_path.read_text(errors="replace")
    print("---- operator log (tail) ----\n" + "\n".join(log_text.splitlines()[-40:]))
    for name, (_, reason) in attacks.items():
        assert statuses[name]["reason"] == reason, (name, statuses[name].get("message"))
        assert statuses[name]["message"], name
    assert "no-such-route" not in statuses["send-secret"]["message"]  # refused before the route was even read
    assert attacker.received == [] and allowed.received == []  # nothing left the operator
    after = {
        "secrets": {
            s.metadata.name: (s.metadata.resource_version, s.data) for s in core.list_namespaced_secret(ns).items
        },
        "configmaps": {m.metadata.name: m.metadata.resource_version for m in core.list_namespaced_config_map(ns).items},
        "deployments": {
            d.metadata.name: d.metadata.resource_version for d in apps.list_namespaced_deployment(ns).items
        },
    }
    # Nothing written, nothing created (no evaluation ConfigMap), nothing deleted; kube-root-ca.crt aside.
    assert after == before
    for text in (log_text, events_text(kube, ns), json.dumps(statuses)):
        for value in ("hmac-VALUE-0f3a", "db-VALUE-77e1", "redis-VALUE-1b9c", SOURCE_KEY, TARGET_KEY):
            assert value not in text


def _allowed(kube: client.ApiClient, user: str, verb: str, resource: str, namespace: str | None) -> bool:
    """A SubjectAccessReview for `user` as an authenticated ServiceAccount (what an app team's CI runs as)."""
    review = client.AuthorizationV1Api(kube).create_subject_access_review(
        client.V1SubjectAccessReview(
            spec=client.V1SubjectAccessReviewSpec(
                user=user,
                groups=["system:serviceaccounts", "system:authenticated"],
                resource_attributes=client.V1ResourceAttributes(
                    verb=verb, group=c.GROUP, resource=resource, namespace=namespace
                ),
            )
        )
    )
    return review.status is not None and bool(review.status.allowed)


@pytest.mark.parametrize("scope", ["cluster", "namespaced"])
def test_templates_are_read_with_get_only_and_cluster_templates_are_nobodys_to_edit(
    install: Callable[..., Release], kube: client.ApiClient, namespace: str, scope: str
) -> None:
    release = install({"rbac": {"scope": scope}}, watched=1 if scope == "namespaced" else 0)
    where = release.watched[0] if release.watched else namespace
    # The operator: get, nothing more, on MigrationTemplates; cluster templates it may read (its own `get`, and
    # like every authenticated user through rbac.clusterTemplateReaders) but never change.
    assert release.can_i("get", c.GROUP, c.TEMPLATE_PLURAL, where)
    assert release.can_i("get", c.GROUP, c.CLUSTER_TEMPLATE_PLURAL, None)
    for verb in ("list", "watch", "create", "patch", "delete"):
        assert not release.can_i(verb, c.GROUP, c.TEMPLATE_PLURAL, where), verb
    for verb in ("create", "update", "patch", "delete"):
        assert not release.can_i(verb, c.GROUP, c.CLUSTER_TEMPLATE_PLURAL, None), verb
    if scope == "namespaced":
        assert not release.can_i("get", c.GROUP, c.TEMPLATE_PLURAL, namespace), "an unwatched namespace"
    # An app team with the chart's edit role in its namespace (bound directly: no aggregation controller runs here).
    team = f"system:serviceaccount:{where}:app-team"
    client.RbacAuthorizationV1Api(kube).create_namespaced_role_binding(
        where,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="app-team-edit"),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=f"{release.service_account}-edit"
            ),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name="app-team", namespace=where)],
        ),
    )
    wait_for(lambda: _allowed(kube, team, "create", c.TEMPLATE_PLURAL, where), 10, "the binding to take effect")
    assert _allowed(kube, team, "delete", c.TEMPLATE_PLURAL, where)
    assert _allowed(kube, team, "get", c.CLUSTER_TEMPLATE_PLURAL, None)  # rbac.clusterTemplateReaders
    assert _allowed(kube, team, "list", c.CLUSTER_TEMPLATE_PLURAL, None)
    for verb in ("create", "update", "patch", "delete"):
        assert not _allowed(kube, team, verb, c.CLUSTER_TEMPLATE_PLURAL, None), verb


def test_the_operator_runs_a_templated_migration_with_only_the_charts_permissions(
    install: Callable[..., Release], kube: client.ApiClient, tmp_path: Path
) -> None:
    release = install({"rbac": {"scope": "namespaced"}}, watched=1)
    ns = release.watched[0]
    create_litellm_world(kube, ns)
    delegate_to_migrations(kube, ns)
    api = client.CustomObjectsApi(kube)
    template = f"rbac-{secrets.token_hex(3)}"
    policy = {
        "strategy": {"type": "Phased", "steps": [{"weight": 50}, {"weight": 100}]},
        "cleanup": {"stabilization": "1s"},
    }
    api.create_cluster_custom_object(
        c.GROUP, c.VERSION, c.CLUSTER_TEMPLATE_PLURAL,
        {"apiVersion": c.API_VERSION, "kind": c.CLUSTER_TEMPLATE_KIND, "metadata": {"name": template}, "spec": policy},
    )  # fmt: skip
    body = migration("from-template")
    del body["spec"]["strategy"], body["spec"]["cleanup"]
    body["spec"]["templateRef"] = {"kind": c.CLUSTER_TEMPLATE_KIND, "name": template}
    proc, log_path = _start_operator(_operator_args(kube, release, free_port()), release, tmp_path / "operator.log")
    try:
        api.create_namespaced_custom_object(c.GROUP, c.VERSION, ns, c.PLURAL, body)
        wait_for(lambda: phase_of(kube, ns, "from-template") in ("Succeeded", "Blocked"), 90, "the migration to end")
    finally:
        _stop(proc)
        api.delete_cluster_custom_object(c.GROUP, c.VERSION, c.CLUSTER_TEMPLATE_PLURAL, template)
    log_text = log_path.read_text(errors="replace")
    print("---- operator log (tail) ----\n" + "\n".join(log_text.splitlines()[-40:]))
    status = get_migration(kube, ns, "from-template")["status"]
    assert status["phase"] == "Succeeded", status.get("message")
    assert status["template"]["name"] == template and "Forbidden" not in log_text
