"""PromQL templating: placeholders, escaping, composed per-request queries."""

from __future__ import annotations

import re

import pytest

from provider_migration.analysis.queries import (
    ArmLabels,
    TemplateError,
    escape_label_value,
    escape_regex,
    per_request,
    render,
    spend_per_request,
)

ARM = ArmLabels(backend="claude-target", model="claude-sonnet-4-5", namespace="support")


def test_every_placeholder_is_substituted() -> None:
    template = 'x{b="{{backend}}",m="{{model}}",r=~"{{model_regex}}",ns="{{ namespace }}"}[{{interval}}]'
    assert (
        render(template, ARM, "5m")
        == 'x{b="claude-target",m="claude-sonnet-4-5",r=~"claude-sonnet-4-5",ns="support"}[5m]'
    )


def test_label_values_cannot_break_out_of_their_string() -> None:
    arm = ArmLabels(backend='a"} or vector(1) or x{y="', model="m\\n", namespace="ns")
    rendered = render('up{b="{{backend}}",m="{{model}}"}', arm, "1m")
    assert rendered == 'up{b="a\\"} or vector(1) or x{y=\\"",m="m\\\\n"}'
    # Exactly one label matcher block: the quote was escaped, not closed.
    assert re.fullmatch(r'up\{b="(?:[^"\\]|\\.)*",m="(?:[^"\\]|\\.)*"\}', rendered)


def test_newline_is_escaped() -> None:
    assert escape_label_value("a\nb") == "a\\nb"


def test_regex_placeholder_matches_the_model_literally() -> None:
    # After PromQL string unescaping the regex is `gpt-4\.1\+x`: dot and plus are literal.
    escaped = escape_regex("gpt-4.1+x")
    assert escaped == "gpt-4\\\\.1\\\\+x"
    unescaped = escaped.replace("\\\\", "\\")
    assert re.fullmatch(f"(.+/)?{unescaped}", "openai/gpt-4.1+x")
    assert not re.fullmatch(f"(.+/)?{unescaped}", "openai/gpt-421+x")


def test_unknown_placeholder_is_an_error_naming_it() -> None:
    with pytest.raises(TemplateError, match="backnd"):
        render('x{b="{{backnd}}"}', ARM, "1m")


def test_interval_must_be_a_duration() -> None:
    with pytest.raises(ValueError):
        render("rate(x[{{interval}}])", ARM, "5 minutes")


def test_text_without_placeholders_is_unchanged() -> None:
    assert render('sum(rate(x{a="b"}[1m]))', ARM, "1m") == 'sum(rate(x{a="b"}[1m]))'


def test_per_request_divides_single_series() -> None:
    assert per_request("sum(a)", "sum(b)") == "scalar(sum(a)) / scalar(sum(b))"


def test_spend_per_request_prices_tokens_per_million() -> None:
    query = spend_per_request("sum(i)", "sum(o)", "sum(r)", 3.0, 15.0)
    assert query == "(scalar(sum(i)) * 3.0 + scalar(sum(o)) * 15.0) / 1e6 / scalar(sum(r))"
