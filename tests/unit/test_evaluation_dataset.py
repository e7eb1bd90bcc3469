"""Golden-set parsing: items, their checks, and errors that name the line."""

from __future__ import annotations

import json

import pytest

from provider_migration.api.spec import Scorer
from provider_migration.evaluation.dataset import DatasetError, checks_for, parse_dataset

USER = [{"role": "user", "content": "How long is the refund window?"}]


def line(**item: object) -> str:
    return json.dumps({"messages": USER, **item})


def test_items_keep_order_and_get_ids_from_their_line() -> None:
    text = "\n".join([line(id="first", expected="30"), "", "// a comment", line(expected="days")])
    items = parse_dataset(text, [Scorer(type="contains")])
    assert [i.id for i in items] == ["first", "line-4"]
    assert items[0].messages[0].text() == "How long is the refund window?"


def test_spec_scorers_use_the_item_expectation_unless_they_carry_their_own_value() -> None:
    scorers = [Scorer(type="contains"), Scorer(type="regex", value=r"\d+"), Scorer(type="length", max=100)]
    item = parse_dataset(line(expected="30 days", assertions=[{"type": "exact", "value": "30 days"}]), scorers)[0]
    checks = [(c.scorer.type, c.value) for c in checks_for(item, scorers)]
    assert checks == [("contains", "30 days"), ("regex", r"\d+"), ("length", None), ("exact", "30 days")]


def test_a_spec_scorer_needing_a_value_skips_items_without_one() -> None:
    scorers = [Scorer(type="contains")]
    item = parse_dataset(line(assertions=[{"type": "length", "max": 10}]), scorers)[0]
    assert [c.scorer.type for c in checks_for(item, scorers)] == ["length"]


def test_numbers_and_inline_schemas_are_accepted_unquoted() -> None:
    schema = {"type": "object", "required": ["days"]}
    items = parse_dataset(
        line(id=7, expected=30, assertions=[{"type": "jsonSchema", "value": schema}]), [Scorer(type="numeric")]
    )
    assert items[0].id == "7" and items[0].expected == "30"
    assert json.loads(items[0].assertions[0].value or "") == schema


def test_text_content_parts_are_accepted() -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
    item = parse_dataset(json.dumps({"messages": parts, "expected": "x"}), [Scorer(type="contains")])[0]
    assert item.messages[0].text() == "ab"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "line 1: not valid JSON"),
        ("[1, 2]", "line 1: expected a JSON object"),
        (json.dumps({"expected": "x"}), "line 1: messages"),
        (json.dumps({"messages": [], "expected": "x"}), "line 1: messages"),
        (json.dumps({"messages": [{"role": "robot", "content": "x"}], "expected": "x"}), "line 1: messages.0.role"),
        (line(expected="x", colour="red"), "line 1: colour"),
        (line(id="a", expected="x") + "\n" + line(id="a", expected="y"), "line 2: duplicate id 'a'"),
        (line(), "line 1 (line-1): no check applies"),
        (line(assertions=[{"type": "regex", "value": "("}]), "line 1 (line-1): regex: invalid regular expression"),
        (line(expected="x", assertions=[{"type": "fuzzy"}]), "line 1: assertions.0.type"),
        ("\n\n", "no items"),
    ],
)
def test_bad_datasets_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(DatasetError) as info:
        parse_dataset(text, [Scorer(type="contains")])
    assert message in str(info.value)


def test_a_bad_spec_scorer_is_refused_before_any_item() -> None:
    with pytest.raises(DatasetError, match="spec scorer jsonSchema"):
        parse_dataset(line(expected="x"), [Scorer(type="jsonSchema", value="{oops")])
