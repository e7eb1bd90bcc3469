"""Each scorer passes what it should and fails what it should, saying why."""

from __future__ import annotations

import json

import pytest

from provider_migration.api.spec import Scorer
from provider_migration.evaluation.scorers import score, validate_scorer

SCHEMA = json.dumps({
    "type": "object",
    "properties": {"refund_days": {"type": "integer"}},
    "required": ["refund_days"],
})  # fmt: skip


@pytest.mark.parametrize(
    ("scorer", "answer", "value", "passed"),
    [
        (Scorer(type="exact"), "  Paris\n", "Paris", True),
        (Scorer(type="exact"), "paris", "Paris", False),
        (Scorer(type="exact"), "Paris.", "Paris", False),
        (Scorer(type="contains"), "The capital is PARIS.", "paris", True),
        (Scorer(type="contains"), "The capital is Lyon.", "paris", False),
        (Scorer(type="regex"), "Order #A-1234 shipped", r"#A-\d{4}\b", True),
        (Scorer(type="regex"), "Order #A-12 shipped", r"#A-\d{4}\b", False),
        (Scorer(type="jsonSchema"), '{"refund_days": 30}', SCHEMA, True),
        (Scorer(type="jsonSchema"), 'Sure!\n```json\n{"refund_days": 30}\n```', SCHEMA, True),
        (Scorer(type="jsonSchema"), '{"refund_days": "30"}', SCHEMA, False),
        (Scorer(type="jsonSchema"), "thirty days", SCHEMA, False),
        (Scorer(type="numeric"), "The total is 1,234.50 EUR", "1234.5", True),
        (Scorer(type="numeric", tolerance=0.5), "about 41.5", "42", True),  # exactly at the tolerance
        (Scorer(type="numeric", tolerance=0.5), "about 41.4", "42", False),
        (Scorer(type="numeric"), "values 1,2,3", "1", True),  # a list is not the number 123
        (Scorer(type="numeric"), "-3e2 kelvin", "-300", True),
        (Scorer(type="numeric"), "no idea", "42", False),
        (Scorer(type="length", min=3, max=5), "abcde", None, True),  # bounds are inclusive
        (Scorer(type="length", min=3, max=5), "abcdef", None, False),
        (Scorer(type="length", min=3), "ab", None, False),
        (Scorer(type="length", max=3), "", None, True),
    ],
)
def test_scorer(scorer: Scorer, answer: str, value: str | None, passed: bool) -> None:
    result = score(scorer, answer, value)
    assert result.passed is passed
    assert bool(result.detail) is (not passed)  # a failure always says why


def test_schema_violation_names_the_field() -> None:
    result = score(Scorer(type="jsonSchema"), '{"refund_days": "30"}', SCHEMA)
    assert "refund_days" in result.detail


def test_a_scorer_without_an_expected_value_fails_the_item() -> None:
    assert not score(Scorer(type="contains"), "anything", None).passed


@pytest.mark.parametrize(
    ("scorer", "value", "message"),
    [
        (Scorer(type="regex"), "(unclosed", "invalid regular expression"),
        (Scorer(type="jsonSchema"), "{not json", "schema is not JSON"),
        (Scorer(type="jsonSchema"), '{"type": "no-such-type"}', "invalid JSON schema"),
        (Scorer(type="numeric"), "forty-two", "not a number"),
        (Scorer(type="length"), None, "min and/or max"),
        (Scorer(type="length", min=5, max=2), None, "min is above max"),
    ],
)
def test_unusable_scorer_configuration_is_reported_before_running(
    scorer: Scorer, value: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        validate_scorer(scorer, value)
