"""The CLI's access to ProviderMigrations: kubeconfig/in-cluster loading, namespace defaulting, typed errors.

Configuration follows kubectl: `--kubeconfig`, else $KUBECONFIG (a path list), else ~/.kube/config, else the
in-cluster service account. The namespace is `-n`, else the context's namespace, else the service
account's namespace in a pod, else `default`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from provider_migration.api.constants import (
    CLUSTER_TEMPLATE_KIND,
    CLUSTER_TEMPLATE_PLURAL,
    GROUP,
    KIND,
    PLURAL,
    TEMPLATE_PLURAL,
    VERSION,
)
from provider_migration.connection_errors import unable_to_connect

# Field manager for the CLI's own writes, distinct from the operator's, so managedFields tell them apart.
CLI_FIELD_MANAGER = "pmo"
MERGE_PATCH = "application/merge-patch+json"
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class ClusterError(Exception):
    """The cluster could not be reached or refused a request."""


class NotFound(ClusterError):
    """The named ProviderMigration does not exist."""


class Conflict(ClusterError):
    """The object changed since it was read (resourceVersion precondition failed)."""


def _kubeconfig_paths(explicit: str | None) -> str | None:
    """The kubeconfig path list to load, or None when none exists (then in-cluster applies)."""
    if explicit:
        return explicit
    env = os.environ.get("KUBECONFIG", "")
    paths = [p for p in env.split(os.pathsep) if p and Path(p).expanduser().exists()]
    if paths:
        return os.pathsep.join(paths)
    home = Path("~/.kube/config").expanduser()
    return str(home) if home.exists() else None


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and SERVICE_ACCOUNT_NAMESPACE.parent.is_dir()


def _context_namespace(kubeconfig: str, context: str | None) -> str | None:
    contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
    return ((chosen or {}).get("context") or {}).get("namespace")


@dataclass
class Connection:
    api: client.CustomObjectsApi
    namespace: str


def connect(kubeconfig: str | None, context: str | None, namespace: str | None) -> Connection:
    """An API client and the namespace to use; raises ClusterError when no configuration is usable."""
    paths = _kubeconfig_paths(kubeconfig)
    missing = [p for p in (paths or "").split(os.pathsep) if p and not Path(p).expanduser().exists()]
    if missing:
        raise ClusterError(f'error loading config file "{missing[0]}": no such file')
    try:
        if paths is not None:
            api_client = config.new_client_from_config(config_file=paths, context=context, persist_config=False)
            default_ns = _context_namespace(paths, context)
        elif _in_cluster():
            config.load_incluster_config()
            api_client = client.ApiClient()
            default_ns = SERVICE_ACCOUNT_NAMESPACE.read_text().strip() if SERVICE_ACCOUNT_NAMESPACE.exists() else None
        else:
            raise ClusterError("no kubeconfig found (set --kubeconfig or KUBECONFIG) and not running in a cluster")
    except Exception as e:  # the kubernetes loader raises anything from YAMLError to TypeError on a bad file
        raise ClusterError(config_problem(e, paths)) from None
    return Connection(client.CustomObjectsApi(api_client), namespace or default_ns or "default")


def config_problem(e: BaseException, paths: str | None) -> str:
    """One line for a kubeconfig that cannot be used, as kubectl words it ("error loading config file ...")."""
    if isinstance(e, ClusterError):
        return str(e)
    where = f'error loading config file "{paths}"' if paths else "cannot load the in-cluster configuration"
    if isinstance(e, yaml.YAMLError):
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        return f"{where}: not valid YAML{line}: {getattr(e, 'problem', None) or type(e).__name__}"
    if isinstance(e, UnicodeDecodeError):
        return f"{where}: not a kubeconfig (not UTF-8 text)"
    if isinstance(e, IsADirectoryError):
        return f"{where}: is a directory"
    if isinstance(e, OSError):
        return f"{where}: {e.strerror or e}"
    if isinstance(e, ConfigException):
        return f"{where}: {e}"
    return f"{where}: not a kubeconfig ({type(e).__name__})"


def _api_message(e: client.ApiException) -> str:
    try:
        body = json.loads(e.body or "")
        return str(body.get("message") or e.reason)
    except (ValueError, AttributeError):
        return str(e.reason)


def _not_found_detail(e: client.ApiException) -> dict[str, Any]:
    """The Status details of a 404: present (with the kind) when the object is missing, absent when the
    resource type itself is unknown, i.e. the CRD is not installed."""
    try:
        return dict(json.loads(e.body or "").get("details") or {})
    except (ValueError, AttributeError):
        return {}


def _translate(e: client.ApiException, what: str) -> ClusterError:
    if e.status == 404:
        if _not_found_detail(e).get("name"):
            return NotFound(f"{what} not found")
        return ClusterError(
            f"the {KIND} API ({GROUP}/{VERSION}) is not served by this cluster: install the CRD with "
            "`pmo crds | kubectl apply --server-side -f -`"
        )
    if e.status == 409:
        return Conflict(f"{what} changed while being updated: {_api_message(e)}")
    return ClusterError(f"{what}: {e.status} {_api_message(e)}")


class Migrations:
    """ProviderMigrations in one namespace (or all namespaces for `list(all_namespaces=True)`)."""

    def __init__(self, conn: Connection) -> None:
        self.api = conn.api
        self.namespace = conn.namespace
        self.server: str | None = getattr(getattr(conn.api.api_client, "configuration", None), "host", None)

    def _what(self, name: str) -> str:
        return f'{KIND} "{name}" in namespace "{self.namespace}"'

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(fn(*args, **kwargs))
        except client.ApiException as e:
            raise _translate(e, what) from e
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise ClusterError(unable_to_connect(e, self.server)) from None

    def get(self, name: str) -> dict[str, Any]:
        return self._call(
            self._what(name), self.api.get_namespaced_custom_object, GROUP, VERSION, self.namespace, PLURAL, name
        )

    def list_objects(self, all_namespaces: bool = False, selector: str | None = None) -> list[dict[str, Any]]:
        """`selector` is a label selector as kubectl takes it (`app=chat,tier!=batch`)."""
        extra = {"label_selector": selector} if selector else {}
        if all_namespaces:
            result = self._call(f"{KIND} list", self.api.list_cluster_custom_object, GROUP, VERSION, PLURAL, **extra)
        else:
            result = self._call(
                f"{KIND} list",
                self.api.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                **extra,
            )
        return list(result.get("items") or [])

    def patch(self, name: str, body: dict[str, Any], resource_version: str | None = None) -> dict[str, Any]:
        """JSON merge patch; with `resource_version` the server rejects it (Conflict) if the object changed."""
        if resource_version is not None:
            body = {**body, "metadata": {**body.get("metadata", {}), "resourceVersion": resource_version}}
        return self._call(
            self._what(name),
            self.api.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            name,
            body,
            field_manager=CLI_FIELD_MANAGER,
            _content_type=MERGE_PATCH,
        )


class ClusterTemplates:
    """Templates for `pmo plan/simulate/eval -f` when the file does not hold the one a migration names: read
    from the cluster (connected on first use; the file's namespace, else `-n`, else the context's)."""

    def __init__(self, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
        self.kubeconfig, self.context, self.namespace = kubeconfig, context, namespace
        self._conn: Connection | None = None

    def __call__(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        from provider_migration.simulation.manifests import ManifestError

        what = f"{kind} {name}"
        try:
            if self._conn is None:
                self._conn = connect(self.kubeconfig, self.context, self.namespace)
            api = self._conn.api
            if kind == CLUSTER_TEMPLATE_KIND:
                obj = api.get_cluster_custom_object(GROUP, VERSION, CLUSTER_TEMPLATE_PLURAL, name)
            else:
                ns = namespace if namespace != "default" or not self.namespace else self._conn.namespace
                obj = api.get_namespaced_custom_object(GROUP, VERSION, ns, TEMPLATE_PLURAL, name)
            return cast(dict[str, Any], obj)
        except client.ApiException as e:
            if e.status == 404:
                return None
            raise ManifestError(f"{what} is not in the file and reading it failed: {_translate(e, what)}") from None
        except ClusterError as e:
            raise ManifestError(f"{what} is not in the file and no cluster is reachable: {e}") from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise ManifestError(f"{what} is not in the file: {unable_to_connect(e, None)}") from None


def cluster_templates(args: Any) -> ClusterTemplates:
    return ClusterTemplates(
        getattr(args, "kubeconfig", None), getattr(args, "context", None), getattr(args, "namespace", None)
    )
