"""PromQL templates: `{{placeholder}}` substitution with label values escaped for PromQL strings.

Placeholders: `{{backend}}` (the arm's backend name), `{{model}}` (the arm's model), `{{model_regex}}` (the
model escaped for use inside `=~"..."`), `{{namespace}}` (the migration's namespace) and `{{interval}}` (the
range of the window, e.g. `1m`). Values are only substituted, never interpreted, so a backend named
`a"}` cannot break out of its label matcher.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from provider_migration.api.durations import prometheus_range

PLACEHOLDERS = ("backend", "model", "model_regex", "namespace", "interval")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# RE2 metacharacters; Prometheus anchors label regexes itself.
_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


class TemplateError(ValueError):
    """A query uses a placeholder that does not exist."""


@dataclass(frozen=True)
class ArmLabels:
    """What identifies one side of the migration in the metrics."""

    backend: str
    model: str
    namespace: str = ""


def escape_label_value(value: str) -> str:
    """Escape for a double-quoted PromQL string literal."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_regex(value: str) -> str:
    """A literal match inside a PromQL regex matcher, already escaped for the surrounding string literal."""
    return escape_label_value(_RE2_SPECIAL.sub(r"\\\1", value))


def render(template: str, arm: ArmLabels, interval: str) -> str:
    """The template with every placeholder replaced; raises TemplateError on an unknown placeholder."""
    values = {
        "backend": escape_label_value(arm.backend),
        "model": escape_label_value(arm.model),
        "model_regex": escape_regex(arm.model),
        "namespace": escape_label_value(arm.namespace),
        "interval": prometheus_range(interval),
    }
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(template)} - values.keys())
    if unknown:
        known = ", ".join("{{" + p + "}}" for p in PLACEHOLDERS)
        raise TemplateError(f"unknown placeholder(s) {', '.join(unknown)} in query; use {known}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def per_request(amount: str, requests: str) -> str:
    """Template of `amount` per request; `scalar` makes it NaN (no data) unless both sides are one series."""
    return f"scalar({amount}) / scalar({requests})"


def spend_per_request(
    input_tokens: str, output_tokens: str, requests: str, input_per_million: float, output_per_million: float
) -> str:
    """Template of the money spent per request at the given prices, as one query a user can re-run."""
    return (
        f"(scalar({input_tokens}) * {input_per_million!r} + scalar({output_tokens}) * {output_per_million!r})"
        f" / 1e6 / scalar({requests})"
    )
