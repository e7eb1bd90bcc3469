"""Read traffic weights out of routing objects the way the real gateways do (test and demo tooling only).

Pure functions from an object dict (as the Kubernetes API returns it) to a `RoutePlan`; no I/O here, so
unit tests feed dicts directly. Semantics mirrored:
- LiteLLM `config.yaml` in a ConfigMap: simple-shuffle. If the group's first entry has `weight`, missing
  weights count 0; else `rpm`, else `tpm`, else uniform. `api_key: os.environ/NAME` resolves from the
  gateway Secret's data key NAME (LiteLLM reads env from `envFrom` that Secret).
- Gateway API HTTPRoute: `backendRefs[].weight` default 1; rule `RequestMirror` filters mirror `percent`
  (default 100) of requests.
- Envoy AI Gateway AIGatewayRoute: the rule whose header match `x-ai-eg-model` equals the model name;
  weight default 1; only the lowest `priority` tier takes traffic; `modelNameOverride` is sent upstream;
  keys come from a Secret's `apiKey` (BackendSecurityPolicy convention).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

ROUTE_KINDS = ("ConfigMap", "HTTPRoute", "AIGatewayRoute")
LITELLM_CONFIG_KEY = "config.yaml"
AIGW_MODEL_HEADER = "x-ai-eg-model"
AIGW_SECRET_KEY = "apiKey"
_ENV_PREFIX = "os.environ/"
# LiteLLM's fallback env vars when an entry gives no api_key.
_DEFAULT_ENV_KEY = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


class RouteError(ValueError):
    """The routing object is missing pieces a real gateway would need."""


@dataclass(frozen=True)
class KeyRef:
    secret_name: str
    key: str


@dataclass(frozen=True)
class Backend:
    """Where a backend name leads: given to the simulator, since the sim cannot resolve real Services."""

    url: str | None = None
    model: str | None = None  # model name sent upstream
    flavor: str | None = None  # "openai" | "anthropic"; inferred from the model when absent
    secret_name: str | None = None
    secret_key: str | None = None
    api_key: str | None = None  # literal key, for self-hosted style backends without a Secret

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Backend:
        known = {"url", "model", "flavor", "provider", "secret_name", "secret_key", "api_key"}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"unknown backend keys: {sorted(unknown)}")
        return cls(
            url=spec.get("url"),
            model=spec.get("model"),
            flavor=spec.get("flavor") or spec.get("provider"),
            secret_name=spec.get("secret_name"),
            secret_key=spec.get("secret_key"),
            api_key=spec.get("api_key"),
        )


@dataclass(frozen=True)
class Arm:
    backend: str  # LiteLLM model_info.id, or the backendRef name
    weight: float
    url: str | None  # None: answered 500 like an unresolvable backendRef
    flavor: str  # which provider API the gateway speaks upstream
    upstream_model: str
    route_model: str  # LiteLLM's litellm_params.model ("anthropic/claude-sonnet-4-5")
    key_ref: KeyRef | None = None
    api_key: str | None = None

    def __repr__(self) -> str:  # keeps literal keys out of logs and test output
        return f"Arm(backend={self.backend!r}, weight={self.weight}, url={self.url!r}, model={self.upstream_model!r})"


@dataclass(frozen=True)
class Mirror:
    arm: Arm
    percent: float


@dataclass(frozen=True)
class RoutePlan:
    arms: tuple[Arm, ...]
    mirrors: tuple[Mirror, ...] = ()

    def weights(self) -> dict[str, float]:
        return {arm.backend: arm.weight for arm in self.arms}

    def shares(self) -> dict[str, float]:
        total = sum(arm.weight for arm in self.arms)
        return {arm.backend: (arm.weight / total if total else 0.0) for arm in self.arms}


def infer_flavor(model: str) -> str:
    return "anthropic" if "claude" in model.lower() else "openai"


def read_route(
    kind: str,
    obj: Mapping[str, Any],
    model_name: str,
    backends: Mapping[str, Backend] | None = None,
    gateway_secret: str | None = None,
) -> RoutePlan:
    backends = backends or {}
    canonical = normalize_kind(kind)
    if canonical == "ConfigMap":
        return read_litellm_configmap(obj, model_name, backends, gateway_secret)
    if canonical == "HTTPRoute":
        return read_httproute(obj, model_name, backends)
    return read_aigatewayroute(obj, model_name, backends)


def normalize_kind(kind: str) -> str:
    for known in ROUTE_KINDS:
        if kind.lower() in (known.lower(), known.lower() + "s"):
            return known
    raise ValueError(f"route kind must be one of {ROUTE_KINDS}, got {kind!r}")


# --- LiteLLM ConfigMap ---


def read_litellm_configmap(
    obj: Mapping[str, Any],
    model_name: str,
    backends: Mapping[str, Backend],
    gateway_secret: str | None,
) -> RoutePlan:
    text = (obj.get("data") or {}).get(LITELLM_CONFIG_KEY)
    if not text:
        raise RouteError(f"ConfigMap has no data key {LITELLM_CONFIG_KEY!r}")
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise RouteError(f"{LITELLM_CONFIG_KEY} is not valid YAML: {exc}") from None
    group = [e for e in config.get("model_list") or [] if isinstance(e, dict) and e.get("model_name") == model_name]
    if not group:
        raise RouteError(f"no model_list entry with model_name {model_name!r}")
    weights = litellm_weights([e.get("litellm_params") or {} for e in group])
    arms = []
    for index, (entry, weight) in enumerate(zip(group, weights, strict=True)):
        params = entry.get("litellm_params") or {}
        backend_id = str((entry.get("model_info") or {}).get("id") or f"{model_name}-{index}")
        route_model = str(params.get("model") or "")
        prefix, _, bare = route_model.partition("/")
        flavor = "anthropic" if prefix == "anthropic" else "openai"
        mapped = backends.get(backend_id, Backend())
        key_ref, literal = _litellm_key(params.get("api_key"), flavor, gateway_secret)
        arms.append(
            Arm(
                backend=backend_id,
                weight=weight,
                url=_strip_v1(params.get("api_base") or mapped.url),
                flavor=flavor,
                upstream_model=bare or route_model,
                route_model=route_model,
                key_ref=key_ref,
                api_key=literal,
            )
        )
    return RoutePlan(tuple(arms))


def litellm_weights(params: list[Mapping[str, Any]]) -> list[float]:
    """simple-shuffle: the first entry decides which field is the weight; missing ones count 0."""
    for field in ("weight", "rpm", "tpm"):
        if params[0].get(field) is not None:
            return [float(p.get(field) or 0) for p in params]
    return [1.0] * len(params)


def _litellm_key(value: Any, flavor: str, secret: str | None) -> tuple[KeyRef | None, str | None]:
    if value is None:
        value = _ENV_PREFIX + _DEFAULT_ENV_KEY[flavor]
    value = str(value)
    if value.startswith(_ENV_PREFIX):
        return (KeyRef(secret, value[len(_ENV_PREFIX) :]) if secret else None), None
    return None, value


def _strip_v1(url: str | None) -> str | None:
    # OpenAI-style api_base often ends in /v1; the sim appends the full path itself.
    if not url:
        return None
    url = url.rstrip("/")
    return url[:-3] if url.endswith("/v1") else url


# --- Gateway API HTTPRoute and Envoy AI Gateway AIGatewayRoute ---


def read_httproute(obj: Mapping[str, Any], model_name: str, backends: Mapping[str, Backend]) -> RoutePlan:
    rules = (obj.get("spec") or {}).get("rules") or []
    rule = _rule_matching(rules, model_name, header=None) or next((r for r in rules if r.get("backendRefs")), None)
    if rule is None:
        raise RouteError("HTTPRoute has no rule with backendRefs")
    arms = tuple(_ref_arm(ref, model_name, backends, "apiKey") for ref in rule.get("backendRefs") or [])
    mirrors = []
    for flt in rule.get("filters") or []:
        if flt.get("type") != "RequestMirror":
            continue
        spec = flt.get("requestMirror") or {}
        ref = spec.get("backendRef") or {}
        mirrors.append(Mirror(_ref_arm(ref, model_name, backends, "apiKey"), _mirror_percent(spec)))
    return RoutePlan(arms, tuple(mirrors))


def read_aigatewayroute(obj: Mapping[str, Any], model_name: str, backends: Mapping[str, Backend]) -> RoutePlan:
    rules = (obj.get("spec") or {}).get("rules") or []
    rule = _rule_matching(rules, model_name, header=AIGW_MODEL_HEADER)
    if rule is None:
        raise RouteError(f"no AIGatewayRoute rule matches {AIGW_MODEL_HEADER}: {model_name}")
    refs = rule.get("backendRefs") or []
    if not refs:
        raise RouteError("the matching AIGatewayRoute rule has no backendRefs")
    # Envoy priorities: higher numbers are fallback tiers that take no traffic while tier 0 is healthy.
    top = min(int(ref.get("priority") or 0) for ref in refs)
    return RoutePlan(
        tuple(
            _ref_arm(ref, model_name, backends, AIGW_SECRET_KEY) for ref in refs if int(ref.get("priority") or 0) == top
        )
    )


def _rule_matching(rules: list[dict[str, Any]], model_name: str, header: str | None) -> dict[str, Any] | None:
    for rule in rules:
        for match in rule.get("matches") or []:
            for hdr in match.get("headers") or []:
                exact = (hdr.get("type") or "Exact") == "Exact"
                named = header is None or str(hdr.get("name", "")).lower() == header
                if exact and named and hdr.get("value") == model_name:
                    return rule
    return None


def _ref_arm(ref: Mapping[str, Any], model_name: str, backends: Mapping[str, Backend], secret_key: str) -> Arm:
    name = str(ref.get("name") or "")
    mapped = backends.get(name, Backend())
    model = ref.get("modelNameOverride") or mapped.model or model_name
    flavor = mapped.flavor or infer_flavor(model)
    key_ref = KeyRef(mapped.secret_name, mapped.secret_key or secret_key) if mapped.secret_name else None
    weight = ref.get("weight")
    return Arm(
        backend=name,
        weight=float(1 if weight is None else weight),
        url=mapped.url,
        flavor=flavor,
        upstream_model=model,
        route_model=f"{flavor}/{model}",
        key_ref=key_ref,
        api_key=mapped.api_key,
    )


def _mirror_percent(spec: Mapping[str, Any]) -> float:
    if spec.get("percent") is not None:
        return float(spec["percent"])
    fraction = spec.get("fraction")
    if fraction:
        return 100.0 * float(fraction.get("numerator", 0)) / float(fraction.get("denominator") or 100)
    return 100.0
