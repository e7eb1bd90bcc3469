"""LiteLLM proxy config in a ConfigMap: the weights of one model group's deployments.

Semantics are LiteLLM's own, as read in its router (the supported versions are the range in
workshop/pyproject.toml, which the conformance suite runs against the real proxy):
- `simple-shuffle` (the default strategy) picks among the group's healthy deployments by
  `litellm_params.weight` of every deployment, a missing weight counting as 0; when no weight is > 0, by
  `rpm`, then `tpm`; else uniformly. The split reported is that of the whole group: a deployment other than
  source and target that would take traffic makes the route invalid (Blocked, nothing written).
- Settings under which `weight` does not decide (another routing strategy, routing groups, pre-call checks,
  tag filtering, deployment `order`, budgets, team-only or paused deployments, an alias for the group name)
  make the route invalid with a reason naming the setting; unknown `router_settings` keys too, since the
  operator cannot judge them. Cooldowns still shift traffic among healthy deployments at run time.
- The proxy reads the file only at start-up, so after a write the Deployment named in `route.reload` gets a
  pod-template annotation with the config's hash, which rolls its pods. With `route.verify`, a step counts
  as applied only when the proxy's `GET /v1/model/info` lists the group's deployments with the written
  weights; a written deployment the proxy did not create (an unloadable model string) is an error.

The file keeps what people wrote: it is parsed with limits (size, alias expansion, depth), read with
PyYAML's safe loader (LiteLLM's parser, YAML 1.1: `0300` is 192 to it, `yes` is true; libyaml's parser when
built in, with the same constructor) and edited with ruamel.yaml's round-trip mode, which keeps comments,
anchors, merge keys, flow style, quoting and scalars as written. A file that ruamel cannot reproduce byte for
byte, or whose edit would change anything but the intended entries (an anchor shared with another entry, say),
is refused with the reason: never normalised.

Server-side apply ownership (field manager provider-migration-operator):
- ConfigMap: `data.<configKey>` only (one YAML string: after a write the whole value is ours).
- Deployment: `spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION]` only.
"""

from __future__ import annotations

import copy
import hashlib
import io
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import yaml
from kubernetes import client
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError as RuamelError

from provider_migration.api.constants import CONFIG_HASH_ANNOTATION, FIELD_MANAGER
from provider_migration.api.keys import gateway_key_name
from provider_migration.api.spec import Endpoint, ProviderMigrationSpec
from provider_migration.core.observations import RouteState

from .errors import RouteError
from .kube import CONFIG_MAP, DEPLOYMENT, Kube
from .weights import check_request, to_percent

log = logging.getLogger(__name__)
Config = dict[str, Any]
Entry = dict[str, Any]

# Bounds on what one ConfigMap can cost to read: its size is capped by the API server at 1 MiB anyway.
MAX_BYTES = 1 << 20
MAX_NODES = 200_000  # YAML nodes after alias expansion (a billion-laughs file stops here, in milliseconds)
MAX_DEPTH = 64
VERIFY_TIMEOUT_S = 3.0

# Layouts ruamel may need to reproduce a file: (mapping indent, sequence indent, dash offset), line width.
_LAYOUTS = [(m, s, o, w) for (m, s, o) in ((2, 2, 0), (2, 4, 2), (4, 4, 2), (4, 6, 4)) for w in (4096, 80)]

# router_settings keys that do not change which deployment `weight` picks (retries, timeouts, cooldowns,
# fallbacks after a failure, caching, connections). Any other key blocks: the operator cannot judge it.
_HARMLESS_ROUTER_SETTINGS = frozenset(
    {
        "routing_strategy",  # checked: only simple-shuffle
        "routing_strategy_args",  # read by the other strategies only
        "model_group_alias",  # checked: must not alias the migrated name
        "enable_pre_call_checks",  # checked: must be false
        "optional_pre_call_checks",  # checked: must be empty
        "enable_tag_filtering",  # checked: must be false
        "num_retries",
        "max_fallbacks",
        "timeout",
        "stream_timeout",
        "retry_after",
        "retry_policy",
        "model_group_retry_policy",
        "allowed_fails",
        "allowed_fails_policy",
        "cooldown_time",
        "disable_cooldowns",
        "fallbacks",
        "default_fallbacks",
        "context_window_fallbacks",
        "content_policy_fallbacks",
        "redis_host",
        "redis_port",
        "redis_password",
        "redis_url",
        "cache_responses",
        "cache_kwargs",
        "client_ttl",
        "default_litellm_params",
        "set_verbose",
        "debug_level",
    }
)
_BLOCKING_PARAMS = ("order", "max_budget", "budget_duration")  # order: lowest first; budgets: filtered out
# --- bounded parsing ---


@dataclass
class Document:
    """One config.yaml: `data` as LiteLLM reads it, `tree` to edit, and the layout that reproduces `text`."""

    text: str
    data: Config
    tree: Any = None  # ruamel round-trip tree; None until `editable()`
    layout: tuple[int, int, int, int] | None = None


def parse_config(text: str | None, key: str) -> Document:
    """The config as LiteLLM would read it; a RouteError says what is wrong (position only, never content:
    a snippet could quote a literal api_key)."""
    if text is None:
        raise RouteError(f"the ConfigMap has no data key {key!r}")
    if len(text.encode()) > MAX_BYTES:
        raise RouteError(f"{key} is larger than {MAX_BYTES} bytes")
    loader: type[yaml.SafeLoader] = _FAST_LOADER if _fast_loader_copes(text) else yaml.SafeLoader
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.YAMLError as e:
        raise RouteError(f"{key} is not valid YAML{_where(e)}") from None
    except RecursionError:
        raise RouteError(f"{key} is nested too deeply to read") from None
    if node is not None:
        _check_bounds(node, key)
    try:
        config = yaml.load(text, Loader=loader)
    except yaml.YAMLError as e:  # e.g. a merge key on a non-mapping: the composer accepts it
        raise RouteError(f"{key} is not valid YAML{_where(e)}") from None
    if not isinstance(config, dict):
        raise RouteError(f"{key} is not a YAML mapping")
    if not isinstance(config.get("model_list"), list):
        raise RouteError(f"{key} has no model_list")
    return Document(text, config)


# libyaml parses several times faster than PyYAML's pure loader (the config is read on every tick); the
# constructor and resolver are the same Python classes, so values read identically. Its composer recurses in C
# without Python's recursion limit (a file nested 100,000 deep crashes the process), so it only gets a text whose
# nesting a scan of its events (iterative) found within MAX_DEPTH; anything else, errors included, goes to the
# pure loader as before, with its messages.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _fast_loader_copes(text: str) -> bool:
    if _FAST_LOADER is yaml.SafeLoader:
        return False
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_FAST_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return False
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return False
    return True


def _where(e: Exception) -> str:
    mark = getattr(e, "problem_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _check_bounds(root: yaml.Node, key: str) -> None:
    """Expanded size and depth of the node graph, each shared node counted once per use (memoised, so this
    is linear in the composed graph however many times aliases multiply it); a cycle is refused."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    active: set[int] = set()

    def visit(node: yaml.Node, depth: int) -> tuple[int, int]:
        if depth > MAX_DEPTH:
            raise RouteError(f"{key} is nested deeper than {MAX_DEPTH} levels{_node_at(node)}")
        ident = id(node)
        if ident in sizes:
            return sizes[ident], depths[ident]
        if ident in active:
            raise RouteError(f"{key} has a recursive alias{_node_at(node)}")
        active.add(ident)
        size, height = 1, 0
        if isinstance(node, yaml.SequenceNode):
            children: Iterator[yaml.Node] = iter(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = (n for pair in node.value for n in pair)
        else:
            children = iter(())
        for child in children:
            child_size, child_height = visit(child, depth + 1)
            size += child_size
            height = max(height, child_height + 1)
            if size > MAX_NODES:
                raise RouteError(f"{key} expands to more than {MAX_NODES} YAML nodes (aliases){_node_at(node)}")
        if depth + height > MAX_DEPTH:
            raise RouteError(f"{key} is nested deeper than {MAX_DEPTH} levels (aliases){_node_at(node)}")
        active.discard(ident)
        sizes[ident], depths[ident] = size, height
        return size, height

    visit(root, 0)


def _node_at(node: yaml.Node) -> str:
    mark = node.start_mark
    return f" at line {mark.line + 1}" if mark is not None else ""


def _ruamel(layout: tuple[int, int, int, int]) -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.allow_duplicate_keys = False
    mapping, sequence, offset, width = layout
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    y.width = width
    return y


def _dump(y: YAML, tree: Any) -> str:
    out = io.StringIO()
    y.dump(tree, out)
    return out.getvalue()


def editable(doc: Document, key: str) -> Document:
    """Load the round-trip tree and find the layout that writes the file back unchanged, or refuse."""
    if doc.tree is not None:
        return doc
    try:
        tree = _ruamel(_LAYOUTS[0]).load(doc.text)
    except RuamelError as e:  # duplicate keys among others: LiteLLM would silently take the last one
        problem = getattr(e, "problem", None) or type(e).__name__
        raise RouteError(f"{key} cannot be edited safely: {str(problem)[:120]}{_where(e)}") from None
    for layout in _LAYOUTS:
        if _dump(_ruamel(layout), tree) == doc.text:
            doc.tree, doc.layout = tree, layout
            return doc
    line = max(_first_difference(doc.text, _dump(_ruamel(layout), tree)) for layout in _LAYOUTS)
    raise RouteError(
        f"{key} cannot be rewritten without reformatting it (first difference at line {line}); "
        "reformat it in a standard YAML layout (consistent indents, each flow collection on one line)"
    )


def _first_difference(a: str, b: str) -> int:
    for n, (x, y) in enumerate(zip(a.splitlines(), b.splitlines(), strict=False), start=1):
        if x != y:
            return n
    return min(len(a.splitlines()), len(b.splitlines())) + 1


def render(doc: Document) -> str:
    assert doc.tree is not None and doc.layout is not None
    return _dump(_ruamel(doc.layout), doc.tree)


def config_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    """A tree copy without shared nodes (aliases expanded; bounded by the parse limits)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- what LiteLLM does with a config ---


def entry_id(entry: Entry) -> str | None:
    info = entry.get("model_info")
    value = info.get("id") if isinstance(info, dict) else None
    return None if value is None else str(value)


def group_indices(config: Config, model_name: str) -> list[int]:
    return [i for i, e in enumerate(config["model_list"]) if isinstance(e, dict) and e.get("model_name") == model_name]


def group(config: Config, model_name: str) -> list[Entry]:
    return [config["model_list"][i] for i in group_indices(config, model_name)]


def shuffle_weights(entries: list[Entry]) -> list[float]:
    """Each deployment's relative pick weight as simple-shuffle computes it (missing = 0 across the group)."""
    for name in ("weight", "rpm", "tpm"):
        weights = [_number(_params(e).get(name), name, e) for e in entries]
        if weights and max(weights) > 0:
            return weights
    return [1.0] * len(entries)


def find(entries: list[Entry], backend: str) -> Entry | None:
    matches = [e for e in entries if entry_id(e) == backend]
    if len(matches) > 1:
        raise RouteError(f"model_info.id {backend!r} appears {len(matches)} times in the model group")
    return matches[0] if matches else None


def weight_blockers(config: Config, model_name: str) -> list[str]:
    """Settings under which `weight` does not decide the split of this group (empty: it does)."""
    problems: list[str] = []
    router = config.get("router_settings")
    if router is not None and not isinstance(router, dict):
        return ["router_settings is not a mapping"]
    router = router or {}
    strategy = router.get("routing_strategy", "simple-shuffle")
    if strategy != "simple-shuffle":
        problems.append(f"router_settings.routing_strategy is {strategy!r}: only simple-shuffle reads weight")
    for name, off in (("enable_pre_call_checks", False), ("enable_tag_filtering", False)):
        if router.get(name, off) not in (off, None):
            problems.append(f"router_settings.{name} filters deployments before the weighted pick")
    if router.get("optional_pre_call_checks"):
        problems.append("router_settings.optional_pre_call_checks filter deployments before the weighted pick")
    aliases = router.get("model_group_alias")
    if isinstance(aliases, dict) and model_name in aliases:
        problems.append(f"router_settings.model_group_alias sends {model_name!r} to another model group")
    unknown = sorted(str(k) for k in router if k not in _HARMLESS_ROUTER_SETTINGS)
    if unknown:
        problems.append(
            f"router_settings.{unknown[0]} is not a setting the operator knows not to change the weighted split"
        )
    for name in ("provider_budget_config", "routing_groups"):
        if router.get(name) or config.get(name) or (config.get("litellm_settings") or {}).get(name):
            problems.append(f"{name} changes which deployments are picked")
    for entry in group(config, model_name):
        who = entry_id(entry) or "without model_info.id"
        params, info = _params(entry), entry.get("model_info") or {}
        for name in _BLOCKING_PARAMS:
            if params.get(name) is not None:
                problems.append(f"litellm_params.{name} of deployment {who!r} overrides the weighted pick")
        if isinstance(info, dict) and (info.get("blocked") or info.get("team_id")):
            problems.append(f"model_info of deployment {who!r} limits who it serves (blocked or team_id)")
    return problems


def env_references(config: Config, exclude: Entry | None = None) -> set[str]:
    """NAMEs of every `os.environ/NAME` the config reads, outside `exclude` (an entry of model_list)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if value is exclude and exclude is not None:
            return
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and value.startswith("os.environ/"):
            found.add(value.removeprefix("os.environ/"))

    walk(config)
    return found


def state(config: Config, spec: ProviderMigrationSpec) -> RouteState:
    """What LiteLLM would do with this config, as percent of the two arms; RouteError when the split is not
    theirs alone or not decided by weight."""
    model_name = spec.route.model_name
    entries = group(config, model_name)
    if not entries:
        raise RouteError(f"model_list has no entry with model_name {model_name!r}")
    _check_ids(config, spec)
    source, target = find(entries, spec.source.backend), find(entries, spec.target.backend)
    if source is None and target is None:
        raise RouteError(
            f"no model_list entry with model_name {model_name!r} has model_info.id {spec.source.backend!r}"
        )
    weights = shuffle_weights(entries)
    _check_others(entries, weights, (source, target), model_name)
    problems = weight_blockers(config, model_name)
    if problems:
        raise RouteError(problems[0])
    by_entry = {id(e): w for e, w in zip(entries, weights, strict=True)}
    source_pct, target_pct = to_percent(
        by_entry[id(source)] if source is not None else 0.0, by_entry[id(target)] if target is not None else 0.0
    )
    source_key = gateway_key_name(spec.source, spec.route.kind)
    return RouteState(
        found=True,
        source_present=source is not None,
        target_present=target is not None,
        source_weight=source_pct,
        target_weight=target_pct,
        source_key_shared=source_key in env_references(config, exclude=source),
    )


def _check_ids(config: Config, spec: ProviderMigrationSpec) -> None:
    """The source and target ids name one deployment each in the whole config (ids are the metrics' arm)."""
    for backend in (spec.source.backend, spec.target.backend):
        holders = [e for e in config["model_list"] if isinstance(e, dict) and entry_id(e) == backend]
        if len(holders) > 1 or any(e.get("model_name") != spec.route.model_name for e in holders):
            groups = sorted({str(e.get("model_name")) for e in holders})
            raise RouteError(f"model_info.id {backend!r} is used by {len(holders)} deployments (model_name {groups})")


def _check_others(entries: list[Entry], weights: list[float], arms: tuple[Entry | None, ...], model_name: str) -> None:
    total = sum(weights)
    for entry, weight in zip(entries, weights, strict=True):
        if weight > 0 and all(entry is not arm for arm in arms):
            who = entry_id(entry) or f"#{entries.index(entry) + 1} without model_info.id"
            raise RouteError(
                f"deployment {who!r} of model group {model_name!r} takes {100 * weight / total:.0f}% of its traffic; "
                "the operator only accounts for source and target: give it weight 0 or another model_name"
            )


def with_weights(doc: Document, spec: ProviderMigrationSpec, source: int, target: int) -> Config:
    """Edit `doc.tree` (editable) to the two weights, adding the target entry when missing; returns the
    config LiteLLM will read, after checking that nothing else changed."""
    check_request(source, target, 0, supports_mirroring=False)
    config = doc.data
    indices = group_indices(config, spec.route.model_name)
    if not indices:
        raise RouteError(f"model_list has no entry with model_name {spec.route.model_name!r}")
    entries = [config["model_list"][i] for i in indices]
    source_entry, target_entry = find(entries, spec.source.backend), find(entries, spec.target.backend)
    if source_entry is None and source > 0:
        raise RouteError(f"model_list has no entry with model_info.id {spec.source.backend!r} to send {source}% to")
    expected = _plain(config)
    tree_list = doc.tree["model_list"]
    edits: list[tuple[int, int]] = []
    for entry, weight in ((source_entry, source), (target_entry, target)):
        if entry is not None:
            edits.append((config["model_list"].index(entry), weight))
    for index, weight in edits:
        _params(expected["model_list"][index], create=True)["weight"] = weight
        params = tree_list[index].get("litellm_params")
        if not isinstance(params, dict):
            params = tree_list[index]["litellm_params"] = CommentedMap()
        params["weight"] = weight
    if target_entry is None:
        at = indices[-1] + 1
        new = new_entry(spec, target)
        expected["model_list"].insert(at, copy.deepcopy(new))
        tree_list.insert(at, _commented(new))
    return _verified(doc, expected, spec)


def without_source(doc: Document, spec: ProviderMigrationSpec) -> Config | None:
    """Edit `doc.tree` to drop the source entry (None: already gone); refuses to leave the group without a
    target that takes traffic."""
    config = doc.data
    entries = group(config, spec.route.model_name)
    source_entry = find(entries, spec.source.backend)
    if source_entry is None:
        return None
    rest = [e for e in entries if e is not source_entry]
    target_entry = find(rest, spec.target.backend)
    if target_entry is None or shuffle_weights(rest)[rest.index(target_entry)] <= 0:
        raise RouteError(f"refusing to remove {spec.source.backend!r}: the target would take no traffic")
    index = config["model_list"].index(source_entry)
    expected = _plain(config)
    del expected["model_list"][index]
    del doc.tree["model_list"][index]
    return _verified(doc, expected, spec)


def without_target(doc: Document, spec: ProviderMigrationSpec) -> Config | None:
    """Edit `doc.tree` to drop the target entry the operator added (None: already gone); refuses while it
    takes traffic or when the source would not be left to serve the model name."""
    config = doc.data
    entries = group(config, spec.route.model_name)
    target_entry = find(entries, spec.target.backend)
    if target_entry is None:
        return None
    rest = [e for e in entries if e is not target_entry]
    weights = shuffle_weights(entries)
    if weights[entries.index(target_entry)] > 0 or find(rest, spec.source.backend) is None:
        raise RouteError(f"refusing to remove {spec.target.backend!r}: it takes traffic or the source is gone")
    index = config["model_list"].index(target_entry)
    expected = _plain(config)
    del expected["model_list"][index]
    del doc.tree["model_list"][index]
    return _verified(doc, expected, spec)


def _verified(doc: Document, expected: Config, spec: ProviderMigrationSpec) -> Config:
    """The edited text must read, for LiteLLM, exactly as `expected`: an anchor shared with an entry we did
    not mean to touch, or a merge key feeding it, would change more than the intended fields."""
    text = render(doc)
    got = parse_config(text, spec.route.config_key).data
    if _plain(got) != expected:
        raise RouteError(
            f"{spec.route.config_key}: writing the weights would change more than the weights (YAML anchors or "
            "merge keys shared with other entries, or characters the YAML writer cannot keep); give the migrated "
            "deployments their own litellm_params"
        )
    state(got, spec)  # the result must itself be a split the operator can account for
    return got


def new_entry(spec: ProviderMigrationSpec, weight: int) -> Entry:
    target: Endpoint = spec.target
    params: dict[str, Any] = {"model": target.litellm_model()}
    if target.api_base:
        params["api_base"] = target.api_base
    params["api_key"] = f"os.environ/{gateway_key_name(target, spec.route.kind)}"
    params["weight"] = weight
    return {"model_name": spec.route.model_name, "litellm_params": params, "model_info": {"id": target.backend}}


def _commented(value: Any) -> Any:
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _commented(v)
        return out
    return value


def _params(entry: Entry, create: bool = False) -> dict[str, Any]:
    params = entry.get("litellm_params")
    if not isinstance(params, dict):
        if not create:
            return {}
        params = entry["litellm_params"] = {}
    return params


def _number(value: Any, name: str, entry: Entry) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise RouteError(f"litellm_params.{name} of model_list entry {entry_id(entry)!r} is not a number >= 0")
    return float(value)


# --- what the proxy serves ---


def served_problem(config: Config, spec: ProviderMigrationSpec, served: list[dict[str, Any]]) -> tuple[str, bool]:
    """Compare the group in `config` with `/v1/model/info`'s deployments: ("", _) when the proxy serves it,
    (reason, True) when it loaded this config but skipped deployments, (reason, False) while it serves another
    (older) config, e.g. during the roll."""
    model_name = spec.route.model_name
    written = {entry_id(e): _params(e).get("weight") for e in group(config, model_name)}
    live = {
        str((d.get("model_info") or {}).get("id")): (d.get("litellm_params") or {}).get("weight")
        for d in served
        if isinstance(d, dict) and d.get("model_name") == model_name
    }
    if live == written:
        return "", False
    if set(live) < set(written) and all(written[k] == v for k, v in live.items()):
        missing = sorted(str(k) for k in set(written) - set(live))
        return (
            f"the LiteLLM proxy did not create deployment {missing[0]!r} (check its litellm_params.model: the "
            "provider prefix, e.g. hosted_vllm/ for a vLLM server)",
            True,
        )
    return "the LiteLLM proxy does not serve the written weights yet (waiting for the roll)", False


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
        try:  # the route.reload Deployment is read only before a write (`_deployment`), not every tick
            doc = parse_config((obj.get("data") or {}).get(self.key), self.key)
            current = state(doc.data, self.spec)
            editable(doc, self.key)  # a file the operator could not write back unchanged blocks before a write
        except RouteError as e:
            return RouteState(found=True, error=f"ConfigMap {self.kube.namespace}/{self.name}: {e}")
        return self._verify(doc.data, current)

    def apply_weights(self, source: int, target: int, mirror: int) -> None:
        check_request(source, target, mirror, supports_mirroring=False)
        obj, doc = self._load()
        deployment = self._deployment()
        current = state(doc.data, self.spec)
        unchanged = current.target_present and (current.source_present or source == 0)
        if unchanged and (current.source_weight, current.target_weight) == (source, target):
            self._reload(obj["data"][self.key], False, obj, deployment)  # heal a crash between the two writes
            return
        with_weights(editable(doc, self.key), self.spec, source, target)
        self._write(obj, render(doc), deployment)

    def remove_source(self) -> None:
        obj, doc = self._load()
        state(doc.data, self.spec)  # a malformed config raises here, before anything is written
        if without_source(editable(doc, self.key), self.spec) is not None:
            self._write(obj, render(doc), self._deployment())

    def remove_target(self) -> None:
        obj, doc = self._load()
        state(doc.data, self.spec)  # a malformed config raises here, before anything is written
        if without_target(editable(doc, self.key), self.spec) is not None:
            self._write(obj, render(doc), self._deployment())

    def _verify(self, config: Config, current: RouteState) -> RouteState:
        verify = self.spec.route.verify
        if verify is None:
            return current
        key = self.kube.secret_value(verify.key_secret.name, verify.key_secret.key)
        if key is None:
            return _with(current, unverified=f"Secret {verify.key_secret.name} key {verify.key_secret.key} not found")
        try:
            response = httpx.get(
                verify.url.rstrip("/") + "/v1/model/info",
                headers={"Authorization": f"Bearer {key}"},
                timeout=VERIFY_TIMEOUT_S,
                follow_redirects=False,
                trust_env=False,
            )
        except httpx.HTTPError as e:
            return _with(current, unverified=f"the LiteLLM proxy is unreachable ({type(e).__name__})")
        if response.status_code != 200:
            return _with(
                current, unverified=f"the LiteLLM proxy answered HTTP {response.status_code} to /v1/model/info"
            )
        try:
            served = response.json().get("data")
            if not isinstance(served, list):
                raise ValueError
        except (ValueError, AttributeError):
            return _with(current, unverified="the LiteLLM proxy's /v1/model/info is not the expected JSON")
        problem, fatal = served_problem(config, self.spec, served)
        if not problem:
            return current
        if fatal:
            return RouteState(found=True, error=f"ConfigMap {self.kube.namespace}/{self.name}: {problem}")
        log.debug("ConfigMap %s/%s: %s", self.kube.namespace, self.name, problem)
        return _with(current, unverified=problem)

    def _load(self) -> tuple[dict[str, Any], Document]:
        obj = self.kube.get(CONFIG_MAP, self.name)
        if obj is None:
            raise RouteError(f"ConfigMap {self.kube.namespace}/{self.name} does not exist")
        return obj, parse_config((obj.get("data") or {}).get(self.key), self.key)

    def _write(self, obj: dict[str, Any], text: str, deployment: dict[str, Any] | None) -> None:
        rv = obj["metadata"].get("resourceVersion")
        self.kube.apply(CONFIG_MAP, self.name, {"data": {self.key: text}}, resource_version=rv)
        self._reload(text, True, obj, deployment)

    def _deployment(self) -> dict[str, Any] | None:
        """The route.reload Deployment (None without one), read once before a write: a missing one fails the
        change before the ConfigMap is touched (recorded as an action failure), and costs no GET on a tick that
        writes nothing."""
        if not self.deployment:
            return None
        deployment = self.kube.get(DEPLOYMENT, self.deployment)
        if deployment is None:
            raise RouteError(f"Deployment {self.kube.namespace}/{self.deployment} named in route.reload does not exist")
        return deployment

    def _reload(self, text: str, wrote: bool, obj: dict[str, Any], deployment: dict[str, Any] | None) -> None:
        """Point the Deployment's pod template at this config. Without a write of ours, only a stale hash or a
        config we own (a crash between the two writes) triggers it, so adopting a route never rolls pods. The
        hash is an apply of one annotation, so the Deployment as read before the ConfigMap write will do."""
        if deployment is None or not self.deployment:
            return
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


def _with(state: RouteState, **changes: Any) -> RouteState:
    from dataclasses import replace

    return replace(state, **changes)


def _owns_key(obj: dict[str, Any], key: str) -> bool:
    for entry in obj["metadata"].get("managedFields") or []:
        if entry.get("manager") == FIELD_MANAGER and f"f:{key}" in (entry.get("fieldsV1") or {}).get("f:data", {}):
            return True
    return False


def write_weights(text: str, spec: ProviderMigrationSpec, source: int, target: int) -> str:
    """The config text with the two weights written (the whole read-check-edit-verify path, pure)."""
    doc = editable(parse_config(text, spec.route.config_key), spec.route.config_key)
    with_weights(doc, spec, source, target)
    return render(doc)


def remove_source_text(text: str, spec: ProviderMigrationSpec) -> str | None:
    """The config text without the source entry (None: already gone), pure."""
    doc = editable(parse_config(text, spec.route.config_key), spec.route.config_key)
    return None if without_source(doc, spec) is None else render(doc)


def remove_target_text(text: str, spec: ProviderMigrationSpec) -> str | None:
    """The config text without the target entry (None: already gone), pure."""
    doc = editable(parse_config(text, spec.route.config_key), spec.route.config_key)
    return None if without_target(doc, spec) is None else render(doc)
