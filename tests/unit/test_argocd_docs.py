"""docs/argocd.md recommends ignoreDifferences that cover exactly what the operator server-side applies on each
routing kind: the adapters run against a recording fake, and every path they apply must be in the docs'
Application, and nothing else (a route's `spec.rules` is one atomic field, not only its weights)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from provider_migration.api.constants import CONFIG_HASH_ANNOTATION
from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.routing.aigatewayroute import AIGatewayRouteAdapter
from provider_migration.routing.httproute import HTTPRouteAdapter
from provider_migration.routing.kube import Kind
from provider_migration.routing.litellm import LiteLLMConfigMapRoute

DOC = Path(__file__).resolve().parents[2] / "docs" / "argocd.md"
SRC, DST = "openai-gpt-4o", "anthropic-claude"


class RecordingKube:
    """Kube's get/apply over one stored object per kind; apply records the paths it names."""

    namespace = "support"

    def __init__(self, objects: dict[str, dict[str, Any]]) -> None:
        self.objects = objects
        self.applied: set[tuple[str, str]] = set()

    def get(self, kind: Kind, name: str) -> dict[str, Any] | None:
        return self.objects.get(kind.kind)

    def apply(self, kind: Kind, name: str, fields: dict[str, Any], resource_version: str | None = None) -> None:
        self.applied |= {(kind.kind, path) for path in _paths(fields)}


def _paths(node: dict[str, Any], prefix: str = "") -> list[str]:
    """jq paths of the leaves a server-side apply names; a list is a leaf (the routes' lists are atomic)."""
    out = []
    for key, value in node.items():
        path = prefix + (f".{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else f'["{key}"]')
        out += _paths(value, path) if isinstance(value, dict) else [path]
    return out


def _spec(kind: str, **route: Any) -> ProviderMigrationSpec:
    return ProviderMigrationSpec.model_validate(
        {
            "route": {"kind": kind, "name": "llm-gateway", "modelName": "chat", **route},
            "source": {"provider": "openai", "model": "gpt-4o", "backend": SRC},
            "target": {"provider": "anthropic", "model": "claude-sonnet-4-5", "backend": DST},
        }
    )


def _route(kind: str, rule: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": "llm-gateway", "resourceVersion": "1"}, "spec": {"rules": [rule]}}


def _documented() -> dict[str, set[str]]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    (app,) = [d for b in blocks if (d := yaml.safe_load(b)) and d.get("kind") == "Application"]
    documented: dict[str, set[str]] = {}
    for entry in app["spec"]["ignoreDifferences"]:
        documented.setdefault(entry["kind"], set()).update(entry["jqPathExpressions"])
    assert "RespectIgnoreDifferences=true" in app["spec"]["syncPolicy"]["syncOptions"]
    return documented


def test_routes_write_their_whole_rules_list_and_the_docs_ignore_exactly_that() -> None:
    documented = _documented()
    model_match = [{"headers": [{"type": "Exact", "name": "x-ai-eg-model", "value": "chat"}]}]
    for adapter_type, kind, rule in (
        (HTTPRouteAdapter, "HTTPRoute", {"backendRefs": [{"name": SRC, "port": 443}]}),
        (AIGatewayRouteAdapter, "AIGatewayRoute", {"matches": model_match, "backendRefs": [{"name": SRC}]}),
    ):
        adapter = adapter_type(None, "support", _spec(kind))  # type: ignore[arg-type]
        kube = RecordingKube({kind: _route(kind, rule)})
        adapter.kube = kube  # type: ignore[assignment]
        adapter.apply_weights(90, 10, 0)  # adds the target's backendRef: more than a weight
        assert kube.applied == {(kind, ".spec.rules")}
        assert documented[kind] == {".spec.rules"}, f"docs/argocd.md must ignore all of {kind} .spec.rules"


@pytest.mark.parametrize("reload", [True, False])
def test_litellm_writes_the_config_key_and_the_reload_annotation_the_docs_ignore(reload: bool) -> None:
    documented = _documented()
    route = {"reload": {"deployment": "litellm"}} if reload else {}
    adapter = LiteLLMConfigMapRoute(None, "support", _spec("ConfigMap", **route))  # type: ignore[arg-type]
    config_map = {"metadata": {"name": "llm-gateway", "resourceVersion": "1"}, "data": {"config.yaml": "{}"}}
    kube = RecordingKube({"ConfigMap": config_map, "Deployment": {"spec": {"template": {"metadata": {}}}}})
    adapter.kube = kube  # type: ignore[assignment]
    adapter._write(config_map, "model_list: []\n", adapter._deployment())
    expected = {("ConfigMap", '.data["config.yaml"]')}
    if reload:
        expected.add(("Deployment", f'.spec.template.metadata.annotations["{CONFIG_HASH_ANNOTATION}"]'))
    assert kube.applied == expected
    for kind, path in expected:
        assert path in documented[kind]
