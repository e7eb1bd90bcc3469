"""Writing kubeconfigs and building clients from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml
from kubernetes import client, config


def write_kubeconfig(
    path: Path,
    server: str,
    *,
    ca_file: Path | None = None,
    ca_data: str | None = None,
    insecure: bool = False,
    user: dict[str, Any],
    name: str = "pmo-local",
) -> Path:
    """Writes a one-cluster, one-user kubeconfig (mode 0600: it may hold a token or key paths)."""
    cluster: dict[str, Any] = {"server": server}
    if ca_file:
        cluster["certificate-authority"] = str(ca_file)
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    if insecure:
        cluster["insecure-skip-tls-verify"] = True
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def kubeconfig_for_token(source: Path, token: str, path: Path, name: str = "pmo-token") -> Path:
    """A kubeconfig for the current cluster of `source`, authenticating with a bearer token only."""
    doc = yaml.safe_load(source.read_text())
    ctx_name = doc.get("current-context")
    ctx = next(c["context"] for c in doc["contexts"] if c["name"] == ctx_name)
    cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == ctx["cluster"])
    ca = cluster.get("certificate-authority")
    ca_file = (source.parent / ca).resolve() if ca else None  # relative paths are relative to the file
    return write_kubeconfig(
        path,
        cluster["server"],
        ca_file=ca_file,
        ca_data=cluster.get("certificate-authority-data"),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        user={"token": token},
        name=name,
    )


def api_client(kubeconfig: Path) -> client.ApiClient:
    """A fresh kubernetes ApiClient for `kubeconfig` (does not touch the global default config)."""
    api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    return cast(client.ApiClient, api)
