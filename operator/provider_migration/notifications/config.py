"""The cluster's notification configuration (one ConfigMap, from the chart's `notifications` values) and the
message templates. Service URLs live in Secrets; this module only names them.

    services:
      oncall: {urlSecret: {name: pmo-notify-oncall, key: url}}     # an Apprise URL: slack://, json://, ...
    defaultSubscriptions:                                          # for migrations without spec.notifications
      "*": [{service: oncall, triggers: [rolling-back, rolled-back]}]
      support: [{service: oncall}]                                 # per namespace; wins over "*"
    templates:                                                     # per trigger, or "default"
      rolling-back: {title: "$namespace/$name rolling back", body: "$message"}

A part that cannot be used (a malformed template, a service without a Secret) is reported as a problem and
the rest still works: notifications are never a reason to stop anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from string import Template
from typing import Any

import yaml
from pydantic import ValidationError

from provider_migration.api.spec import NotificationSubscription
from provider_migration.api.status import Notification

CONFIG_KEY = "config.yaml"
DEFAULT_TITLE = "$namespace/$name: $trigger"
DEFAULT_BODY = "$message (phase $phase, step $step, target $weight%$by_suffix)"
VARIABLES = ("namespace", "name", "trigger", "reason", "message", "phase", "step", "weight", "by", "by_suffix", "time")


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str


@dataclass(frozen=True)
class MessageTemplate:
    title: str = DEFAULT_TITLE
    body: str = DEFAULT_BODY


@dataclass
class NotificationConfig:
    services: dict[str, SecretRef] = field(default_factory=dict)
    defaults: dict[str, list[NotificationSubscription]] = field(default_factory=dict)
    templates: dict[str, MessageTemplate] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # what could not be used, in words

    def subscriptions(
        self, namespace: str, own: list[NotificationSubscription] | None
    ) -> list[NotificationSubscription]:
        """The migration's own subscriptions, else its namespace's defaults, else the cluster-wide ones."""
        if own is not None:
            return own
        return self.defaults.get(namespace, self.defaults.get("*", []))


def parse(text: str | None) -> NotificationConfig:
    config = NotificationConfig()
    if not text:
        return config
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        config.problems.append(f"{CONFIG_KEY} is not YAML: {getattr(e, 'problem', None) or type(e).__name__}")
        return config
    if not isinstance(raw, dict):
        config.problems.append(f"{CONFIG_KEY} must be a mapping")
        return config
    for name, service in _mapping(raw, "services", config).items():
        ref = service.get("urlSecret") if isinstance(service, dict) else None
        if isinstance(ref, dict) and isinstance(ref.get("name"), str) and isinstance(ref.get("key"), str):
            config.services[str(name)] = SecretRef(ref["name"], ref["key"])
        else:
            config.problems.append(f"service {name}: urlSecret needs a name and a key")
    for namespace, subs in _mapping(raw, "defaultSubscriptions", config).items():
        try:
            config.defaults[str(namespace)] = [NotificationSubscription.model_validate(s) for s in subs or []]
        except (ValidationError, TypeError) as e:
            config.problems.append(f"defaultSubscriptions.{namespace}: {_first_error(e)}")
    for trigger, template in _mapping(raw, "templates", config).items():
        parsed = _template(template)
        if isinstance(parsed, str):
            config.problems.append(f"template {trigger}: {parsed}; the default is used")
        else:
            config.templates[str(trigger)] = parsed
    return config


def render(template: MessageTemplate, notification: Notification, namespace: str, name: str) -> tuple[str, str]:
    values = _values(notification, namespace, name)
    return Template(template.title).substitute(values), Template(template.body).substitute(values)


def template_for(config: NotificationConfig, trigger: str) -> MessageTemplate:
    return config.templates.get(trigger) or config.templates.get("default") or MessageTemplate()


def _values(n: Notification, namespace: str, name: str) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "name": name,
        "trigger": n.trigger,
        "reason": n.reason,
        "message": n.message,
        "phase": n.phase.value,
        "step": n.step,
        "weight": n.weight,
        "by": n.by or "",
        "by_suffix": f", by {n.by}" if n.by else "",
        "time": n.time.isoformat(),
    }


def _template(raw: Any) -> MessageTemplate | str:
    """The template, or why it cannot be used (checked by rendering it once, so a bad one never reaches a send)."""
    if not isinstance(raw, dict) or not set(raw) <= {"title", "body"}:
        return "expected a mapping with title and/or body"
    template = MessageTemplate(title=str(raw.get("title", DEFAULT_TITLE)), body=str(raw.get("body", DEFAULT_BODY)))
    probe = dict.fromkeys(VARIABLES, "x")
    for part in (template.title, template.body):
        try:
            Template(part).substitute(probe)
        except KeyError as e:
            return f"unknown variable ${e.args[0]} (known: {', '.join(VARIABLES)})"
        except ValueError:
            return "invalid placeholder (use $name or ${name}; $$ for a dollar sign)"
    return template


def _mapping(raw: dict[str, Any], key: str, config: NotificationConfig) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        config.problems.append(f"{key} must be a mapping")
        return {}
    return value


def _first_error(e: Exception) -> str:
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        return f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
    return "expected a list of {service, triggers}"
