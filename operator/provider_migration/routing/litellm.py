"""LiteLLM proxy config in a ConfigMap: weights of two `model_list` deployments of one model group.

Semantics follow LiteLLM's default `simple-shuffle` router: if the group's first deployment has
`litellm_params.weight`, every deployment's weight is read with default 0; else `rpm`, else `tpm`,
else the pick is uniform. The proxy reads the file only at start-up, so after a write the Deployment
named in `route.reload` gets a pod-template annotation with the config's hash, which rolls its pods.

Server-side apply ownership (field manager provider-migration-operator):
- ConfigMap: `data.<configKey>` only. The config is one YAML string, so the whole value is ours after a
  write; every other key of the YAML is carried over unchanged (PyYAML round trip, the parser LiteLLM
  itself uses: key order and comments are not kept, values are).
- Deployment: `spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION]` only.
"""

from __future__ import annotations

import copy
import hashlib
import math
from typing import Any

import yaml
from kubernetes import client

from provider_migration.api.constants import CONFIG_HASH_ANNOTATION, FIELD_MANAGER
from provider_migration.api.keys import gateway_key_name
from provider_migration.api.spec import Endpoint, ProviderMigrationSpec
from provider_migration.core.observations import RouteState

from .errors import RouteError
from .kube import CONFIG_MAP, DEPLOYMENT, Kube
from .weights import check_request, to_percent

Config = dict[str, Any]
Entry = dict[str, Any]


# --- pure helpers (unit tested without a cluster) ---


def parse_config(text: str | None, key: str) -> Config:
    """The config as a mapping with a `model_list`; a RouteError says what is wrong."""
    if text is None:
        raise RouteError(f"the ConfigMap has no data key {key!r}")
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as e:
        # Only the position: the message's snippet could quote a literal api_key from the file.
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise RouteError(f"{key} is not valid YAML{where}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise RouteError(f"{key} is nested too deeply to read") from None
    if not isinstance(config, dict):
        raise RouteError(f"{key} is not a YAML mapping")
    if not isinstance(config.get("model_list"), list):
        raise RouteError(f"{key} has no model_list")
    return config


def render(config: Config) -> str:
    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False, allow_unicode=True)
    if yaml.safe_load(text) != config:
        # PyYAML's unicode output folds U+0085 (NEL) inside quoted scalars; escaped output round-trips.
        text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False, allow_unicode=False)
    return text


def config_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def entry_id(entry: Entry) -> str | None:
    info = entry.get("model_info")
    value = info.get("id") if isinstance(info, dict) else None
    return None if value is None else str(value)


def group(config: Config, model_name: str) -> list[Entry]:
    return [e for e in config["model_list"] if isinstance(e, dict) and e.get("model_name") == model_name]


def shuffle_weights(entries: list[Entry]) -> list[float]:
    """Each deployment's relative pick weight as simple-shuffle computes it."""
    params = [_params(e) for e in entries]
    if not params:
        return []
    for name in ("weight", "rpm", "tpm"):
        if params[0].get(name) is not None:
            return [_number(p.get(name, 0) or 0, name, e) for p, e in zip(params, entries, strict=True)]
    return [1.0] * len(params)


def find(entries: list[Entry], backend: str) -> Entry | None:
    matches = [e for e in entries if entry_id(e) == backend]
    if len(matches) > 1:
        raise RouteError(f"model_info.id {backend!r} appears {len(matches)} times in the model group")
    return matches[0] if matches else None


def state(config: Config, spec: ProviderMigrationSpec) -> RouteState:
    """What LiteLLM would do with this config, as percent of the two arms."""
    model_name = spec.route.model_name
    entries = group(config, model_name)
    if not entries:
        raise RouteError(f"model_list has no entry with model_name {model_name!r}")
    source, target = find(entries, spec.source.backend), find(entries, spec.target.backend)
    if source is None and target is None:
        raise RouteError(
            f"no model_list entry with model_name {model_name!r} has model_info.id {spec.source.backend!r}"
        )
    weights = dict(zip((id(e) for e in entries), shuffle_weights(entries), strict=True))
    source_pct, target_pct = to_percent(
        weights[id(source)] if source is not None else 0.0, weights[id(target)] if target is not None else 0.0
    )
    return RouteState(
        found=True,
        source_present=source is not None,
        target_present=target is not None,
        source_weight=source_pct,
        target_weight=target_pct,
    )


def with_weights(config: Config, spec: ProviderMigrationSpec, source: int, target: int) -> Config:
    """A copy of the config with both weights set and the target entry added when missing."""
    check_request(source, target, 0, supports_mirroring=False)
    new = copy.deepcopy(config)
    entries = group(new, spec.route.model_name)
    if not entries:
        raise RouteError(f"model_list has no entry with model_name {spec.route.model_name!r}")
    source_entry, target_entry = find(entries, spec.source.backend), find(entries, spec.target.backend)
    if source_entry is None and source > 0:
        raise RouteError(f"model_list has no entry with model_info.id {spec.source.backend!r} to send {source}% to")
    if target_entry is None:
        target_entry = new_entry(spec, target)
        new["model_list"].insert(new["model_list"].index(entries[-1]) + 1, target_entry)
        entries.append(target_entry)
    for entry, weight in ((source_entry, source), (target_entry, target)):
        if entry is not None:
            _params(entry, create=True)["weight"] = weight
    first = _params(entries[0])
    if first.get("weight") is None:
        raise RouteError(
            f"model_list entry {entry_id(entries[0]) or spec.route.model_name!r} comes first in the model group "
            "without a weight, so LiteLLM would ignore the weights; give it a weight or move it"
        )
    return new


def without_source(config: Config, spec: ProviderMigrationSpec) -> Config:
    """A copy without the source entry; refuses to leave the group without a target that takes traffic."""
    new = copy.deepcopy(config)
    entries = group(new, spec.route.model_name)
    source_entry = find(entries, spec.source.backend)
    if source_entry is None:
        return new
    rest = [e for e in entries if e is not source_entry]
    target_entry = find(rest, spec.target.backend)
    if target_entry is None or shuffle_weights(rest)[rest.index(target_entry)] <= 0:
        raise RouteError(f"refusing to remove {spec.source.backend!r}: the target would take no traffic")
    new["model_list"].remove(source_entry)
    return new


def new_entry(spec: ProviderMigrationSpec, weight: int) -> Entry:
    target: Endpoint = spec.target
    params: dict[str, Any] = {"model": target.litellm_model()}
    if target.api_base:
        params["api_base"] = target.api_base
    params["api_key"] = f"os.environ/{gateway_key_name(target, spec.route.kind)}"
    params["weight"] = weight
    return {"model_name": spec.route.model_name, "litellm_params": params, "model_info": {"id": target.backend}}


def _params(entry: Entry, create: bool = False) -> dict[str, Any]:
    params = entry.get("litellm_params")
    if not isinstance(params, dict):
        if not create:
            return {}
        params = entry["litellm_params"] = {}
    return params


def _number(value: Any, name: str, entry: Entry) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise RouteError(f"litellm_params.{name} of model_list entry {entry_id(entry)!r} is not a number >= 0")
    return float(value)


# --- the adapter ---


class LiteLLMConfigMapRoute:
    supports_mirroring = False

    def __init__(self, api_client: client.ApiClient, namespace: str, spec: ProviderMigrationSpec) -> None:
        self.kube = Kube(api_client, namespace)
        self.spec = spec
        self.name = spec.route.name
        self.key = spec.route.config_key
        self.deployment = spec.route.reload.deployment if spec.route.reload else None

    def read(self) -> RouteState:
        obj = self.kube.get(CONFIG_MAP, self.name)
        if obj is None:
            return RouteState(found=False)
        try:
            self._check_deployment()
            return state(parse_config((obj.get("data") or {}).get(self.key), self.key), self.spec)
        except RouteError as e:
            return RouteState(found=True, error=f"ConfigMap {self.kube.namespace}/{self.name}: {e}")

    def apply_weights(self, source: int, target: int, mirror: int) -> None:
        check_request(source, target, mirror, supports_mirroring=False)
        obj, config = self._load()
        self._check_deployment()
        current = state(config, self.spec)
        unchanged = current.target_present and (current.source_present or source == 0)
        if unchanged and (current.source_weight, current.target_weight) == (source, target):
            self._reload(obj["data"][self.key], wrote=False, obj=obj)  # heal a crash between the two writes
            return
        self._write(obj, with_weights(config, self.spec, source, target))

    def remove_source(self) -> None:
        obj, config = self._load()
        state(config, self.spec)  # a malformed config raises here, before anything is written
        new = without_source(config, self.spec)
        if new != config:
            self._check_deployment()
            self._write(obj, new)

    def _load(self) -> tuple[dict[str, Any], Config]:
        obj = self.kube.get(CONFIG_MAP, self.name)
        if obj is None:
            raise RouteError(f"ConfigMap {self.kube.namespace}/{self.name} does not exist")
        return obj, parse_config((obj.get("data") or {}).get(self.key), self.key)

    def _write(self, obj: dict[str, Any], config: Config) -> None:
        text = render(config)
        rv = obj["metadata"].get("resourceVersion")
        self.kube.apply(CONFIG_MAP, self.name, {"data": {self.key: text}}, resource_version=rv)
        self._reload(text, wrote=True, obj=obj)

    def _check_deployment(self) -> None:
        if self.deployment and self.kube.get(DEPLOYMENT, self.deployment) is None:
            raise RouteError(f"Deployment {self.kube.namespace}/{self.deployment} named in route.reload does not exist")

    def _reload(self, text: str, wrote: bool, obj: dict[str, Any]) -> None:
        """Point the Deployment's pod template at this config. Without a write of ours, only a stale hash or a
        config we own (a crash between the two writes) triggers it, so adopting a route never rolls pods."""
        if not self.deployment:
            return
        deployment = self.kube.get(DEPLOYMENT, self.deployment)
        if deployment is None:
            raise RouteError(f"Deployment {self.kube.namespace}/{self.deployment} named in route.reload does not exist")
        annotations = ((deployment.get("spec") or {}).get("template") or {}).get("metadata", {}).get("annotations")
        current = (annotations or {}).get(CONFIG_HASH_ANNOTATION)
        wanted = config_hash(text)
        if current == wanted or not (wrote or current is not None or _owns_key(obj, self.key)):
            return
        self.kube.apply(
            DEPLOYMENT,
            self.deployment,
            {"spec": {"template": {"metadata": {"annotations": {CONFIG_HASH_ANNOTATION: wanted}}}}},
        )


def _owns_key(obj: dict[str, Any], key: str) -> bool:
    for entry in obj["metadata"].get("managedFields") or []:
        if entry.get("manager") == FIELD_MANAGER and f"f:{key}" in (entry.get("fieldsV1") or {}).get("f:data", {}):
            return True
    return False
